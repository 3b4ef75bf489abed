"""Demonstration lodgings and their foreign guests, made through the real guest services.

Seven verified lodgings in the demo's three kabupaten (Karawang, Way Kanan, Ketapang), each with
an operator account (penginapan@demo.apoa.id is the person in charge of Hotel Tuparev Karawang),
and about three hundred stays over the last 45 days: parties of one to six guests checked in
together (register_organisation, verify_organisation, check_in, check_out), of nationalities and
permit kinds that fit the place (Karawang's industrial estates, Ketapang's smelter, Way Kanan's
plantations), some reported late, most checked out, some staying now. A few stays are built to
raise each of the officers' leads: one passport at three lodgings within seven days, a permit that
expired while its guest is still checked in, a check-out more than seven days overdue, and a
passport already expired at check-in.

Everything is drawn from a fixed seed and placed relative to the seeding time, so every fresh demo
looks the same as of its own day. Lodgings are looked up first: seeding twice changes nothing.
The verifying supervisors of Kotabumi and Ketapang (the demo's staff work in Karawang) are demo
accounts too, with the demo password; like every staff account they enrol an authenticator app
at their first sign-in.
"""
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, text

from apoa.auth.models import Role, User
from apoa.auth.services import create_user, find_user_by_email
from apoa.extensions import db
from apoa.guests.models import Organisation, OrganisationKind
from apoa.guests.services import (GuestData, check_in, check_out, register_organisation,
                                  verify_organisation)
from apoa.guests.sttpoa import JAKARTA
from apoa.regions.lookup import locate_many

GUEST_SEED = 72  # UU 6/2011 Pasal 72: lodgings hand over their foreign guests' data
DAYS_BACK = 45
LODGING_USER = "penginapan@demo.apoa.id"
# The demo supervisor of Karawang verifies Karawang's lodgings; these, the others.
VERIFIERS = {"32.15": ("penyelia@demo.apoa.id", None, None),
             "18.08": ("penyelia.kotabumi@demo.apoa.id", "Hendra Penyelia", "KANIM-KOTABUMI"),
             "61.04": ("penyelia.ketapang@demo.apoa.id", "Yuni Penyelia", "KANIM-KETAPANG")}


@dataclass(frozen=True)
class DemoLodging:
    name: str
    kind: str
    kab: str
    nib: str
    address: str
    operator: str
    parties: int  # how many check-ins (of one guest or a group) to make


LODGINGS = (
    DemoLodging("Hotel Tuparev Karawang", "hotel", "32.15", "9120108472615",
                "Jl. Tuparev No. 48, Karawang Barat (alamat demo)", LODGING_USER, 34),
    DemoLodging("Apartemen Galuh Mas", "apartment", "32.15", "9120204718830",
                "Jl. Galuh Mas Raya No. 7, Telukjambe Timur (alamat demo)",
                "pengelola.galuhmas@demo.apoa.id", 18),
    DemoLodging("Kos Melati Cikampek", "kos", "32.15", "9120311592047",
                "Jl. Ahmad Yani No. 21, Cikampek (alamat demo)",
                "pengelola.melati@demo.apoa.id", 14),
    DemoLodging("Hotel Way Kanan Indah", "hotel", "18.08", "8120417730584",
                "Jl. Jenderal Sudirman No. 5, Blambangan Umpu (alamat demo)",
                "pengelola.waykanan@demo.apoa.id", 14),
    DemoLodging("Penginapan Sungai Umpu", "guesthouse", "18.08", "8120520964413",
                "Jl. Lintas Tengah Km 3, Baradatu (alamat demo)",
                "pengelola.sungaiumpu@demo.apoa.id", 9),
    DemoLodging("Hotel Pesisir Ketapang", "hotel", "61.04", "9120623385176",
                "Jl. Gajah Mada No. 112, Delta Pawan (alamat demo)",
                "pengelola.pesisir@demo.apoa.id", 24),
    DemoLodging("Mes Karyawan Kendawangan", "other", "61.04", "9120729417362",
                "Jl. Raya Kendawangan Km 12 (alamat demo)",
                "pengelola.kendawangan@demo.apoa.id", 16),
)

