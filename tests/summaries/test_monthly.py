"""The monthly report at /ringkasan/bulanan and its PDF: figures against a hand-computed month,
always the aggregate view (also when a supervisor prints it), the map's colour bands, month parsing,
the printable page, the PDF's text, and who may open it.

The month M is the calendar month two months before the `clock` fixture's today (local time), so
M is always complete; the tests of the figures run at every instant of tests/clock.py (M a
February of 28 days, a November, ...). Hand-computed for KANWIL-A (Karawang + Bekasi):

    report  where     created       history                                          counts in
    r1      Karawang  M+1d 09:00    screen +2h, dismiss +3h, approve +24h (unfounded)  M: received, screened, closed
    r2      Karawang  M+4d 10:00    screen +5h, assign +6h, field +20h,                M: received, screened, closed
                                    finding +30h, approve +40h (violation_found)
    r3, r4  Karawang  M+9d, M+11d   —                                                  M: received
    r5      Bekasi    M+14d         —                                                  M: received
    p1..p3  Karawang  M−10d..M−8d   —                                                  the month before
    n1      Karawang  M+1 month+2d  —                                                  the month after: nowhere
    x1      Ketapang  M+3d          —                                                  another Kanwil: nowhere

    received 5 (previous 3: +67 %), screened 2 → "< 3", closed 2 → "< 3" (1 unfounded, 1 violation
    found, each "< 3"), medians and shares withheld (fewer than 3 behind them);
    Karawang 4 (previous 3, +33 %), Bekasi "< 3" (previous 0).
    By category: other 3, overstay 1, illegal work 1: beside the total 5 the two "< 3" would add up to
    2, so each would be 1: the total is withheld ("–", apoa/summaries/suppression.py), and so its change.
"""
import io
import re
from pathlib import Path
from datetime import datetime, time, timedelta, timezone

import pypdf
import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.reports.states import Outcome
from apoa.summaries import monthly
from apoa.summaries.figures import Count
from apoa.summaries.monthly import BAND_FILLS, FEW_FILL, NO_REPORTS_FILL, WITHHELD_FILL, count_bands, parse_month
from apoa.periods import add_months

from tests.summaries.scenario import BEKASI, KARAWANG, KARAWANG_2, KETAPANG, with_history

WIB = timezone(timedelta(hours=7))


def at(day, hour=9):
    return datetime.combine(day, time(hour), WIB).astimezone(timezone.utc)


class Month:
    """The world of the module docstring, two months before `today`."""

    def __init__(self, make, today):
        self.kanwil = make.office(kind="kanwil", code="KANWIL-A", name="Kantor Wilayah Jawa Barat Uji")
        self.office_a = make.office(parent=self.kanwil, code="KANIM-A", regions=["32.15"],
                                    name="Kantor Imigrasi Karawang Uji")
        self.office_b = make.office(parent=self.kanwil, code="KANIM-B", regions=["32.16"],
                                    name="Kantor Imigrasi Bekasi Uji")
        self.office_x = make.office(code="KANIM-X", regions=["61.04"], name="Kantor Imigrasi Ketapang Uji")
        self.users = {
            "officer": make.user("officer", self.office_a),
            "supervisor_a": make.user("supervisor", self.office_a),
            "kanwil_supervisor": make.user("supervisor", self.kanwil),
            "regional_head": make.user("regional_head", self.kanwil),
            "foreign_head": make.user("regional_head", self.office_x.parent),
            "admin": make.user("admin"),
            "resident": make.user("resident"),
        }
        self.first = add_months(today.replace(day=1), -2)
        self.value = self.first.strftime("%Y-%m")
        self._reports(make)

    def day(self, offset):
        return self.first + timedelta(days=offset)

    def _reports(self, make):
        h = timedelta(hours=1)
        r1, r2 = at(self.day(1)), at(self.day(4), 10)
        with_history(make, KARAWANG, r1, [
            ("screen", "new", "screening", r1 + 2 * h, None),
            ("dismiss", "screening", "pending_approval", r1 + 3 * h, {"outcome": "unfounded"}),
            ("approve", "pending_approval", "closed", r1 + 24 * h, None),
        ], category="overstay", state="closed", outcome="unfounded")
        with_history(make, KARAWANG_2, r2, [
            ("screen", "new", "screening", r2 + 5 * h, None),
            ("assign", "screening", "assigned", r2 + 6 * h, {"assignee": self.users["officer"].id}),
            ("start_field_check", "assigned", "in_field", r2 + 20 * h, None),
            ("record_finding", "in_field", "pending_approval", r2 + 30 * h, {"outcome": "violation_found"}),
            ("approve", "pending_approval", "closed", r2 + 40 * h, None),
        ], category="illegal_work", state="closed", outcome="violation_found", action_taken="administrative")
        for offset in (9, 11):
            with_history(make, KARAWANG, at(self.day(offset)), [])
        with_history(make, BEKASI, at(self.day(14)), [])
        for offset in (-10, -9, -8):
            with_history(make, KARAWANG, at(self.day(offset)), [])
        with_history(make, KARAWANG, at(add_months(self.first, 1) + timedelta(days=2)), [])
        with_history(make, KETAPANG, at(self.day(3)), [])


