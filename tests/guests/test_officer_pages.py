"""The immigration officers' guest pages (apoa/guests/officer_views.py): the verification queue,
the organisations with late and missing check-outs, the guests present with their filters, a stay
with the audited reveal, one foreigner's stays, the passport search and the leads. Another office's
staff see none of it; residents and lodging operators get none of these pages; names and passport
numbers appear only after a reveal with a reason, and every read of guest records is audited."""
import io
import json
from datetime import timedelta

import pytest
from PIL import Image

from apoa.guests.documents import attach_document, clean_document
from apoa.guests.services import check_in, check_out, register_organisation
from tests.guests.test_leads import lodging, stay_at
from tests.guests.test_stays import ANNA, JOHN, KARAWANG, REASON, Lodgings, audit, guest

BASE = "/pengawasan/tamu"
SECRETS = ("MUELLER", "ANNA MARIA", "C01X00T47", "SMITH", "123456789", "2C21AB1234")


@pytest.fixture
def lodgings(make, clock):
    """Two verified hotels of KANIM-A and World's staff (tests/guests/test_stays.py)."""
    return Lodgings(make, clock)


def fresh(session, organisation):
    """The organisation as the database has it now (the request changed it in its own session)."""
    session.refresh(organisation)
    return organisation


def without_secrets(html):
    return not any(secret in html for secret in SECRETS)


@pytest.fixture
def staying(lodgings, clock):
    """Anna at the first hotel, John at the second, both checked in two hours ago."""
    [anna] = check_in(lodgings.hotel, lodgings.operator, [guest(clock)], clock.now)
    [john] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN)], clock.now)
    return anna, john


@pytest.fixture
def pending(make):
    person = make.user("resident")
    return register_organisation(person, "lodging", "Losmen Pending", "Jl. Baru 1, Karawang", KARAWANG,
                                 licence_no="9120009999999", lodging_kind="guesthouse")


# --- verification --------------------------------------------------------------------------------

def test_a_supervisor_of_the_jurisdiction_approves_an_organisation(lodgings, pending, sign_in, db_session,
                                                                   english):
    client = sign_in(lodgings.staff["supervisor"])
    page = client.get(f"{BASE}/verifikasi")
    assert page.status_code == 200 and "Losmen Pending" in page.text and "9120009999999" in page.text
    assert "/peta?lat=-6.30000&amp;lon=107.30000&amp;zoom=17" in page.text
    answer = client.post(f"{BASE}/verifikasi/{pending.id}", data={f"o{pending.id}-approve": "Approve"})
    assert answer.status_code == 303
    assert fresh(db_session, pending).state == "verified"
    assert len(audit(db_session, "organisation.verified")) == 3      # the two hotels, then this one
    after = client.get(f"{BASE}/verifikasi").text
    assert "Losmen Pending is verified: it can now report guests." in after
    assert f'id="organisation-{pending.id}"' not in after


def test_a_rejection_needs_a_note(lodgings, pending, sign_in, db_session, english):
    client = sign_in(lodgings.staff["supervisor"])
    refused = client.post(f"{BASE}/verifikasi/{pending.id}", data={f"o{pending.id}-reject": "Reject",
                                                                  f"o{pending.id}-note": "no"})
    assert refused.status_code == 400 and "Explain the rejection in at least 10 characters." in refused.text
    assert fresh(db_session, pending).state == "pending"
    note = "Alamat tidak ditemukan di lapangan."
    answer = client.post(f"{BASE}/verifikasi/{pending.id}", data={f"o{pending.id}-reject": "Reject",
                                                                 f"o{pending.id}-note": note})
    assert answer.status_code == 303
    organisation = fresh(db_session, pending)
    assert (organisation.state, organisation.decision_note) == ("rejected", note)
    assert len(audit(db_session, "organisation.rejected")) == 1


def test_an_officer_sees_the_queue_but_a_supervisor_decides(lodgings, pending, sign_in, db_session):
    client = sign_in(lodgings.staff["officer"])
    page = client.get(f"{BASE}/verifikasi")
    assert "Losmen Pending" in page.text and f"/verifikasi/{pending.id}" not in page.text
    assert client.post(f"{BASE}/verifikasi/{pending.id}", data={f"o{pending.id}-approve": "1"}).status_code == 403
    assert fresh(db_session, pending).state == "pending"


