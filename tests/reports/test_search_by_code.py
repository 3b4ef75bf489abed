"""Finding a report by its tracking code from the staff header (/laporan/cari?code=...): typed in
any spacing or case it opens the report the user may see; any other code, whether no report has it
or one outside the jurisdiction does, gets the very same "not found" (audited when a report was
hidden)."""
import re

import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.extensions import db
from apoa.reports.tracking import display, new_code
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
BEKASI = (107.15, -6.30)       # KANIM-B, the sibling office
KETAPANG = (110.46, -1.67)     # KANIM-X, another Kanwil
SEARCH = "/laporan/cari"


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def officer(world, sign_in):
    return sign_in(world.actors["officer"])


def spaced_lower(code):
    """How a person might type a code read aloud: small letters, groups of four."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4)).lower()


@pytest.mark.parametrize("typing", [str, display, spaced_lower, lambda c: f"  {display(c).lower()}  ",
                                    lambda c: c.replace("0", "o").replace("1", "l")])
def test_a_code_typed_any_way_opens_the_report(world, make, officer, typing):
    report = make.report(point=KARAWANG_BARAT)
    answer = officer.get(SEARCH, query_string={"code": typing(report.tracking_code)})
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/laporan/{report.id}"


def not_found_page(answer, typed):
    """The answer with the typed code, the CSRF tokens and the CSP nonces taken out (each differs
    from request to request anyway): what must not differ between misses."""
    assert answer.status_code == 404
    text = answer.text.replace(typed, "<typed>")
    text = re.sub(r'name="csrf_token" value="[^"]*"', "csrf", text)
    return re.sub(r'nonce="[^"]*"', "nonce", text)


@pytest.mark.parametrize("point", [BEKASI, KETAPANG])
def test_a_report_outside_the_jurisdiction_looks_like_no_report_at_all(world, make, officer, english, point):
    hidden = make.report(point=point)
    nobodys = new_code()
    officer.get(SEARCH)  # the welcome message of the sign-in is shown once, here
    hidden_answer = officer.get(SEARCH, query_string={"code": hidden.tracking_code})
    missing_answer = officer.get(SEARCH, query_string={"code": nobodys})
    assert not_found_page(hidden_answer, hidden.tracking_code) == not_found_page(missing_answer, nobodys)
    assert "No report you can see has this tracking code." in hidden_answer.text
    assert f'href="/laporan/{hidden.id}"' not in hidden_answer.text


def test_a_miss_is_a_refused_access_in_the_audit_log_naming_a_hidden_report(world, make, officer):
    hidden = make.report(point=BEKASI)
    officer_id = world.actors["officer"].id
    officer.get(SEARCH, query_string={"code": display(hidden.tracking_code)})
    officer.get(SEARCH, query_string={"code": new_code()})   # well formed, nobody's: audited alike
    officer.get(SEARCH, query_string={"code": "ABCDE-FGHJK-MNPQ"})  # its check symbol fails: a typo
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.object, e.actor_id) for e in entries] == [(f"report:{hidden.id}", officer_id), (None, officer_id)]


@pytest.mark.parametrize("typed", ["ABCDE", "not a code", "A" * 300, "<b>x</b>", "0000-0000-0000"])
def test_what_is_no_code_at_all_gets_the_same_answer_and_stays_in_the_field(world, officer, english, typed):
    answer = officer.get(SEARCH, query_string={"code": typed})
    assert answer.status_code == 404
    assert "No report you can see has this tracking code." in answer.text
    field = re.search(r'<input type="text" id="code" name="code" value="([^"]*)"', answer.text)
    assert field is not None and len(field.group(1)) <= 40
    assert "<b>x</b>" not in answer.text


def test_an_empty_search_shows_the_form(officer):
    answer = officer.get(SEARCH)
    assert answer.status_code == 200 and 'id="code"' in answer.text and 'id="code-not-found"' not in answer.text


@pytest.mark.parametrize("role", ["regional_head", "admin", "resident"])
def test_only_who_may_view_reports_may_search(world, make, sign_in, role):
    report = make.report(point=KARAWANG_BARAT)
    assert sign_in(world.actors[role]).get(SEARCH, query_string={"code": report.tracking_code}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, make):
    answer = client.get(SEARCH, query_string={"code": new_code()})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/masuk")


@pytest.mark.parametrize("role, shown", [("officer", True), ("supervisor", True), ("regional_head", False),
                                         ("admin", False), ("resident", False)])
def test_the_search_is_in_the_header_of_who_may_use_it(world, sign_in, role, shown):
    page = sign_in(world.actors[role]).get("/").text
    header = page.split("</header>")[0]
    assert (f'action="{SEARCH}"' in header) is shown
