"""The regional heads' figures on foreign guests (issue 14, item 8): check-ins and guest nights per
kabupaten/kota and nationality, trend and top nationalities, over the head's jurisdiction, with
counts of 1 and 2 shown as "< 3" (and no such count given back by subtraction); the dashboard and
the monthly report show them."""
from dataclasses import replace
from datetime import timedelta

import pytest

from apoa.errors import NotFound
from apoa.guests.figures import GuestFigures, guest_figures
from apoa.guests.services import check_in, check_out, register_organisation, verify_organisation
from apoa.periods import add_months, custom_period
from tests.guests.test_stays import ANNA, JOHN, KARAWANG, guest
from tests.clock import WIB
from tests.factories import World
from tests.summaries.test_monthly_pdf_fits import RIGHT_MARGIN, placed_text

BEKASI = (107.15, -6.30)        # KANIM-B, under the same Kanwil as Karawang's KANIM-A
KETAPANG = (110.46, -1.67)      # KANIM-X, another Kanwil
KAREN = dict(JOHN, surname="Jones", given_names="Karen", nationality="AUS", passport_number="PA1234567")


class Guests:
    """Verified hotels in Karawang, Bekasi and Ketapang, and heads of every level."""

    def __init__(self, make, clock):
        self.world = World(make)
        self.actors = self.world.actors
        self.clock = clock
        self.karawang = self.hotel(make, "Hotel Melati", KARAWANG, self.actors["supervisor"])
        self.bekasi = self.hotel(make, "Hotel Bekasi", BEKASI, self.actors["kanwil_supervisor"])
        self.ketapang = self.hotel(make, "Hotel Ketapang", KETAPANG, self.actors["foreign_supervisor"])
        self.ditjen_head = make.user("regional_head", make.office(kind="ditjen"))
        self.foreign_head = make.user("regional_head", self.actors["foreign_officer"].office.parent)

    def hotel(self, make, name, point, verifier):
        person = make.user("resident")
        hotel = register_organisation(person, "lodging", name, "Jl. Raya 1", point, licence_no="9120001234567",
                                      lodging_kind="hotel")
        verify_organisation(hotel, verifier, approve=True, note=None, now=self.clock.now)
        hotel.operator = person
        return hotel

    def stay(self, hotel, person, days_ago, nights=None, number=None):
        """A guest checked in at 08.00 WIB `days_ago` days before the clock's day (two hours before the
        clock's time), checked out `nights` days later (None: still staying)."""
        hours_ago = 24 * days_ago + 2
        data = guest(self.clock, person, hours_ago=hours_ago,
                     planned_check_out=(self.clock.now - timedelta(hours=hours_ago)).date() + timedelta(days=2))
        if number:
            data = replace(data, passport_number=number)
        [stay] = check_in(hotel, hotel.operator, [data], self.clock.now)
        if nights is not None:
            check_out([stay], hotel.operator, stay.checked_in_at + timedelta(days=nights))
        return stay


@pytest.fixture
def guests(make, clock):
    """In the period (the 28 days up to the clock's day): Karawang 3 British guests of 2 nights and 1 German
    of 1 night; Bekasi 4 Germans of 1 night; Ketapang 2 British. In the 28 days before: 1 British guest in
    Karawang."""
    g = Guests(make, clock)
    for n in range(3):
        g.stay(g.karawang, JOHN, days_ago=10, nights=2, number=f"GB{n}0001")
    g.stay(g.karawang, ANNA, days_ago=5, nights=1)
    for n in range(4):
        g.stay(g.bekasi, ANNA, days_ago=3, nights=1, number=f"DE{n}0001")
    for n in range(2):
        g.stay(g.ketapang, JOHN, days_ago=4, nights=1, number=f"GB{n}0002")
    g.stay(g.karawang, JOHN, days_ago=40, nights=1)
    return g


def period_of(clock):
    return custom_period(clock.today - timedelta(days=27), clock.today)


def numbers(counts):
    """Counts as the page shows them: "< 3", "–" (withheld) or the number."""
    return ["–" if c is None else str(c) for c in counts]


def kab_rows(figures):
    return {row.label: row for row in figures.by_kabupaten}


def test_a_supervisor_of_the_office_sees_exact_counts_per_kabupaten_and_nationality(guests, clock, english):
    figures = guest_figures(guests.actors["supervisor"], period_of(clock), today=clock.today)
    assert not figures.suppressed
    assert (figures.check_ins.value, figures.guest_nights.value) == (4, 7)
    assert figures.check_ins_previous.value == 1 and figures.check_ins_change.percent == 300
    assert figures.columns == [("GBR", "United Kingdom"), ("D", "Germany")]
    [karawang] = figures.by_kabupaten
    assert (karawang.check_ins.value, karawang.guest_nights.value) == (4, 7)
    assert [c.value for c in karawang.cells] == [3, 1] and karawang.other.value == 0
    assert [(n.code, n.check_ins.value, n.guest_nights.value) for n in figures.top_nationalities] == [
        ("GBR", 3, 6), ("D", 1, 1)]
    assert [p.first for p in figures.trend] == [clock.today - timedelta(days=27 - 7 * k) for k in range(4)]
    assert sum(p.check_ins.value for p in figures.trend) == 4
    assert sum(p.guest_nights.value for p in figures.trend) == 7
    assert sum(p.check_ins_previous.value for p in figures.trend) == 1