def test_another_office_sees_nothing_to_verify_and_cannot_decide(lodgings, pending, sign_in, db_session):
    client = sign_in(lodgings.staff["foreign_supervisor"])
    assert "Losmen Pending" not in client.get(f"{BASE}/verifikasi").text
    assert client.post(f"{BASE}/verifikasi/{pending.id}", data={f"o{pending.id}-approve": "1"}).status_code == 404
    assert fresh(db_session, pending).state == "pending"
    [refusal] = audit(db_session, "access.refused")
    assert refusal.object == f"organisation:{pending.id}"


# --- guests present ------------------------------------------------------------------------------

def test_the_list_shows_clear_fields_only_and_is_audited(lodgings, staying, sign_in, db_session, english):
    anna, john = staying
    page = sign_in(lodgings.staff["officer"]).get(BASE)
    assert page.status_code == 200
    assert "2 guests staying now." in page.text
    assert "Germany" in page.text and "United Kingdom" in page.text and "Hotel Melati" in page.text
    assert f'data-stay-id="{anna.id}"' in page.text and f'data-stay-id="{john.id}"' in page.text
    assert without_secrets(page.text)
    [entry] = audit(db_session, "guest.list")
    assert entry.detail == {"on": None, "filters": {}, "total": 2, "page": 1, "stays": [john.id, anna.id]}
    assert page.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("query, shown", [
    ("nationality=GBR", ["john"]),
    ("permit_kind=visa_on_arrival", ["anna"]),
    (f"expiring_within={ANNA['permit_expiry'].days}", ["anna"]),
    (f"expiring_within={ANNA['permit_expiry'].days - 1}", []),
    ("expired=y", []),
    ("nationality=GBR&permit_kind=visa_on_arrival", []),
])
def test_filters(lodgings, staying, sign_in, query, shown):
    anna, john = staying
    text = sign_in(lodgings.staff["officer"]).get(f"{BASE}?{query}").text
    assert [name for name, stay in (("anna", anna), ("john", john))
            if f'data-stay-id="{stay.id}"' in text] == shown


@pytest.mark.date_sensitive
def test_an_expired_permit_of_a_guest_still_staying(lodgings, sign_in, clock):
    [stay] = check_in(lodgings.hotel, lodgings.operator,
                      [guest(clock, hours_ago=24 * 3, permit_expiry=clock.today - timedelta(days=1))], clock.now)
    text = sign_in(lodgings.staff["officer"]).get(f"{BASE}?expired=y").text
    assert f'data-stay-id="{stay.id}"' in text


@pytest.mark.date_sensitive
def test_guests_on_a_past_date_and_of_one_organisation(lodgings, sign_in, clock, english):
    left = stay_at(clock, lodgings.operator, lodgings.hotel, 3)
    check_out([left], lodgings.operator, clock.now - timedelta(days=2))
    [now_here] = check_in(lodgings.other_hotel, lodgings.other_operator, [guest(clock, JOHN)], clock.now)
    client = sign_in(lodgings.staff["officer"])
    day = (clock.now - timedelta(days=3)).astimezone(clock.local.tzinfo).date()
    text = client.get(f"{BASE}?when=day&day={day.isoformat()}").text
    assert f'data-stay-id="{left.id}"' in text and f'data-stay-id="{now_here.id}"' not in text
    now_text = client.get(BASE).text
    assert f'data-stay-id="{left.id}"' not in now_text and f'data-stay-id="{now_here.id}"' in now_text
    only = client.get(f"{BASE}?organisation={lodgings.hotel.id}").text
    assert f'data-stay-id="{now_here.id}"' not in only and "At Hotel Melati only." in only
    future = client.get(f"{BASE}?when=day&day={(clock.today + timedelta(days=1)).isoformat()}")
    assert future.status_code == 400 and "Choose today or a date in the past." in future.text


