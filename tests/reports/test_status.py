"""A resident checks the status by tracking code and adds follow-up information."""
import io
import re

import pytest
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.models import Attachment, ReportEvent
from apoa.reports.tracking import display, new_code
from tests.reports.helpers import jpeg_bytes


def status_of(page):
    return re.search(r'id="public-status">([^<]+)<', page.text).group(1)


def test_status_by_code_shows_the_coarse_status(client, make):
    report = make.report()
    page = client.get(f"/status/{report.tracking_code}")
    assert page.status_code == 200 and status_of(page) == "Diterima"


@pytest.mark.parametrize("state, shown", [("screening", "Diproses"), ("assigned", "Diproses"),
                                          ("pending_approval", "Diproses"), ("closed", "Selesai")])
def test_each_state_maps_to_a_coarse_status(client, make, state, shown):
    extra = {"outcome": "not_found"} if state in ("pending_approval", "closed") else {}
    if state == "assigned":
        extra["assignee_id"] = make.user().id
    report = make.report(state=state, **extra)
    assert status_of(client.get(f"/status/{report.tracking_code}")) == shown


def test_the_status_never_shows_the_outcome_or_officers_notes(client, make):
    report = make.report(state="closed", outcome="violation_found", action_taken="deportation")
    db.session.add(ReportEvent(report_id=report.id, action="approve", from_state="pending_approval",
                               to_state="closed", note="Paspor palsu, dideportasi"))
    db.session.flush()
    page = client.get(f"/status/{report.tracking_code}").text
    assert "Selesai" in page
    for secret in ("Paspor palsu", "Deportasi", "deportation", "Pelanggaran", "violation", "pelapor"):
        assert secret not in page


def test_the_code_can_be_typed_with_dashes_spaces_and_lower_case(client, make):
    report = make.report()
    typed = display(report.tracking_code).lower().replace("-", " ")
    answer = client.post("/status", data={"code": typed})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/status/{report.tracking_code}")


def test_unknown_mistyped_and_malformed_codes_get_the_same_answer(client, make):
    report = make.report()
    code = report.tracking_code
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = [client.get(f"/status/{c}") for c in (new_code(), mistyped, "HELLO", "x" * 40)]
    assert {a.status_code for a in answers} == {404}
    # The language switch returns to the address asked for, its CSRF token carries a timestamp, and
    # the code field shows back what was typed; everything else is identical.
    bodies = {re.sub(r'(<input[^>]*\bname="code"[^>]*) value="[^"]*"', r"\1",
                     re.sub(r'name="(next|csrf_token)" value="[^"]*"', "", a.text)) for a in answers}
    assert len(bodies) == 1


def test_repeated_misses_are_rate_limited_but_hits_are_not(client, make):
    report = make.report()
    for _ in range(25):
        assert client.get(f"/status/{report.tracking_code}").status_code == 200
    for _ in range(20):
        assert client.get(f"/status/{new_code()}").status_code == 404
    assert client.get(f"/status/{new_code()}").status_code == 429


def test_a_resident_adds_follow_up_information_with_a_photo(client, make):
    report = make.report()
    answer = client.post(f"/status/{report.tracking_code}/tambahan", content_type="multipart/form-data",
                         data={"note": "Mereka kembali lagi pagi ini dengan truk.",
                               "photo": (io.BytesIO(jpeg_bytes()), "pagi.jpg")})
    assert answer.status_code == 303
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                        ReportEvent.action == "follow_up"))
    assert event.note == "Mereka kembali lagi pagi ini dengan truk." and event.to_state == report.state
    assert db.session.scalar(select(Attachment).where(Attachment.event_id == event.id)) is not None
    page = client.get(f"/status/{report.tracking_code}").text
    assert "Terima kasih" in page
    assert "Mereka kembali lagi" not in page  # the page confirms, it does not echo the history


def test_follow_up_needs_text(client, make):
    report = make.report()
    answer = client.post(f"/status/{report.tracking_code}/tambahan", data={"note": ""})
    assert answer.status_code == 400
    assert db.session.scalar(select(ReportEvent).where(ReportEvent.action == "follow_up")) is None


def test_follow_up_to_an_unknown_code_gets_the_unknown_answer(client):
    assert client.post(f"/status/{new_code()}/tambahan", data={"note": "Informasi tambahan."}).status_code == 404
