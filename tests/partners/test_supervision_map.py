"""The supervision map (/tim-pora/peta, its PDF and GeoJSON): reports, foreign guests and joint
operations per kecamatan of an office's jurisdiction for one complete month, always with "< 3" and
complementary suppression; who may read which office's map; bad months.

The month M is the calendar month two months before the `clock` fixture's today. Hand-counted for
KANIM-A (Kabupaten Karawang, 32.15):

    measure      kecamatan (Karawang)       in M                       shown
    reports      Karawang Barat             4                          – (else Timur = 8 − 4 − 3;
                                                                         Telagasari's 3 would not
                                                                         do: "–" is 3 or more)
                 Karawang Timur             1                          < 3
                 Telagasari                 3                          3
                 total                      8 (+ Bekasi's 2, another   8
                                            office; + 1 in the month
                                            before: not counted)
    guests       Karawang Barat (hotel)     3 (+ 1 cancelled, + 1 the  3
                                            month before)
                 Telukjambe Barat (hotel)   1                          < 3
                 district not known         2 (deleted stays' tally)   < 3
                 total                      6                          6
    operations   Ciampel                    3 done (+ 1 planned, + 1   3
                                            done the month before,
                                            + 1 of KANIM-B)
                 no district                1 done                     < 3
                 total                      4                          – (else "no district" =
                                                                         4 − 3)
"""
import io
import itertools
import json
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pypdf
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.errors import NotFound, UserValueError
from apoa.extensions import db
from apoa.guests.models import GuestTally
from apoa.guests.services import cancel, check_in, register_organisation, verify_organisation
from apoa.partners.models import JointOperation, PartnerAgency, PartnerMember
from apoa.partners.supervision_map import (GUESTS, OPERATIONS, REPORTS, map_office, parse_map_month,
                                           supervision_map)
from apoa.periods import add_months
from apoa.regions.lookup import locate
from tests.clock import WIB
from tests.factories import World
from tests.guests.test_stays import ANNA, JOHN, guest

KARAWANG_BARAT = (107.30, -6.30)
KARAWANG_TIMUR = (107.31, -6.31)
TELAGASARI = (107.40, -6.25)
TELUKJAMBE_BARAT = (107.25, -6.40)
CIAMPEL = (107.35, -6.45)
BEKASI = (107.15, -6.30)            # KANIM-B


def at(day, hour=9):
    return datetime.combine(day, time(hour), WIB).astimezone(timezone.utc)


class Month:
    """The world of the module docstring."""

    def __init__(self, make, clock):
        self.world = World(make)
        self.make, self.clock = make, clock
        self.actors = self.world.actors
        self.office, self.other_office = self.world.office, self.world.other_office
        self.first = add_months(clock.today.replace(day=1), -2)
        self.value = self.first.strftime("%Y-%m")
        self.partner = self.member_of(self.office)
        self.other_partner = self.member_of(self.other_office)
        self._reports()
        self._guests()
        self._operations()

    def day(self, offset):
        return self.first + timedelta(days=offset)

    def member_of(self, office):
        agency = PartnerAgency(office_id=office.id, kind="polri", name=f"Polres {office.code}")
        db.session.add(agency)
        db.session.flush()
        user = self.make.user("partner", office)
        db.session.add(PartnerMember(user_id=user.id, agency_id=agency.id))
        db.session.flush()
        return user

    def _reports(self):
        for point, count in ((KARAWANG_BARAT, 4), (KARAWANG_TIMUR, 1), (TELAGASARI, 3), (BEKASI, 2)):
            for n in range(count):
                self.make.report(point=point, created_at=at(self.day(2 + n)))
        self.make.report(point=KARAWANG_BARAT, created_at=at(self.first - timedelta(days=3)))

    def _guests(self):
        barat = self.hotel("Hotel Barat", KARAWANG_BARAT)
        telukjambe = self.hotel("Hotel Telukjambe", TELUKJAMBE_BARAT)
        for n in range(3):
            self.stay(barat, JOHN, self.day(5 + n), f"GB{n}00001")
        [wrong] = self.stay(barat, ANNA, self.day(6), "C01X00T48")
        cancel(wrong, barat.operator, "Salah input data tamu.", self.clock.now)
        self.stay(barat, ANNA, self.first - timedelta(days=2), "C01X00T49")
        self.stay(telukjambe, ANNA, self.day(9), "C01X00T50")
        db.session.add(GuestTally(day=self.day(1), kab_id=self.make.region("32.15").id, nationality="AUS",
                                  office_id=self.office.id, check_ins=2, guest_nights=4))
        db.session.flush()

    def hotel(self, name, point):
        person = self.make.user("resident")
        hotel = register_organisation(person, "lodging", name, "Jl. Raya 1", point, licence_no="9120001234567",
                                      lodging_kind="hotel")
        verify_organisation(hotel, self.actors["supervisor"], approve=True, note=None, now=self.clock.now)
        hotel.operator = person
        return hotel

    def stay(self, hotel, person, day, number):
        checked_in = at(day, 14)
        data = replace(guest(self.clock, person), passport_number=number, checked_in_at=checked_in,
                       arrived_in_indonesia=day - timedelta(days=1), planned_check_out=day + timedelta(days=2))
        return check_in(hotel, hotel.operator, [data], checked_in + timedelta(hours=1))

    def _operations(self):
        ciampel = locate(*CIAMPEL).kecamatan.id
        tempuran = self.make.region("32.15.20").id
        for n in range(3):
            self.operation(self.office, self.day(10 + n), ciampel)
        self.operation(self.office, self.day(14), None)
        self.operation(self.office, self.day(15), tempuran, state="planned")
        self.operation(self.office, self.first - timedelta(days=1), ciampel)
        self.operation(self.other_office, self.day(10), ciampel)

    def operation(self, office, day, kecamatan_id, state="done"):
        done = state == "done"
        db.session.add(JointOperation(office_id=office.id, title="Operasi gabungan", planned_on=day,
                                      kecamatan_id=kecamatan_id, state=state,
                                      created_by_id=self.actors["supervisor"].id,
                                      result="Tiga orang asing diperiksa." if done else None,
                                      done_at=at(day, 20) if done else None))
        db.session.flush()