def test_nights_are_counted_inside_the_period_only_and_a_guest_still_staying_up_to_tonight(guests, clock):
    guests.stay(guests.karawang, KAREN, days_ago=30, nights=5)       # 3 nights before the period, 2 in it
    guests.stay(guests.karawang, KAREN, days_ago=0, number="PA7654321")   # staying: tonight counts
    figures = guest_figures(guests.actors["supervisor"], period_of(clock), today=clock.today)
    [australia] = [n for n in figures.top_nationalities if n.code == "AUS"]
    assert (australia.check_ins.value, australia.guest_nights.value) == (1, 3)
    before = guest_figures(guests.actors["supervisor"], period_of(clock).previous(), today=clock.today)
    assert [(n.code, n.check_ins.value, n.guest_nights.value) for n in before.top_nationalities] == [
        ("AUS", 1, 3), ("GBR", 1, 1)]


def test_a_cancelled_entry_counts_nothing(guests, clock):
    from apoa.guests.services import cancel

    stay = guests.stay(guests.karawang, KAREN, days_ago=2)
    cancel(stay, guests.karawang.operator, "Salah input data tamu.", clock.now)
    figures = guest_figures(guests.actors["supervisor"], period_of(clock), today=clock.today)
    assert figures.check_ins.value == 4 and "AUS" not in [n.code for n in figures.top_nationalities]


def test_a_regional_head_sees_one_or_two_as_less_than_three_and_nothing_given_back_by_subtraction(
        guests, clock, english):
    head = guests.actors["regional_head"]
    figures = guest_figures(head, period_of(clock), today=clock.today)
    assert figures.suppressed and (str(figures.check_ins), str(figures.guest_nights)) == ("8", "11")
    rows = kab_rows(figures)
    assert figures.columns == [("D", "Germany"), ("GBR", "United Kingdom")]
    karawang, bekasi = rows["Kabupaten Karawang"], rows["Kabupaten Bekasi"]
    # 1 German beside 3 British in a row of 4: withholding the 3 would not do (a "–" is at least 3, so the
    # "< 3" would be 1); Karawang's 4 is withheld instead, and Bekasi's 4 Germans with it (Germany's 5).
    assert numbers(karawang.cells) == ["< 3", "3"] and karawang.check_ins is None
    assert numbers(bekasi.cells) == ["–", "0"] and bekasi.check_ins is None
    assert str(karawang.guest_nights) == "7" and str(bekasi.guest_nights) == "4"
    assert all(str(c) not in ("1", "2") for row in figures.by_kabupaten for c in row.cells if c is not None)
    assert_nothing_solvable(figures, guest_figures(head, period_of(clock), suppress=False, today=clock.today))


def assert_nothing_solvable(shown, exact):
    """No row of the table, no column with its nationality's count, no list with its total holds a single
    hidden ("< 3" or withheld) non-zero count: none can be worked out by subtraction."""
    def hidden(count):
        return count is None or count.suppressed

    rows, exact_rows = shown.by_kabupaten, exact.by_kabupaten
    lines = [[*zip((*r.cells, r.other, r.check_ins), (*e.cells, e.other, e.check_ins))]
             for r, e in zip(rows, exact_rows)]
    nationality = {n.code: n for n in shown.top_nationalities}
    exact_nationality = {n.code: n for n in exact.top_nationalities}
    for index, (code, _name) in enumerate(shown.columns):
        lines.append([(r.cells[index], e.cells[index]) for r, e in zip(rows, exact_rows)]
                     + [(nationality[code].check_ins, exact_nationality[code].check_ins)])
    lines.append([(r.check_ins, e.check_ins) for r, e in zip(rows, exact_rows)] + [(shown.check_ins, exact.check_ins)])
    lines.append([(nationality[c].check_ins, exact_nationality[c].check_ins) for c in nationality]
                 + [(shown.check_ins, exact.check_ins)])
    for line in lines:
        assert sum(1 for count, value in line if value.value and hidden(count)) != 1, line