@pytest.fixture
def world(make, clock):
    return Month(make, clock.today)


def report_for(world, role, office=None):
    return monthly.monthly_report(world.users[role], parse_month(world.value), office)


def rows(summary_rows):
    return {r.label: (str(r.received), str(r.received_previous), str(r.change or "–"), str(r.closed))
            for r in summary_rows}


# --- the figures -----------------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_the_month_of_a_kanwil_as_hand_computed(world, english):
    s = report_for(world, "regional_head").summary
    assert s.suppressed and s.scope_label == "Kantor Wilayah Jawa Barat Uji"
    assert (s.period.start, s.period.end) == (world.first, add_months(world.first, 1))
    assert (str(s.received), str(s.received_previous), s.received_change) == ("–", "3", None)
    assert (str(s.screened), str(s.closed), str(s.closed_previous)) == ("< 3", "< 3", "0")
    assert s.closed_change is None
    outcomes = {outcome: str(count) for outcome, count in s.closed_by_outcome}
    assert outcomes[Outcome.unfounded] == outcomes[Outcome.violation_found] == "< 3"
    assert outcomes[Outcome.not_found] == "0"
    assert (s.median_to_screening, s.median_to_closure, s.within_due, s.screened_within_due) == (None,) * 4
    assert rows(s.by_kabupaten) == {"Kabupaten Karawang": ("4", "3", "↑ 33%", "< 3"),
                                    "Kabupaten Bekasi": ("< 3", "0", "–", "0")}
    assert rows(s.by_office) == {"Kantor Imigrasi Karawang Uji": ("4", "3", "↑ 33%", "< 3"),
                                 "Kantor Imigrasi Bekasi Uji": ("< 3", "0", "–", "0")}
    assert s.workload is None and s.hotspots == []


def test_a_supervisor_prints_the_same_aggregate_view_as_a_regional_head(world):
    head = report_for(world, "regional_head").summary
    supervisor = report_for(world, "kanwil_supervisor").summary
    assert supervisor.suppressed and supervisor.workload is None
    for name in ("received", "received_previous", "received_change", "screened", "closed", "closed_change",
                 "closed_by_outcome", "median_to_screening", "median_to_closure", "within_due", "weekly"):
        assert getattr(supervisor, name) == getattr(head, name), name
    assert rows(supervisor.by_kabupaten) == rows(head.by_kabupaten)
    assert rows(supervisor.by_category) == rows(head.by_category)


@pytest.mark.date_sensitive
def test_the_month_of_one_office(world):
    s = report_for(world, "kanwil_supervisor", office=world.office_a.id).summary
    assert s.scope_label == "Kantor Imigrasi Karawang Uji"
    # Its weeks: "< 3" and "< 3" adding up to 4 would each be 2: the 4 is withheld.
    assert (str(s.received), str(s.received_previous)) == ("–", "3")
    assert [str(p.received) for p in s.weekly] == ["< 3", "< 3", "0", "0"] + ["0"] * (len(s.weekly) - 4)
    assert list(rows(s.by_kabupaten)) == ["Kabupaten Karawang"]


@pytest.mark.date_sensitive
def test_the_map_fills_each_kabupaten_by_its_band(world, make):
    svg = str(report_for(world, "regional_head").map)
    fills = {name: fill for fill, name in re.findall(r'fill="(#[0-9a-f]{6})"[^>]*><title>([^<:]+):', svg)}
    assert fills == {"Kabupaten Karawang": BAND_FILLS[0], "Kabupaten Bekasi": FEW_FILL}
    assert 'viewBox="0 -' in svg and "<title" in svg and "≥ 3" in svg and "&lt; 3" in svg


def test_importing_weasyprint_leaves_pillow_refusing_truncated_images():
    from PIL import ImageFile

    import apoa.summaries.monthly  # noqa: F401  (WeasyPrint's import flips the flag)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_count_bands_start_at_three_and_stay_few(english):
    few = ["No reports", "< 3", "– (left out)"]
    assert [b.label for b in count_bands(0)] == [*few, "≥ 3"]
    assert [b.label for b in count_bands(400)] == [*few, "3–4", "5–24", "25–249", "≥ 250"]
    assert len(count_bands(100_000)) == 3 + len(BAND_FILLS)
    bands = count_bands(60)
    fills = [monthly.band_of(count, bands).fill
             for count in (None, Count(0), Count(2, True), Count(4), Count(60), Count(60, withheld=True))]
    assert fills == [NO_REPORTS_FILL, NO_REPORTS_FILL, FEW_FILL, BAND_FILLS[0], BAND_FILLS[3], WITHHELD_FILL]