# Nationalities (ICAO codes as passports print them) and their weights, per kabupaten.
NATIONALITIES = {
    "32.15": {"CHN": 25, "KOR": 20, "JPN": 20, "IND": 8, "TWN": 5, "MYS": 5, "PHL": 4, "VNM": 4,
              "D": 3, "USA": 3, "GBR": 2, "AUS": 2},
    "18.08": {"MYS": 30, "CHN": 20, "IND": 15, "SGP": 10, "THA": 10, "NLD": 5, "AUS": 5},
    "61.04": {"CHN": 60, "MYS": 10, "KOR": 5, "IND": 5, "PHL": 5, "AUS": 5, "RUS": 3},
}
# Surnames and given names as an MRZ prints them (upper case, no diacritics).
NAMES = {
    "CHN": ("WANG LI ZHANG LIU CHEN YANG HUANG ZHAO", "WEI FANG JUN LEI XIN MIN HAO JING"),
    "TWN": ("CHEN LIN HUANG CHANG", "YU TING CHIH HAO MEI LING"),
    "KOR": ("KIM LEE PARK CHOI JUNG KANG", "MINJUN SEOYEON JIHOON HYUNWOO SOYEON"),
    "JPN": ("SATO SUZUKI TAKAHASHI TANAKA WATANABE ITO", "HIROSHI YUKI KENJI AYAKA TAKESHI"),
    "IND": ("SHARMA PATEL SINGH KUMAR IYER", "RAHUL PRIYA ARJUN ANANYA VIKRAM"),
    "MYS": ("ABDULLAH TAN LIM RAHMAN WONG", "AHMAD SITI KAH WAI NURUL HAFIZ"),
    "SGP": ("TAN LIM NG GOH", "WEI LING JUN HAO MEI"),
    "THA": ("SRISUK CHAIYAPORN WONGSAWAT", "SOMCHAI NARIN KANYA"),
    "PHL": ("SANTOS REYES CRUZ BAUTISTA", "JOSE MARIA ANGELO KRISTINE"),
    "VNM": ("NGUYEN TRAN LE PHAM", "VAN ANH MINH THU"),
}
WESTERN = ("MUELLER SMITH JONES DEVRIES IVANOV BROWN WILSON",
           "ANNA JOHN THOMAS EMMA LUCAS SOPHIE DMITRI JAMES")
# Nights booked, and how many guests a party has, by lodging kind.
NIGHTS = {"hotel": (1, 7), "guesthouse": (1, 5), "villa": (2, 10), "apartment": (14, 60),
          "kos": (30, 90), "other": (14, 60)}
WORK_KINDS = {"apartment", "kos", "other"}
PERMITS = {  # permit kind: weight at hotels and guesthouses, at workers' lodgings
    "visa_on_arrival": (35, 3), "visit_visa": (25, 12), "itas": (30, 70), "itap": (3, 10),
    "diplomatic": (2, 0), "other": (5, 5)}
LATE_SHARE = 0.08
FORGOTTEN_CHECK_OUT_SHARE = 0.04


@dataclass
class Party:
    """Guests checked in together at one lodging, and when they leave (None: still staying)."""

    lodging: DemoLodging
    guests: list
    reported_at: datetime
    leaves_at: datetime | None
    stays: list = field(default_factory=list)


@dataclass
class GuestSeed:
    lodgings: int = 0
    stays: int = 0
    accounts: int = 0


def seed_guests(password, now=None):
    """Make the demo lodgings and their stays unless they exist (new accounts get `password`);
    returns what was made."""
    result = GuestSeed()
    if _demo_lodgings_exist():
        return result
    now = (now or datetime.now(JAKARTA)).astimezone(JAKARTA)
    rng = random.Random(GUEST_SEED)
    operators, result.accounts = _accounts(password)
    organisations = {lodging.name: _verified_lodging(lodging, operators, now)
                     for lodging in LODGINGS}
    parties = [party for lodging in LODGINGS for party in _usual_parties(rng, lodging, now)]
    parties += _lead_parties(rng, now)
    for party in sorted(parties, key=lambda p: p.reported_at):
        party.stays = check_in(organisations[party.lodging.name], operators[party.lodging.operator],
                               party.guests, party.reported_at)
    for party in sorted((p for p in parties if p.leaves_at), key=lambda p: p.leaves_at):
        check_out(party.stays, operators[party.lodging.operator], party.leaves_at)
    result.lodgings, result.stays = len(organisations), sum(len(p.stays) for p in parties)
    return result


def _demo_lodgings_exist():
    return db.session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.licence_no.in_([lodging.nib for lodging in LODGINGS]))) > 0


# --- lodgings and their people ---------------------------------------------------------------