@pytest.fixture
def month(make, clock):
    return Month(make, clock)


def shown(smap, measure):
    """{district name: what the table shows} of the districts with anything in the month."""
    return {row.name: str(row.counts[measure]) for row in smap.listed_rows if row.counts[measure].value}


def map_of(month):
    # The rows' names are written when the map is built: in English here, whatever the context.
    with force_locale("en"):
        return supervision_map(month.office, parse_map_month(month.value, month.clock.today))


# --- the counts ----------------------------------------------------------------------------------

def test_reports_are_counted_per_kecamatan_and_a_single_less_than_three_is_not_given_back(month, english):
    smap = map_of(month)
    assert shown(smap, REPORTS) == {"Karawang Barat": "–", "Karawang Timur": "< 3", "Telagasari": "3"}
    assert str(smap.totals[REPORTS]) == "8"


def test_foreign_guests_are_the_month_s_check_ins_by_the_lodging_s_kecamatan_with_deleted_stays(month, english):
    smap = map_of(month)
    assert shown(smap, GUESTS) == {"Karawang Barat": "3", "Telukjambe Barat": "< 3", "District not known": "< 3"}
    assert str(smap.totals[GUESTS]) == "6"
    [unknown] = [row for row in smap.rows if row.name == "District not known"]
    assert unknown.kabupaten == "Kabupaten Karawang" and unknown.kode is None


def test_joint_operations_done_in_the_month_by_the_office_s_team(month, english):
    smap = map_of(month)
    assert shown(smap, OPERATIONS) == {"Ciampel": "3", "No district": "< 3"}
    assert str(smap.totals[OPERATIONS]) == "–"


def test_every_kecamatan_of_the_jurisdiction_is_on_the_map_and_only_those(month):
    smap = map_of(month)
    codes = {row.kode for row in smap.rows if row.kode}
    assert len(codes) == 30 and all(code.startswith("32.15.") for code in codes)


def test_no_hidden_count_can_be_worked_out_from_the_total(month):
    """The reader's attack: every value the shown figures allow ("< 3" is 1 or 2, "–" 3 or more)
    for the hidden counts of a column and its total; each hidden count keeps two possible values."""
    smap = map_of(month)
    for measure in (REPORTS, GUESTS, OPERATIONS):
        cells = [row.counts[measure] for row in smap.rows]
        total = smap.totals[measure]
        hidden = [c for c in cells if c.hidden] + ([total] if total.hidden else [])
        top = total.value + 5
        solutions = [values for values in itertools.product(*(possible(c, top) for c in hidden))
                     if _adds_up(cells, total, hidden, values)]
        assert [c.value for c in hidden] in [list(v) for v in solutions]
        for index, count in enumerate(hidden):
            assert len({values[index] for values in solutions}) >= 2, (measure, count)


def possible(count, top):
    return range(1, 3) if count.suppressed else range(3, top)


