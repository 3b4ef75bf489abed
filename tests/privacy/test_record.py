"""The record of processing activities (UU PDP Pasal 31) is generated: a retention setting, a
role's permissions or a configured channel changes what it says; every encrypted column and every
table of the models is accounted for; the admin reads it on a printable page, anyone else gets
404; `flask privacy record` prints it as Markdown or JSON."""
import json

import pytest
from sqlalchemy import LargeBinary

from apoa.auth.models import Role
from apoa.auth.permissions import ROLE_PERMISSIONS, Permission
from apoa.extensions import db
from apoa.privacy.processing import processing_record

# Written here by hand, from the models: the columns that hold Fernet tokens.
ENCRYPTED = {"report.contact", "user_account.totp_secret", "stay.personal", "stay_change.sealed",
             "stay_document.sealed", "guest_upload.sealed", "service_case.contact", "wa_conversation.phone",
             "wa_outbound.phone"}


def activity(record, key):
    return next(a for a in record.activities if a.key == key)


def roles_for(record, key, permission):
    return next(entry["roles"] for entry in activity(record, key).access if entry["permission"] == permission)


def test_retention_comes_from_the_live_settings(harness, monkeypatch, english):
    monkeypatch.setitem(harness.config, "RETENTION_CONTACT_DAYS", 45)
    monkeypatch.setitem(harness.config, "GUEST_RETENTION_DAYS", 400)
    record = processing_record()
    assert "Contact removed 45 days after the report is closed" in activity(record, "contacts").keep
    assert "Stays deleted 400 days after they ended; anonymous counts kept" in activity(record, "guests").keep
    monkeypatch.setitem(harness.config, "RETENTION_CONTACT_DAYS", 30)
    assert "Contact removed 30 days after the report is closed" in activity(processing_record(), "contacts").keep


def test_unfounded_and_photo_retention_and_the_code_constants_are_read(harness, monkeypatch, english):
    monkeypatch.setitem(harness.config, "RETENTION_UNFOUNDED_DAYS", 60)
    monkeypatch.setitem(harness.config, "RETENTION_PHOTO_DAYS", 200)
    record = processing_record()
    assert "Unfounded and duplicate reports anonymised 60 days after closure" in activity(record, "reports").keep
    assert "Removed 200 days after the report is closed" in activity(record, "photos").keep
    assert ("An unfinished conversation cleared after 24 hours without a message"
            in activity(record, "whatsapp").keep)


def test_who_can_see_follows_the_role_permissions(monkeypatch, english):
    assert roles_for(processing_record(), "contacts", "reveal_contact") == ["Supervisor"]
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.officer, ROLE_PERMISSIONS[Role.officer] | {Permission.reveal_contact})
    assert roles_for(processing_record(), "contacts", "reveal_contact") == ["Officer", "Supervisor"]
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.supervisor,
                        ROLE_PERMISSIONS[Role.supervisor] - {Permission.reveal_contact})
    assert roles_for(processing_record(), "contacts", "reveal_contact") == ["Officer"]


def test_a_processor_is_named_only_while_its_channel_is_configured(harness, monkeypatch, english):
    monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", "")
    assert not any("Meta" in r for r in activity(processing_record(), "whatsapp").recipients)
    monkeypatch.setitem(harness.config, "WHATSAPP_GRAPH_URL", "https://graph.facebook.com")
    assert any("Meta" in r for r in activity(processing_record(), "whatsapp").recipients)


def test_every_encrypted_column_and_every_table_is_accounted_for():
    record = processing_record()
    listed = {column for a in record.activities for column in a.encrypted}
    binary = {f"{table.name}.{column.name}" for table in db.metadata.tables.values()
              for column in table.columns if isinstance(column.type, LargeBinary)}
    assert ENCRYPTED <= listed
    assert binary == listed
    assert "stay.passport_hash" in activity(record, "guests").hashed
    assert record.undescribed_tables == []


def test_the_admin_reads_the_printable_record(make, sign_in, english):
    client = sign_in(make.user("admin"))
    answer = client.get("/admin/privasi/catatan-pemrosesan")
    assert answer.status_code == 200
    page = answer.text
    assert "Record of processing activities" in page and "Foreign guests&#39; stays and passport photos" in page
    assert "data-print" in page and "js/print.js" in page
    assert 'data-permission="reveal_contact"><strong>Supervisor</strong>' in page
    assert answer.headers["Cache-Control"] == "private, no-store"
    markdown = client.get("/admin/privasi/catatan-pemrosesan.md")
    assert markdown.status_code == 200 and markdown.mimetype == "text/markdown"
    assert markdown.text.startswith("# Record of processing activities")


@pytest.mark.parametrize("role", ["officer", "supervisor", "regional_head", "resident", "partner"])
def test_nobody_else_finds_the_record(make, sign_in, role):
    client = sign_in(make.user(role))
    assert client.get("/admin/privasi/catatan-pemrosesan").status_code == 404
    assert client.get("/admin/privasi/catatan-pemrosesan.md").status_code == 404


def test_anonymous_visitors_get_404(client):
    assert client.get("/admin/privasi/catatan-pemrosesan").status_code == 404


def test_the_command_prints_markdown_and_json_from_the_settings(harness, runner, monkeypatch):
    monkeypatch.setitem(harness.config, "RETENTION_PHOTO_DAYS", 123)  # the context the command runs in
    answer = runner.invoke(args=["privacy", "record", "--lang", "en"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("# Record of processing activities")
    assert "- Removed 123 days after the report is closed" in answer.output
    answer = runner.invoke(args=["privacy", "record", "--format", "json"])
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.output)
    photos = next(a for a in data["activities"] if a["key"] == "photos")
    assert any("123" in rule for rule in photos["keep"])
    assert [a["key"] for a in data["activities"]][:3] == ["reports", "contacts", "photos"]