@pytest.mark.parametrize("who, kabupaten", [
    ("ditjen_head", {"Kabupaten Karawang", "Kabupaten Bekasi", "Kabupaten Ketapang"}),
    ("regional_head", {"Kabupaten Karawang", "Kabupaten Bekasi"}),
    ("kanwil_supervisor", {"Kabupaten Karawang", "Kabupaten Bekasi"}),
    ("supervisor", {"Kabupaten Karawang"}),
    ("foreign_head", {"Kabupaten Ketapang"}),
])
def test_each_head_sees_the_kabupaten_of_their_jurisdiction_only(guests, clock, who, kabupaten):
    user = getattr(guests, who, None) or guests.actors[who]
    figures = guest_figures(user, period_of(clock), today=clock.today)
    assert set(kab_rows(figures)) == kabupaten
    expected = {"ditjen_head": 10, "regional_head": 8, "kanwil_supervisor": 8, "supervisor": 4, "foreign_head": 2}
    assert figures.check_ins.value == expected[who]


def test_a_head_of_another_kanwil_sees_nothing_of_this_one(guests, clock):
    figures = guest_figures(guests.foreign_head, period_of(clock), today=clock.today)
    assert set(kab_rows(figures)) == {"Kabupaten Ketapang"}
    assert [n.code for n in figures.top_nationalities] == ["GBR"] and str(figures.check_ins) == "< 3"
    with pytest.raises(NotFound):
        guest_figures(guests.foreign_head, period_of(clock), office_id=guests.world.office.id)


def test_a_head_may_narrow_the_figures_to_one_office(guests, clock):
    figures = guest_figures(guests.actors["regional_head"], period_of(clock), office_id=guests.world.other_office.id,
                            today=clock.today)
    assert set(kab_rows(figures)) == {"Kabupaten Bekasi"} and str(figures.check_ins) == "4"


@pytest.mark.parametrize("who", ["officer", "admin", "resident"])
def test_who_may_not_see_aggregates_gets_nothing(guests, clock, who):
    with pytest.raises(NotFound):
        guest_figures(guests.actors[who], period_of(clock))


def test_a_long_period_trends_by_month(guests, clock):
    period = custom_period(add_months(clock.today, -6), clock.today)
    figures = guest_figures(guests.actors["supervisor"], period, today=clock.today)
    assert isinstance(figures, GuestFigures) and figures.step == "month" and len(figures.trend) == 7
    assert sum(p.check_ins.value for p in figures.trend) == figures.check_ins.value == 5


# --- the pages -------------------------------------------------------------------------------------

def month_of(stay):
    """The month (YYYY-MM) of a stay's check-in in Jakarta, for the monthly report."""
    return stay.checked_in_at.astimezone(WIB).strftime("%Y-%m")


def last_month_stays(guests, clock):
    """The fixture's stays again, in the month before the clock's (heads and monthly reports see whole months
    that have ended): Karawang 3 British and 1 German, Bekasi 4 Germans, Ketapang 2 British. Its YYYY-MM."""
    days_ago = (clock.today - add_months(clock.today.replace(day=1), -1)).days - 4
    for n in range(3):
        stay = guests.stay(guests.karawang, JOHN, days_ago=days_ago, nights=2, number=f"GB{n}0003")
    guests.stay(guests.karawang, ANNA, days_ago=days_ago, nights=1, number="DE00003")
    for n in range(4):
        guests.stay(guests.bekasi, ANNA, days_ago=days_ago, nights=1, number=f"DE{n}0004")
    for n in range(2):
        guests.stay(guests.ketapang, JOHN, days_ago=days_ago, nights=1, number=f"GB{n}0004")
    return month_of(stay)


def test_the_dashboard_shows_the_foreign_guests_section(guests, clock, sign_in, english):
    month = last_month_stays(guests, clock)
    page = sign_in(guests.actors["regional_head"]).get("/ringkasan", query_string={"bulan": month}).text
    assert "Foreign guests (lodging reports)" in page
    section = page[page.index('id="guests-title"'):]
    assert "Kabupaten Karawang" in section and "Kabupaten Bekasi" in section and "Ketapang" not in section
    assert "United Kingdom" in section and "&lt; 3" in section


def test_the_monthly_report_and_its_pdf_show_the_foreign_guests_section(guests, clock, sign_in, english):
    client = sign_in(guests.actors["regional_head"])
    month = last_month_stays(guests, clock)
    page = client.get("/ringkasan/bulanan", query_string={"bulan": month}).text
    assert "Foreign guests (lodging reports)" in page and 'id="monthly-guests-kabupaten"' in page
    answer = client.get("/ringkasan/bulanan.pdf", query_string={"bulan": month})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "Foreign guests (lodging reports)" in " ".join(text for _page, text, *_rest in placed_text(answer.data))


def test_the_foreign_guests_tables_fit_the_monthly_pdf_in_indonesian(guests, clock, sign_in):
    month = last_month_stays(guests, clock)
    answer = sign_in(guests.ditjen_head).get("/ringkasan/bulanan.pdf", query_string={"bulan": month})
    runs = placed_text(answer.data)
    assert "Inggris Raya" in " ".join(text for _page, text, *_rest in runs)     # CLDR: GBR in Indonesian
    outside = [(page, text) for page, text, left, right, width in runs if left < 0 or right > width - RIGHT_MARGIN]
    assert outside == []
