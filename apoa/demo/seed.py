"""Demonstration data: offices over three kabupaten, one user per role, a few hundred reports,
and verified lodgings with a few hundred foreign guests' stays (apoa/demo/guests.py).

Everything is looked up before it is created, so seeding twice changes nothing. Report points are
drawn inside the real kabupaten outlines with a fixed seed, so every demo looks the same.

Staff sign in with a second factor, so the demo staff are enrolled with fixed, published TOTP
secrets (DEMO_TOTP_SECRETS): a tester adds the key to any authenticator app and signs in with the
demo password and the app's code. Known secrets and a known password are only fit for a demo, so
the seed refuses to run in production.
"""
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text

from apoa.auth.services import create_user, find_user_by_email
from apoa.auth.totp import enrol_with_secret
from apoa.demo.guests import seed_guests
from apoa.demo.partners import seed_partners
from apoa.extensions import db
from apoa.regions.lookup import locate_many
from apoa.regions.models import Region
from apoa.regions.offices import (create_office, find_office, set_jurisdiction,
                                  set_visiting_details)
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.states import ActionTaken, Outcome, PlaceKind, State
from apoa.reports.tracking import new_code

log = logging.getLogger("apoa.demo")

DEMO_PASSWORD = "apoa-demo-2026"
RANDOM_SEED = 2026
EXAMPLE_INDICATORS = Path(__file__).resolve().parents[2] / "examples" / "indicators-example.csv"

# (code, name, kind, parent code, kabupaten/kota codes)
OFFICES = (
    ("DITJEN", "Direktorat Jenderal Imigrasi", "ditjen", None, ()),
    ("KANWIL-LAMPUNG", "Kantor Wilayah Imigrasi Lampung", "kanwil", "DITJEN", ()),
    ("KANWIL-JABAR", "Kantor Wilayah Imigrasi Jawa Barat", "kanwil", "DITJEN", ()),
    ("KANWIL-KALBAR", "Kantor Wilayah Imigrasi Kalimantan Barat", "kanwil", "DITJEN", ()),
    ("KANIM-KOTABUMI", "Kantor Imigrasi Kelas III Kotabumi", "kantor", "KANWIL-LAMPUNG",
     ("18.08",)),
    ("KANIM-KARAWANG", "Kantor Imigrasi Kelas II TPI Karawang", "kantor", "KANWIL-JABAR",
     ("32.15",)),
    ("KANIM-KETAPANG", "Kantor Imigrasi Kelas II TPI Ketapang", "kantor", "KANWIL-KALBAR",
     ("61.04",)),
)

# What the WhatsApp information menu tells residents; demo values, not the offices' real ones.
DEMO_HOURS = "Senin–Jumat 08.00–16.00 WIB (data demo)"
VISITING = {
    "KANIM-KOTABUMI": "Jl. Contoh Kotabumi No. 1, Lampung Utara (alamat demo)",
    "KANIM-KARAWANG": "Jl. Contoh Karawang No. 1, Karawang (alamat demo)",
    "KANIM-KETAPANG": "Jl. Contoh Ketapang No. 1, Ketapang (alamat demo)",
}

# (email, name, role, office code)
USERS = (
    ("warga@demo.apoa.id", "Siti Warga", "resident", None),
    ("petugas@demo.apoa.id", "Budi Petugas", "officer", "KANIM-KARAWANG"),
    ("penyelia@demo.apoa.id", "Dewi Penyelia", "supervisor", "KANIM-KARAWANG"),
    ("kepala@demo.apoa.id", "Agus Kepala", "regional_head", "DITJEN"),
    ("admin@demo.apoa.id", "Admin APOA", "admin", None),
    # A lodging operator's account: the person in charge of a demo lodging (apoa/demo/guests.py).
    ("penginapan@demo.apoa.id", "Rina Penginapan", "lodging", None),
    # A Tim PORA member of the Karawang office's team (its agency: apoa/demo/partners.py).
    ("mitra@demo.apoa.id", "Joko Mitra", "partner", "KANIM-KARAWANG"),
)