# --- the month asked for ---------------------------------------------------------------------------

def test_parse_month():
    today = datetime(2026, 11, 23).date()
    assert (parse_month("2026-10", today).start, parse_month("2026-10", today).end) == (
        datetime(2026, 10, 1).date(), datetime(2026, 11, 1).date())
    assert parse_month("", today).start == datetime(2026, 10, 1).date()        # last month by default
    assert parse_month("2026-10", today).previous().start == datetime(2026, 9, 1).date()
    assert parse_month("2026-10", datetime(2026, 11, 1).date()).start == datetime(2026, 10, 1).date()
    # this month is refused while it runs: two printouts a day apart would give that day's counts
    for bad in ("2026-13", "2026-1", "10-2026", "2026-10-01", "oktober", "2026-11", "2026-12", "1999-12"):
        with pytest.raises(UserValueError):
            parse_month(bad, today)


# By hand, for each instant of tests/clock.py: the month shown by default (the one before), the
# instant's own month (still running: refused), and the next one (not begun: refused).
MONTHS = {"wednesday": ("2026-10", "2026-11", "2026-12"), "friday-1655": ("2026-10", "2026-11", "2026-12"),
          "month-end": ("2027-03", "2027-04", "2027-05"), "dec-31": ("2026-11", "2026-12", "2027-01"),
          "leap-day": ("2028-01", "2028-02", "2028-03")}


@pytest.mark.date_sensitive
def test_last_month_by_default_and_only_months_that_have_ended(world, sign_in, english, clock):
    last, this, next_ = MONTHS[clock.name]
    client = sign_in(world.users["regional_head"])
    by_default = client.get("/ringkasan/bulanan").text
    assert f'href="/ringkasan/bulanan.pdf?bulan={last}"' in by_default
    assert f'<option value="{last}" selected>' in by_default and f'<option value="{this}"' not in by_default
    for month in (this, next_):
        refused = client.get("/ringkasan/bulanan", query_string={"bulan": month})
        assert refused.status_code == 400 and "is not over yet" in refused.text


@pytest.mark.parametrize("args", [{"bulan": "2026-13"}, {"bulan": "bulan lalu"}, {"office": "abc"}])
def test_a_bad_month_or_office_answers_400_with_a_clear_message(world, sign_in, english, args):
    client = sign_in(world.users["regional_head"])
    for path in ("/ringkasan/bulanan", "/ringkasan/bulanan.pdf"):
        answer = client.get(path, query_string=args)
        assert answer.status_code == 400
    assert ("is not a month" in answer.text) or ("Unknown office" in answer.text)


# --- the page and the PDF --------------------------------------------------------------------------

def test_the_page_is_printable(world, sign_in, app):
    answer = sign_in(world.users["regional_head"]).get("/ringkasan/bulanan", query_string={"bulan": world.value})
    assert answer.status_code == 200
    page = answer.text
    assert "/static/css/monthly.css" in page and "data-print" in page and "/static/js/print.js" in page
    assert f'href="/ringkasan/bulanan.pdf?bulan={world.value}"' in page
    assert 'style="' not in page and "<style" not in page                 # the CSP allows neither
    assert 'id="m-received">–<' in page and "monthly-map" in page and 'id="chart-trend"' in page
    assert 'id="withheld-note"' in page
    css = Path(app.static_folder, "css", "monthly.css").read_text()
    assert "@page" in css and "size: A4" in css and "@media print" in css


def test_the_pdf_holds_the_report_text(world, sign_in):
    client = sign_in(world.users["regional_head"])
    answer = client.get("/ringkasan/bulanan.pdf", query_string={"bulan": world.value, "office": world.office_a.id})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.data)).pages)
    assert "Kantor Imigrasi Karawang Uji" in " ".join(text.split())
    assert "Selamat datang" not in text and "Welcome" not in text    # no flashed message in print
    assert "Kabupaten Karawang" in " ".join(text.split())
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "summary.monthly_pdf")).all()
    assert entry.detail == {"month": world.value, "office_id": world.office_a.id}


# --- who may open it -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "resident", "admin"])
def test_who_may_not_see_aggregates_gets_404(world, sign_in, role):
    client = sign_in(world.users[role])
    for path in ("/ringkasan/bulanan", "/ringkasan/bulanan.pdf"):
        assert client.get(path, query_string={"bulan": world.value}).status_code == 404


def test_an_office_outside_the_jurisdiction_is_404(world, sign_in):
    client = sign_in(world.users["regional_head"])
    answer = client.get("/ringkasan/bulanan", query_string={"bulan": world.value, "office": world.office_x.id})
    assert answer.status_code == 404
    foreign = monthly.monthly_report(world.users["foreign_head"], parse_month(world.value))
    assert list(rows(foreign.summary.by_kabupaten)) == ["Kabupaten Ketapang"]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/ringkasan/bulanan")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/masuk")
