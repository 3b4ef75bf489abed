"""/bantuan: a guide per role (residents, officers, heads), with an anchor per section, open to
everyone, linked from the footer of every page; the officers' workflow and due times come from
the workflow's own table, so the guide follows it."""
import re

import pytest

from apoa.reports import sla
from apoa.reports.states import State
from apoa.reports.workflow import TRANSITIONS
from tests.factories import World

SECTIONS = ("pelapor", "petugas", "pimpinan")


@pytest.fixture
def guide(client, english):
    answer = client.get("/bantuan")
    assert answer.status_code == 200
    return answer.text


def section(html, anchor):
    """The HTML of the <section id=anchor>."""
    match = re.search(rf'<section id="{anchor}"[^>]*>(.*?)</section>', html, re.S)
    assert match, f"no section #{anchor}"
    return match.group(1)


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_guide_is_open_to_everyone_with_a_section_per_role(guide):
    for anchor in SECTIONS:
        section(guide, anchor)
        assert f'href="#{anchor}"' in guide  # the contents link to each section
    for anchor in ("cara-melapor", "setelah-melapor", "privasi", "alur-kerja", "batas-waktu"):
        assert f'id="{anchor}"' in guide


def test_residents_learn_how_to_report_what_happens_next_and_who_sees_what(guide):
    residents = text_of(section(guide, "pelapor"))
    assert "tracking code" in residents and "we cannot recover it" in residents
    for status in ("Received", "In progress", "Done"):  # the three statuses the status page shows
        assert status in residents
    assert "You do not see the outcome or the officers' notes" in residents
    assert "stored encrypted" in residents and "Only a supervisor can see them" in residents
    assert "Regional heads see only totals" in residents
    assert "no public map or list" in residents


def test_officers_get_every_transition_of_the_workflow_with_who_may_take_it(guide):
    officers = section(guide, "petugas")
    rows = re.findall(r"<tr>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
                      officers, re.S)
    assert len(rows) == len(TRANSITIONS)
    by_action = {action.strip(): (src.strip(), dst.strip(), who.strip()) for action, src, dst, who in rows}
    assert by_action["Assign for a field check"] == ("Screening", "Assigned", "Supervisor")
    assert by_action["Start screening"] == ("New", "Screening", "Officer, Supervisor")
    assert by_action["Mark as duplicate"][0] == "New, Screening"
    assert by_action["Approve"] == ("Awaiting approval", "Closed", "Supervisor")
    assert by_action["Send back"][1] == "back to the step the decision came from"
    assert "must not be the one who recorded it" in text_of(officers)


def test_the_due_times_are_those_the_workflow_uses(client, english, monkeypatch):
    officers = text_of(section(client.get("/bantuan").text, "petugas"))
    assert "Screening: 1 working day" in officers and "Field check: 3 working days" in officers
    monkeypatch.setitem(sla.WORKING_DAYS, State.in_field, 5)
    officers = text_of(section(client.get("/bantuan").text, "petugas"))
    assert "Field check: 5 working days" in officers


def test_heads_learn_what_each_figure_of_the_summary_means(guide):
    heads = section(guide, "pimpinan")
    terms = [text_of(t).strip() for t in re.findall(r"<dt>(.*?)</dt>", heads, re.S)]
    for figure in ("Received", "Closed", "Open now", "Awaiting screening now", "In progress now", "Overdue now",
                   "Median time to screening", "Median time to closure", "Closed within due time",
                   "Screened within due time", "Hotspots", "< 3"):
        assert figure in terms, figure
    explained = text_of(heads)
    assert "Of the reports closed in the period" in explained and "counts open reports instead" in explained


def test_every_page_links_to_the_guide(client, make, sign_in):
    for path in ("/", "/lapor", "/status", "/masuk", "/bantuan", "/no-such-page"):
        assert 'id="help-link"' in client.get(path).text and 'href="/bantuan"' in client.get(path).text, path
    officer = sign_in(World(make).actors["officer"])
    assert 'href="/bantuan"' in officer.get("/laporan").text


def test_the_guide_speaks_indonesian_by_default(client):
    page = client.get("/bantuan").text
    assert '<html lang="id">' in page and 'id="pelapor"' in page
