"""Where foreign guests stay, on maps: the officers' map layer of lodgings with guests staying now
(GeoJSON at /pengawasan/tamu/peta.json, exact counts and nationalities, the jurisdiction only, none
for residents, operators or heads), and on a report's page the lodgings within 300 m with guests
staying when the report was seen."""
import json
import re
from datetime import timedelta

import pytest

from apoa.guests.queries import lodgings_near
from apoa.guests.services import check_in, check_out
from tests.guests.test_leads import lodging
from tests.guests.test_stays import JOHN, KARAWANG, Lodgings, guest

LAYER = "/pengawasan/tamu/peta.json"
# Metres east of KARAWANG in degrees of longitude there (6.3° S): 111,320 m × cos(6.3°) a degree.
METRE = 1 / 110_648


@pytest.fixture
def lodgings(make, clock):
    """Two verified hotels of KANIM-A and World's staff (tests/guests/test_stays.py)."""
    return Lodgings(make, clock)


def east_of_karawang(metres):
    return (KARAWANG[0] + metres * METRE, KARAWANG[1])


@pytest.fixture
def staying(lodgings, clock):
    """Two Germans and a Briton at the first hotel, a Briton who left at the second."""
    stays = check_in(lodgings.hotel, lodgings.operator,
                     [guest(clock), guest(clock, passport_number="C02X00T47"), guest(clock, JOHN)], clock.now)
    [left] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN)], clock.now)
    check_out([left], lodgings.other_operator, clock.now - timedelta(minutes=30))
    return stays


def test_the_layer_has_each_lodging_with_its_guests_and_nationalities(lodgings, staying, sign_in, english):
    answer = sign_in(lodgings.staff["officer"]).get(LAYER)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    body = answer.get_json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    [feature] = body["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": list(KARAWANG)}
    assert feature["properties"] == {
        "id": lodgings.hotel.id, "name": "Hotel Melati", "guests": 3,
        "nationalities": [{"code": "D", "name": "Germany", "count": 2},
                          {"code": "GBR", "name": "United Kingdom", "count": 1}],
        "url": f"/pengawasan/tamu?organisation={lodgings.hotel.id}"}
    assert "MUELLER" not in answer.text and "C01X00T47" not in answer.text


def test_the_layer_follows_the_map_view(lodgings, staying, sign_in):
    client = sign_in(lodgings.staff["supervisor"])
    around = client.get(LAYER, query_string={"bbox": "107.2,-6.4,107.4,-6.2"}).get_json()
    elsewhere = client.get(LAYER, query_string={"bbox": "106.7,-6.3,106.9,-6.1"}).get_json()
    assert len(around["features"]) == 1 and elsewhere["features"] == []
    bad = client.get(LAYER, query_string={"bbox": "west"})
    assert bad.status_code == 400 and bad.get_json()["error"]["status"] == 400


@pytest.mark.parametrize("who, status, features", [
    ("kanwil_supervisor", 200, 1), ("foreign_officer", 200, 0), ("foreign_supervisor", 200, 0),
    ("regional_head", 403, None), ("resident", 403, None), ("admin", 403, None), ("operator", 403, None),
])
def test_only_immigration_staff_of_the_jurisdiction_get_the_layer(lodgings, staying, sign_in, who, status,
                                                                  features):
    user = lodgings.operator if who == "operator" else lodgings.staff[who]
    answer = sign_in(user).get(LAYER, headers={"Accept": "text/html"})
    assert answer.status_code == status and answer.is_json
    if features is not None:
        assert len(answer.get_json()["features"]) == features


def test_the_officers_map_offers_the_layer_to_who_may_see_guests(lodgings, sign_in, english):
    page = sign_in(lodgings.staff["officer"]).get("/peta").text
    holder = re.search(r'<div id="guest-layer" hidden data-url="([^"]+)"\s+data-labels="([^"]+)"', page)
    assert holder.group(1) == LAYER
    labels = json.loads(holder.group(2).replace("&#34;", '"').replace("&quot;", '"'))
    assert labels["layer"] == "Lodgings with foreign guests"
    assert labels["guests"] == "Foreign guests staying now: %(n)s"
    assert 'id="guest-layer"' not in sign_in(lodgings.staff["regional_head"]).get("/peta").text


# --- a report's surroundings --------------------------------------------------------------------

@pytest.fixture
def around_a_report(lodgings, make, clock):
    """A report at KARAWANG seen an hour ago, and lodgings 0, 200 and 500 m from it."""
    report = make.report(point=KARAWANG, observed_at=clock.now - timedelta(hours=1))
    near_op, near = lodging(lodgings, make, clock, "Wisma Dekat", east_of_karawang(200))
    far_op, far = lodging(lodgings, make, clock, "Wisma Jauh", east_of_karawang(500))
    check_in(near, near_op, [guest(clock), guest(clock, JOHN)], clock.now)                  # 2 hours ago
    check_in(far, far_op, [guest(clock)], clock.now)
    # At the hotel on the report's point: one came after the report, one had left before it.
    check_in(lodgings.hotel, lodgings.operator, [guest(clock, hours_ago=0.5)], clock.now)
    [left] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN, hours_ago=3)], clock.now)
    check_out([left], lodgings.other_operator, clock.now - timedelta(hours=2))
    return report, near, far


def test_lodgings_within_300_m_with_guests_when_the_report_was_seen(lodgings, around_a_report, clock):
    report, near, _far = around_a_report
    [found] = lodgings_near(lodgings.staff["officer"], *KARAWANG, report.observed_at)
    assert (found.organisation_id, found.guests, found.nationalities) == (near.id, 2, [("D", 1), ("GBR", 1)])
    assert 195 <= found.distance_m <= 205
    later = lodgings_near(lodgings.staff["officer"], *KARAWANG, clock.now)
    assert [lodging.organisation_id for lodging in later] == [lodgings.hotel.id, near.id]
    for who in ("foreign_officer", "regional_head", "resident"):
        assert lodgings_near(lodgings.staff[who], *KARAWANG, report.observed_at) == []


def test_the_report_page_lists_the_lodgings_nearby(lodgings, around_a_report, sign_in, english):
    report, near, far = around_a_report
    page = sign_in(lodgings.staff["officer"]).get(f"/laporan/{report.id}").text
    section = page.split('id="guest-lodgings"')[1].split("</section>")[0]
    assert "Registered foreign guests nearby" in page and "Wisma Dekat" in section
    assert re.search(r"\(\d+ m\):\s*2 guests —\s*Germany 1, United Kingdom 1", section)
    assert f'data-organisation-id="{far.id}"' not in section and "Hotel Melati" not in section
    assert "Wisma Jauh" not in page


def test_the_report_page_says_when_no_guests_were_nearby(lodgings, make, sign_in, clock, english):
    report = make.report(point=KARAWANG, observed_at=clock.now - timedelta(hours=1))
    page = sign_in(lodgings.staff["supervisor"]).get(f"/laporan/{report.id}").text
    assert 'id="no-guest-lodgings"' in page