def _accounts(password):
    """The operators and the verifying supervisors (email → user); how many were made."""
    people = {email: find_user_by_email(email)
              for email in [lodging.operator for lodging in LODGINGS]
              + [email for email, _name, _office in VERIFIERS.values()]}
    missing = [email for email, user in people.items() if user is None]
    template = people[LODGING_USER]
    for lodging in LODGINGS:
        if people[lodging.operator] is None:
            people[lodging.operator] = _operator(lodging, template)
    for email, name, office in VERIFIERS.values():
        if people[email] is None:
            people[email] = create_user(email, name, password, "supervisor", office)
    return people, len(missing)


def _operator(lodging, template):
    """An operator account with the demo password: its hash is the lodging demo user's, since
    hashing it again (scrypt, about 0.13 s) for each operator would slow every fresh demo."""
    user = User(email=lodging.operator, name=f"Pengelola {lodging.name}",
                role=Role.lodging.value, password_hash=template.password_hash)
    db.session.add(user)
    return user


def _verified_lodging(lodging, people, now):
    point = _point_in(lodging.kab, LODGINGS.index(lodging))
    organisation = register_organisation(
        people[lodging.operator], OrganisationKind.lodging.value, lodging.name, lodging.address,
        point, licence_no=lodging.nib, lodging_kind=lodging.kind)
    # Signed up before the first demo stay, like the reports' backdated times in seed.py.
    organisation.created_at = now - timedelta(days=DAYS_BACK + 10)
    verifier = people[VERIFIERS[lodging.kab][0]]
    verify_organisation(organisation, verifier, approve=True, note="Data demo",
                        now=now - timedelta(days=DAYS_BACK + 5))
    return organisation


def _point_in(kode, index):
    """A point inside kabupaten `kode` that the region lookup puts in it and in an office's
    jurisdiction (not a border point whose kecamatan belongs to a neighbour)."""
    kab_id = db.session.scalar(text("SELECT id FROM region WHERE kode = :kode"), {"kode": kode})
    rows = db.session.execute(text(
        "SELECT ST_X(g.geom), ST_Y(g.geom) FROM region r,"
        " ST_Dump(ST_GeneratePoints(r.geom, 30, :seed)) g WHERE r.kode = :kode"),
        {"seed": GUEST_SEED + index, "kode": kode}).all()
    points = [(round(x, 6), round(y, 6)) for x, y in rows]
    for point, where in zip(points, locate_many(points)):
        if where.kab_id == kab_id and where.office_id is not None:
            return point
    raise RuntimeError(f"no point of kabupaten {kode} lies in an office's jurisdiction")


# --- the usual guests ------------------------------------------------------------------------

def _usual_parties(rng, lodging, now):
    return [_usual_party(rng, lodging, now) for _ in range(lodging.parties)]


def _usual_party(rng, lodging, now):
    checked_in = _minute(now - timedelta(days=rng.uniform(0, DAYS_BACK)))
    low, high = NIGHTS[lodging.kind]
    planned = checked_in.date() + timedelta(days=rng.randint(low, high))
    nationality = _weighted(rng, NATIONALITIES[lodging.kab])
    family = lodging.kind not in WORK_KINDS
    size = rng.choices((1, 2, 3, 4, 6), weights=(50, 25, 12, 9, 0 if family else 4))[0]
    permit = _weighted(rng, {kind: weights[lodging.kind in WORK_KINDS]
                             for kind, weights in PERMITS.items()})
    surname = _pick(rng, nationality, 0) if family else None
    guests = [_guest(rng, nationality, permit, checked_in, planned, surname,
                     child=family and index >= 2) for index in range(size)]
    return Party(lodging, guests, _reported(rng, checked_in, now),
                 _leaves(rng, checked_in, planned, now))


def _guest(rng, nationality, permit, checked_in, planned, surname=None, child=False, **fixed):
    arrived = checked_in.date() - timedelta(days=_arrived_days_before(rng, permit))
    born = date(rng.randint(2009, 2020) if child else rng.randint(1960, 2003), rng.randint(1, 12),
                rng.randint(1, 28))
    values = dict(
        surname=surname or _pick(rng, nationality, 0), given_names=_pick(rng, nationality, 1),
        sex=rng.choice("MF"), date_of_birth=born, nationality=nationality,
        passport_number=_passport_number(rng), permit_kind=permit,
        passport_expiry=checked_in.date() + timedelta(days=rng.randint(200, 3000)),
        arrived_in_indonesia=arrived, checked_in_at=checked_in, planned_check_out=planned,
        permit_number=_permit_number(rng) if permit in ("itas", "itap") else None,
        permit_expiry=None if permit == "diplomatic" else planned + timedelta(
            days=rng.randint(10, 300)),
        room=str(rng.randint(101, 420)))
    return GuestData(**(values | fixed))