def _adds_up(cells, total, hidden, values):
    guess = dict(zip(map(id, hidden), values))
    parts = sum(guess.get(id(c), c.value) for c in cells)
    return parts == guess.get(id(total), total.value)


def test_a_month_of_larger_counts_shows_them_all(month, english):
    for n in range(2):
        month.make.report(point=KARAWANG_TIMUR, created_at=at(month.day(20 + n)))
    assert shown(map_of(month), REPORTS) == {"Karawang Barat": "4", "Karawang Timur": "3", "Telagasari": "3"}


def test_a_kanwil_s_map_covers_the_kecamatan_of_its_offices(month, english):
    kanwil = month.office.parent
    smap = supervision_map(kanwil, parse_map_month(month.value, month.clock.today))
    assert {row.kode[:5] for row in smap.rows if row.kode} == {"32.15", "32.16"}
    assert str(smap.totals[REPORTS]) == "10"


# --- the month -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["2026-13", "Oktober", "0000-01", "２０２６-01"])
def test_a_month_that_is_not_one_is_refused_with_a_message(clock, english, raw):
    with pytest.raises(UserValueError, match="YYYY-MM|from 2000"):
        parse_map_month(raw, clock.today)


def test_the_running_month_is_refused_complete_months_only(clock, english):
    with pytest.raises(UserValueError, match="not over yet"):
        parse_map_month(clock.today.strftime("%Y-%m"), clock.today)
    assert parse_map_month("", clock.today).end == clock.today.replace(day=1)


def test_the_page_answers_400_with_the_message_beside_the_month(month, sign_in, english):
    client = sign_in(month.actors["supervisor"])
    answer = client.get("/tim-pora/peta", query_string={"bulan": "2026-13"})
    assert answer.status_code == 400
    assert 'id="month-error"' in answer.text and "YYYY-MM" in answer.text
    for path in ("/tim-pora/peta.pdf", "/tim-pora/peta.geojson"):
        assert client.get(path, query_string={"bulan": "nanti"}).status_code == 400


# --- the page, the PDF, the GeoJSON --------------------------------------------------------------

def test_the_page_shows_the_map_and_the_table(month, sign_in, english):
    client = sign_in(month.actors["supervisor"])
    answer = client.get("/tim-pora/peta", query_string={"bulan": month.value})
    assert answer.status_code == 200
    assert "Foreigner supervision map" in answer.text and "<svg" in answer.text
    assert answer.text.count("<path ") == 30
    assert 'data-kode="32.15.01"' in answer.text
    assert "&lt; 3" in answer.text            # a supervisor too gets the shared counts: it is made to be shared
    assert answer.headers["Cache-Control"] == "private, no-store"
    operations = client.get("/tim-pora/peta", query_string={"bulan": month.value, "layer": "operations"})
    assert 'id="map-operations"' in operations.text
    assert client.get("/tim-pora/peta", query_string={"layer": "people"}).status_code == 400


def test_the_pdf_is_a_pdf_with_the_title_and_every_layer(month, sign_in, english):
    client = sign_in(month.partner)
    answer = client.get("/tim-pora/peta.pdf", query_string={"bulan": month.value})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.data)).pages).split())
    assert "Foreigner supervision map" in text and month.office.name in text
    assert "Karawang Barat" in text
    for title in ("Reports received per district", "Foreign guests checked in per district",
                  "Joint operations held per district"):
        assert title in text


def test_the_geojson_has_the_kecamatan_outlines_and_the_shared_counts_only(month, sign_in):
    client = sign_in(month.partner)
    answer = client.get("/tim-pora/peta.geojson", query_string={"bulan": month.value})
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    collection = json.loads(answer.data)
    assert collection["type"] == "FeatureCollection" and collection["period"]["month"] == month.value
    features = {f["properties"]["kode"]: f for f in collection["features"]}
    barat, timur, telagasari = features["32.15.01"], features["32.15.26"], features["32.15.17"]
    assert barat["properties"]["nama"] == "Karawang Barat" and barat["properties"]["reports_received"] is None
    assert timur["properties"]["reports_received"] == "< 3" and telagasari["properties"]["reports_received"] == 3
    assert collection["totals"] == {"reports_received": 8, "foreign_guests": 6, "joint_operations": None}
    for feature in collection["features"]:
        values = [feature["properties"][k] for k in ("reports_received", "foreign_guests", "joint_operations")]
        assert all(v is None or v == "< 3" or (isinstance(v, int) and (v == 0 or v >= 3)) for v in values)
        geometry = feature["geometry"]
        assert geometry is None or geometry["type"] == "MultiPolygon"
    assert_no_exact_points(collection, [KARAWANG_BARAT, KARAWANG_TIMUR, TELAGASARI, TELUKJAMBE_BARAT])