def test_another_office_sees_no_guests(lodgings, staying, sign_in):
    for who in ("foreign_officer", "foreign_supervisor"):
        text = sign_in(lodgings.staff[who]).get(BASE).text
        assert "data-stay-id" not in text


@pytest.mark.parametrize("who", ["resident", "regional_head", "admin", "operator"])
def test_who_is_not_immigration_staff_gets_none_of_the_pages(lodgings, staying, sign_in, who):
    user = lodgings.operator if who == "operator" else lodgings.staff[who]
    client = sign_in(user)
    anna, _john = staying
    for path in ("", "/verifikasi", "/organisasi", "/petunjuk", "/cari-paspor", "/peta.json",
                 f"/{anna.id}", f"/{anna.id}/riwayat-orang"):
        assert client.get(BASE + path).status_code == 403, path


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get(BASE)
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


# --- one stay and its reveal ---------------------------------------------------------------------

def passport_photo():
    raw = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 180, 40)).save(raw, "JPEG")
    return clean_document(raw.getvalue())


def test_the_stay_page_is_audited_and_hides_the_guest(lodgings, staying, sign_in, db_session, english):
    anna, _john = staying
    page = sign_in(lodgings.staff["officer"]).get(f"{BASE}/{anna.id}")
    assert page.status_code == 200 and without_secrets(page.text)
    assert "Germany" in page.text and anna.sttpoa_no in page.text
    [entry] = audit(db_session, "guest.view")
    assert entry.object == f"stay:{anna.id}"


def test_another_office_gets_a_404_for_a_stay(lodgings, staying, sign_in, db_session):
    anna, _john = staying
    client = sign_in(lodgings.staff["foreign_supervisor"])
    for path in (f"/{anna.id}", f"/{anna.id}/riwayat-orang"):
        assert client.get(BASE + path).status_code == 404
    assert client.post(f"{BASE}/{anna.id}/buka", data={"reason": REASON}).status_code == 404
    assert [e.object for e in audit(db_session, "access.refused")] == [f"stay:{anna.id}"] * 3
    assert audit(db_session, "guest.reveal") == [] and audit(db_session, "guest.view") == []


def test_the_reveal_needs_a_reason_and_is_audited_with_the_passport_page(lodgings, staying, sign_in, clock,
                                                                         db_session, english):
    anna, _john = staying
    attach_document(anna, lodgings.operator, passport_photo(), clock.now)
    client = sign_in(lodgings.staff["officer"])
    refused = client.post(f"{BASE}/{anna.id}/buka", data={"reason": "lihat"})
    assert refused.status_code == 400 and without_secrets(refused.text)
    assert audit(db_session, "guest.reveal") == []
    shown = client.post(f"{BASE}/{anna.id}/buka", data={"reason": REASON})
    assert shown.status_code == 200
    assert "MUELLER" in shown.text and "ANNA MARIA" in shown.text and "C01X00T47" in shown.text
    assert 'src="data:image/jpeg;base64,' in shown.text
    assert shown.headers["Cache-Control"] == "private, no-store"
    [entry] = audit(db_session, "guest.reveal")
    assert entry.object == f"stay:{anna.id}" and entry.detail == {"reason": REASON}
    [seen] = audit(db_session, "guest.document_view")
    assert seen.detail == {"reason": REASON}
    # The next visit shows the guest hidden again.
    assert without_secrets(client.get(f"{BASE}/{anna.id}").text)


def test_one_foreigners_stays_across_lodgings(lodgings, sign_in, clock, db_session, english):
    first = stay_at(clock, lodgings.operator, lodgings.hotel, 4)
    check_out([first], lodgings.operator, clock.now - timedelta(days=2))
    second = stay_at(clock, lodgings.other_operator, lodgings.other_hotel, 1)
    other = stay_at(clock, lodgings.operator, lodgings.hotel, 1, person=JOHN)
    page = sign_in(lodgings.staff["officer"]).get(f"{BASE}/{first.id}/riwayat-orang")
    assert page.status_code == 200 and without_secrets(page.text)
    assert "2 stays · 2 places" in page.text
    assert page.text.index(f'data-stay-id="{second.id}"') < page.text.index(f'data-stay-id="{first.id}"')
    assert f'data-stay-id="{other.id}"' not in page.text
    [entry] = audit(db_session, "guest.history")
    assert entry.object == f"stay:{first.id}" and entry.detail == {"stays": [second.id, first.id]}