def _arrived_days_before(rng, permit):
    """Visitors check in soon after arriving; permit holders have often lived here for months."""
    return rng.randint(0, 3) if permit in ("visa_on_arrival", "visit_visa") else rng.randint(0, 400)


def _reported(rng, checked_in, now):
    """Most lodgings report within hours; some more than 24 hours late (never after `now`)."""
    hours = rng.uniform(25, 72) if rng.random() < LATE_SHARE else rng.uniform(0.1, 6)
    return min(checked_in + timedelta(hours=hours), now)


def _leaves(rng, checked_in, planned, now):
    """Guests leave late in the morning of the planned day; a few lodgings forget to check out."""
    leaves = datetime.combine(planned, time(10), JAKARTA) + timedelta(minutes=rng.randint(0, 150))
    if leaves > now - timedelta(hours=1) or rng.random() < FORGOTTEN_CHECK_OUT_SHARE:
        return None
    return max(leaves, checked_in + timedelta(hours=1))


# --- stays that raise the officers' leads ----------------------------------------------------

def _lead_parties(rng, now):
    hotel, apartment, kos, _wk, _su, pesisir, mes = LODGINGS
    return [*_lodging_hopper(rng, now, (kos, apartment, hotel)),
            _permit_expired_while_staying(rng, apartment, now, "itas", days_in=40, expired=6),
            _permit_expired_while_staying(rng, mes, now, "visa_on_arrival", days_in=25, expired=3),
            _overdue(rng, kos, now, days_overdue=10), _overdue(rng, LODGINGS[3], now, 8),
            _passport_expired_at_check_in(rng, pesisir, now)]


def _lodging_hopper(rng, now, lodgings):
    """One passport at three Karawang lodgings within seven days: two nights each, still at the
    last one."""
    passport = _passport_number(rng)
    parties = []
    for index, lodging in enumerate(lodgings):
        checked_in = _minute(now - timedelta(days=6 - 2 * index, hours=rng.uniform(1, 5)))
        planned = checked_in.date() + timedelta(days=2)
        guest = _guest(rng, "CHN", "visit_visa", checked_in, planned, surname="ZHOU",
                       given_names="XIAOMING", date_of_birth=date(1988, 3, 14),
                       passport_number=passport, arrived_in_indonesia=checked_in.date()
                       - timedelta(days=1 + 2 * index))
        last = index == len(lodgings) - 1
        leaves = None if last else checked_in + timedelta(days=2, hours=-3)
        parties.append(Party(lodging, [guest], checked_in + timedelta(hours=1), leaves))
    return parties


def _permit_expired_while_staying(rng, lodging, now, permit, days_in, expired):
    checked_in = _minute(now - timedelta(days=days_in))
    planned = now.date() + timedelta(days=20)
    guest = _guest(rng, _weighted(rng, NATIONALITIES[lodging.kab]), permit, checked_in, planned,
                   permit_expiry=now.date() - timedelta(days=expired))
    return Party(lodging, [guest], checked_in + timedelta(hours=2), None)


def _overdue(rng, lodging, now, days_overdue):
    planned = now.date() - timedelta(days=days_overdue)
    checked_in = _minute(datetime.combine(planned - timedelta(days=4), time(15), JAKARTA))
    guest = _guest(rng, _weighted(rng, NATIONALITIES[lodging.kab]), "visit_visa", checked_in,
                   planned, permit_expiry=now.date() + timedelta(days=30))
    return Party(lodging, [guest], checked_in + timedelta(hours=3), None)


def _passport_expired_at_check_in(rng, lodging, now):
    checked_in = _minute(now - timedelta(days=12))
    planned = checked_in.date() + timedelta(days=3)
    guest = _guest(rng, "RUS", "visa_on_arrival", checked_in, planned,
                   passport_expiry=checked_in.date() - timedelta(days=20))
    return Party(lodging, [guest], checked_in + timedelta(hours=1),
                 datetime.combine(planned, time(11), JAKARTA))


# --- small helpers ---------------------------------------------------------------------------

def _weighted(rng, weights):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pick(rng, nationality, which):
    return rng.choice(NAMES.get(nationality, WESTERN)[which].split())


def _passport_number(rng):
    return rng.choice("ABCEGKMPST") + "".join(rng.choice("0123456789") for _ in range(8))


def _permit_number(rng):
    return "2C" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))


def _minute(moment):
    return moment.replace(second=0, microsecond=0)