def assert_no_exact_points(collection, points):
    """Outlines only, rounded to 4 decimals: no report's or lodging's location is among them."""
    coordinates = set()

    def walk(value):
        if isinstance(value[0], (int, float)):
            coordinates.add(tuple(value))
        else:
            for item in value:
                walk(item)
    for feature in collection["features"]:
        if feature["geometry"]:
            walk(feature["geometry"]["coordinates"])
    assert coordinates and all(round(x, 4) == x and round(y, 4) == y for x, y in coordinates)
    assert not coordinates & set(points)


def test_every_reading_is_audited_with_the_office_and_the_month(month, sign_in):
    client = sign_in(month.partner)
    for path in ("/tim-pora/peta", "/tim-pora/peta.geojson"):
        assert client.get(path, query_string={"bulan": month.value}).status_code == 200
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "partner.supervision_map")
                                 .order_by(AuditEntry.seq)).all()
    assert [e.detail for e in entries] == [{"office_id": month.office.id, "month": month.value, "format": f}
                                           for f in ("html", "geojson")]
    assert all(e.actor_id == month.partner.id and e.object == f"office:{month.office.id}" for e in entries)


# --- who may read it -----------------------------------------------------------------------------

def test_a_partner_member_reads_their_team_s_map_only(month, sign_in):
    client = sign_in(month.partner)
    assert client.get("/tim-pora/peta", query_string={"bulan": month.value}).status_code == 200
    for office in (month.other_office, month.office.parent):
        answer = client.get("/tim-pora/peta.geojson", query_string={"bulan": month.value, "office": office.id})
        assert answer.status_code == 404


def test_a_partner_of_another_team_gets_404_for_this_office(month, sign_in):
    client = sign_in(month.other_partner)
    for path in ("/tim-pora/peta", "/tim-pora/peta.pdf", "/tim-pora/peta.geojson"):
        assert client.get(path, query_string={"bulan": month.value, "office": month.office.id}).status_code == 404
    answer = client.get("/tim-pora/peta.geojson", query_string={"bulan": month.value})
    assert json.loads(answer.data)["office"]["id"] == month.other_office.id


def test_a_member_whose_agency_left_the_team_reads_nothing(month, sign_in):
    client = sign_in(month.partner)
    db.session.scalar(select(PartnerAgency).where(PartnerAgency.office_id == month.office.id)).active = False
    db.session.flush()
    assert client.get("/tim-pora/peta", query_string={"bulan": month.value}).status_code == 404


@pytest.mark.parametrize("who", ["regional_head", "kanwil_supervisor", "supervisor"])
def test_heads_and_supervisors_read_the_offices_of_their_jurisdiction(month, who):
    user = month.actors[who]
    assert map_office(user, str(month.office.id)) == month.office
    with pytest.raises(NotFound):
        map_office(user, str(month.actors["foreign_officer"].office_id))


def test_a_regional_head_chooses_among_the_offices_of_the_kanwil(month, sign_in):
    client = sign_in(month.actors["regional_head"])
    answer = client.get("/tim-pora/peta", query_string={"bulan": month.value, "office": month.office.id})
    assert answer.status_code == 200 and f'data-office="{month.office.id}"' in answer.text
    options = answer.text.split('<select id="office"')[1].split("</select>")[0]
    assert month.office.name in options and month.other_office.name in options


@pytest.mark.parametrize("who", ["resident", "officer", "admin"])
def test_who_may_not_see_aggregates_gets_404(month, sign_in, who):
    client = sign_in(month.actors[who])
    for path in ("/tim-pora/peta", "/tim-pora/peta.geojson"):
        assert client.get(path, query_string={"bulan": month.value, "office": month.office.id}).status_code == 404


def test_who_is_not_signed_in_is_sent_to_sign_in(month, client):
    answer = client.get("/tim-pora/peta", query_string={"bulan": month.value})
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


@pytest.mark.parametrize("args", [
    {"office": "²"}, {"office": "-1"}, {"office": "99999999999999999999"}, {"office": "a\x00b"},
    {"bulan": "\x00"}, {"bulan": "9999-12"}, {"bulan": "1999-12"}, {"layer": "\u202e"},
])
def test_odd_arguments_never_fail_the_page(month, sign_in, args):
    client = sign_in(month.actors["regional_head"])
    paths = ["/tim-pora/peta"] + (["/tim-pora/peta.geojson"] if "layer" not in args else [])
    for path in paths:
        assert client.get(path, query_string=args).status_code in (400, 404)