# Fixed TOTP secrets (base32) of the demo staff, to type into an authenticator app.
DEMO_TOTP_SECRETS = {
    "petugas@demo.apoa.id": "APOADEMOPETUGASXXXXXXXXXXXXXXXXX",
    "penyelia@demo.apoa.id": "APOADEMOPENYELIAXXXXXXXXXXXXXXXX",
    "kepala@demo.apoa.id": "APOADEMOKEPALAXXXXXXXXXXXXXXXXXX",
    "admin@demo.apoa.id": "APOADEMOADMINXXXXXXXXXXXXXXXXXXX",
    "mitra@demo.apoa.id": "APOADEMOMITRAXXXXXXXXXXXXXXXXXXX",
}

# Share of demo reports by kabupaten: Karawang's industrial estates report the most.
REPORT_WEIGHTS = {"32.15": 0.5, "18.08": 0.2, "61.04": 0.3}

DESCRIPTIONS = (
    "Beberapa pekerja asing terlihat di lokasi proyek pada malam hari.",
    "Orang asing menginap di rumah warga sejak dua minggu dan belum dilaporkan ke RT.",
    "Warga negara asing membuka usaha kios di pasar tanpa izin yang jelas.",
    "Sekelompok orang asing sering datang ke gudang dekat sungai.",
    "Tamu asing di penginapan tidak terdaftar di buku tamu.",
)
NATIONALITIES = ("CN", "IN", "KR", "MY", "PH", "VN", "TH", "US", None)


@dataclass
class SeedResult:
    offices: int = 0
    users: int = 0
    reports: int = 0
    lodgings: int = 0
    stays: int = 0
    accounts: list = field(default_factory=list)


def seed_demo(report_count=300):
    """Create whatever of the demo data does not exist yet; returns what was created. Needs
    regions."""
    _refuse_production()
    _require_regions()
    result = SeedResult()
    result.offices = _seed_offices()
    result.users = _seed_users()
    result.accounts = [(email, role, office) for email, _name, role, office in USERS]
    if not _demo_reports_exist():
        result.reports = _seed_reports(report_count)
    seed_partners()
    guests = seed_guests(DEMO_PASSWORD)
    result.lodgings, result.stays = guests.lodgings, guests.stays
    _seed_indicators()
    log.info("demo seed: %d offices, %d users, %d reports, %d lodgings, %d stays created",
             result.offices, result.users, result.reports, result.lodgings, result.stays)
    return result


def _seed_indicators():
    """The README's example indicators (illustrative figures, marked as such in their source), so
    the regional map's indicator and rate layers have something to draw. Skipped where the
    examples are not installed, or once any indicator exists."""
    from apoa.indicators.importer import import_indicators
    from apoa.indicators.models import IndicatorSeries

    if not EXAMPLE_INDICATORS.exists() or db.session.scalar(select(IndicatorSeries.id).limit(1)):
        return
    import_indicators(EXAMPLE_INDICATORS.read_text(encoding="utf-8"))


def _refuse_production():
    from apoa.errors import UserValueError

    if current_app.config["APOA_ENV"] == "production":
        raise UserValueError("The demo data (with its published password and sign-in keys) "
                             "is not for production")


def _require_regions():
    from apoa.errors import UserValueError

    found = db.session.scalar(select(func.count()).select_from(Region)
                              .where(Region.kode.in_(REPORT_WEIGHTS)))
    if found < len(REPORT_WEIGHTS):
        raise UserValueError("Import the regions first: flask --app apoa regions import")


def _seed_offices():
    created = 0
    for code, name, kind, parent, regions in OFFICES:
        if find_office(code) is None:
            create_office(code, name, kind, parent)
            if regions:
                set_jurisdiction(code, regions)
            created += 1
    for code, address in VISITING.items():
        if find_office(code).address is None:  # a demo made before offices had addresses
            set_visiting_details(code, address, DEMO_HOURS)
    return created