# --- the passport search -------------------------------------------------------------------------

def test_the_passport_search_needs_a_reason_and_is_audited_without_the_number(lodgings, staying, sign_in,
                                                                            db_session, english):
    _anna, john = staying
    client = sign_in(lodgings.staff["officer"])
    assert client.get(f"{BASE}/cari-paspor").status_code == 200
    refused = client.post(f"{BASE}/cari-paspor", data={"number": "123456789", "reason": ""})
    assert refused.status_code == 400 and "Give a reason of at least 10 characters for the search." in refused.text
    assert audit(db_session, "guest.passport_search") == []
    found = client.post(f"{BASE}/cari-paspor", data={"number": "1234 56789", "reason": REASON})
    assert found.status_code == 200 and "1 stay found" in found.text
    assert f'data-stay-id="{john.id}"' in found.text and without_secrets(found.text)
    [entry] = audit(db_session, "guest.passport_search")
    assert entry.detail == {"reason": REASON, "matches": 1}
    assert "123456789" not in json.dumps(entry.detail)
    missed = client.post(f"{BASE}/cari-paspor", data={"number": "X1234567", "reason": REASON})
    assert "No stay in your jurisdiction has this passport number." in missed.text
    foreign = sign_in(lodgings.staff["foreign_officer"]).post(f"{BASE}/cari-paspor",
                                                            data={"number": "123456789", "reason": REASON})
    assert "0 stays found" in foreign.text


# --- organisations and leads ---------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_organisations_with_late_and_missing_check_outs(lodgings, sign_in, clock, english):
    hotel, other = lodgings.hotel, lodgings.other_hotel
    late = guest(clock, hours_ago=30)
    check_in(hotel, lodgings.operator, [late], clock.now)               # reported 30 hours late
    overdue = guest(clock, JOHN, hours_ago=24 * 12, planned_check_out=clock.today - timedelta(days=8))
    check_in(other, lodgings.other_operator, [overdue], overdue.checked_in_at + timedelta(hours=1))
    page = sign_in(lodgings.staff["officer"]).get(f"{BASE}/organisasi")
    assert page.status_code == 200
    rows = page.text.split("data-organisation-id=")
    by_id = {int(row.split('"')[1]): row for row in rows[1:]}
    assert 'class="late">1<' in by_id[hotel.id] and 'class="overdue">0<' in by_id[hotel.id]
    assert 'class="late">0<' in by_id[other.id] and "badge-overdue\">1<" in by_id[other.id]
    assert rows[1].startswith(f'"{other.id}"')                          # the most missing first
    assert "data-organisation-id" not in sign_in(lodgings.staff["foreign_officer"]).get(f"{BASE}/organisasi").text


def test_the_leads_page(lodgings, make, sign_in, clock, db_session, english):
    places = [(lodgings.operator, lodgings.hotel), (lodgings.other_operator, lodgings.other_hotel),
              lodging(lodgings, make, clock, "Wisma Anggrek")]
    stays = [stay_at(clock, operator, place, days_ago) for (operator, place), days_ago in zip(places, (6, 3, 0))]
    page = sign_in(lodgings.staff["officer"]).get(f"{BASE}/petunjuk")
    assert page.status_code == 200 and without_secrets(page.text)
    section = page.text.split('id="leads-hopping"')[1].split("</section>")[0]
    assert f'data-stay-id="{stays[0].id}"' in section and f"/{stays[0].id}/riwayat-orang" in section
    assert "Checked in at 3 or more places within 7 days" in section
    assert len(audit(db_session, "guest.leads")) == 1
    foreign = sign_in(lodgings.staff["foreign_officer"]).get(f"{BASE}/petunjuk").text
    assert "data-stay-id" not in foreign