def _seed_users():
    created = 0
    for email, name, role, office in USERS:
        user = find_user_by_email(email)
        if user is None:
            user = create_user(email, name, DEMO_PASSWORD, role, office)
            created += 1
        if email in DEMO_TOTP_SECRETS and user.totp_secret is None:
            enrol_with_secret(user, DEMO_TOTP_SECRETS[email])
    return created


def _demo_reports_exist():
    demo_offices = [code for code, *_rest in OFFICES]
    return db.session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM report r JOIN office o ON o.id = r.office_id"
        " WHERE o.code = ANY(:codes))"),
        {"codes": demo_offices})


def _seed_reports(count):
    rng = random.Random(RANDOM_SEED)
    points = _points_in_kabupaten(count)
    located = locate_many(points)
    categories = db.session.scalars(select(Category).order_by(Category.position)).all()
    officer = find_user_by_email("petugas@demo.apoa.id")
    now = datetime.now(timezone.utc)
    created = 0
    for point, where in zip(points, located):
        if where.office_id is None:
            continue  # a border point whose kecamatan outline belongs to a neighbouring kabupaten
        report = _demo_report(rng, point, where, categories, now)
        _assign_state(rng, report, officer)
        db.session.add(report)
        db.session.flush()
        _add_history(report, officer)
        created += 1
    return created


def _points_in_kabupaten(count):
    points = []
    for kode, weight in REPORT_WEIGHTS.items():
        rows = db.session.execute(text(
            "SELECT ST_X(g.geom), ST_Y(g.geom) FROM region r,"
            " ST_Dump(ST_GeneratePoints(r.geom, :n, :seed)) g WHERE r.kode = :kode"),
            {"n": max(1, round(count * weight)), "seed": RANDOM_SEED, "kode": kode}).all()
        points.extend((round(x, 6), round(y, 6)) for x, y in rows)
    return points


def _demo_report(rng, point, where, categories, now):
    created = now - timedelta(days=rng.uniform(0, 90))
    return Report(
        tracking_code=new_code(), state=State.new.value, category=rng.choice(categories),
        description=rng.choice(DESCRIPTIONS), people_count=rng.randint(1, 8),
        nationality_guess=rng.choice(NATIONALITIES), place_kind=rng.choice(list(PlaceKind)).value,
        observed_at=created - timedelta(hours=rng.uniform(1, 48)),
        location=func.ST_SetSRID(func.ST_MakePoint(*point), 4326),
        accuracy_m=rng.choice((None, 10, 25, 80)),
        kab_id=where.kab_id, kec_id=where.kec_id, office_id=where.office_id,
        channel=rng.choice(("web", "web", "web", "android", "whatsapp")), consent=True,
        created_at=created, due_at=created + timedelta(days=1))


def _assign_state(rng, report, officer):
    """Spread the demo over the workflow; only the Karawang officer can hold assigned reports."""
    state = rng.choices([State.new, State.screening, State.assigned, State.in_field,
                         State.pending_approval, State.closed], weights=[30, 20, 10, 10, 10, 20])[0]
    if state in (State.assigned, State.in_field) and report.office_id != officer.office_id:
        state = State.screening
    report.state = state.value
    if state in (State.assigned, State.in_field):
        report.assignee_id = officer.id
    if state in (State.pending_approval, State.closed):
        outcome = rng.choice([Outcome.violation_found, Outcome.compliant, Outcome.not_found,
                              Outcome.unfounded])
        report.outcome = outcome.value
        if outcome is Outcome.violation_found:
            report.action_taken = rng.choice(list(ActionTaken)).value


def _add_history(report, officer):
    db.session.add(ReportEvent(report_id=report.id, action="submit", to_state=State.new.value,
                               created_at=report.created_at))
    if report.state != State.new.value:
        actor = officer if report.office_id == officer.office_id else None
        db.session.add(ReportEvent(report_id=report.id, action="demo", from_state=State.new.value,
                                   to_state=report.state, actor=actor, note="Data demo",
                                   created_at=report.created_at + timedelta(hours=6)))
