"""Factories for tests: each method creates, flushes and returns one row with sensible defaults;
and `World`, the offices and staff that the workflow, queue, map and summary tests share."""
import itertools
from datetime import datetime, timedelta, timezone

import pyotp
from sqlalchemy import func, select

from apoa.auth.models import Role, User
from apoa.auth.totp import enrol_with_secret
from apoa.extensions import db
from apoa.regions.lookup import locate
from apoa.regions.models import Office, Region
from apoa.regions.offices import set_jurisdiction
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.states import State
from apoa.reports.tracking import new_code
from apoa.reports.workflow import Action, Finding

# A point in Kecamatan Gambir, Jakarta Pusat.
GAMBIR = (106.8271, -6.1754)


class Factories:
    # scrypt is slow on purpose; tests hash the one test password once and reuse the hash.
    _password_hashes = {}

    def __init__(self, session, password):
        self.session = session
        self.password = password
        self._numbers = itertools.count(1)

    def _password_hash(self):
        if self.password not in self._password_hashes:
            probe = User()
            probe.set_password(self.password)
            self._password_hashes[self.password] = probe.password_hash
        return self._password_hashes[self.password]

    def _n(self):
        return next(self._numbers)

    def office(self, kind="kantor", parent=None, regions=(), code=None, name=None):
        """An office; a kantor gets a kanwil (and that a ditjen) made for it unless a parent is given."""
        n = self._n()
        if parent is None and kind != "ditjen":
            parent = self.office(kind="kanwil" if kind == "kantor" else "ditjen")
        office = Office(code=code or f"{kind.upper()}-{n}", name=name or f"Test {kind} {n}", kind=kind, parent=parent)
        self.session.add(office)
        self.session.flush()
        if regions:
            set_jurisdiction(office.code, regions)
        return office

    def user(self, role="officer", office=None, email=None, name=None, active=True, totp=None):
        """A user with the test password. Staff get an authenticator app enrolled (a random TOTP
        secret) unless `totp=False`; residents get none unless `totp=True`."""
        n = self._n()
        if office is None and Role(role).needs_office:
            office = self.office()
        user = User(email=email or f"user{n}@example.com", name=name or f"User {n}", role=role,
                    office=office, active=active, password_hash=self._password_hash())
        self.session.add(user)
        self.session.flush()
        if Role(role).is_staff if totp is None else totp:
            enrol_with_secret(user, pyotp.random_base32())
        return user

    def report(self, point=GAMBIR, state=State.new.value, category_code="other", **fields):
        """A report at `point` with its regions and office looked up, and its first history event.

        Received now by Python's clock, as the app stamps a submission (the `clock` fixture moves
        it; PostgreSQL's now() would keep the real date), unless `created_at` is given."""
        location = locate(*point)
        received = fields.pop("created_at", None) or datetime.now(timezone.utc)
        category = self.session.scalar(select(Category).where(Category.code == category_code))
        report = Report(
            tracking_code=new_code(), state=state, category=category,
            description=fields.pop("description", "Beberapa orang asing bekerja di proyek."),
            people_count=fields.pop("people_count", 2), place_kind=fields.pop("place_kind", "project_site"),
            observed_at=fields.pop("observed_at", received - timedelta(hours=3)), created_at=received,
            location=func.ST_SetSRID(func.ST_MakePoint(*point), 4326),
            kab_id=location.kabupaten.id if location else None,
            kec_id=location.kecamatan.id if location and location.kecamatan else None,
            office_id=location.office_id if location else None,
            channel=fields.pop("channel", "web"), consent=True, **fields)
        self.session.add(report)
        self.session.flush()
        self.session.add(ReportEvent(report_id=report.id, action="submit", to_state=state,
                                     created_at=report.created_at))
        self.session.flush()
        return report

    def region(self, kode):
        return self.session.scalar(select(Region).where(Region.kode == kode))

    def photo(self, report, directory, event=None, color=(30, 120, 200)):
        """A small JPEG stored under `directory` (as the upload folder) and attached to `report`."""
        import io

        from PIL import Image

        from apoa.reports.models import Attachment
        from apoa.reports.photos import sanitize_image, store_image

        raw = io.BytesIO()
        Image.new("RGB", (40, 30), color).save(raw, "JPEG")
        clean = sanitize_image(raw.getvalue())
        attachment = Attachment(report_id=report.id, event_id=event.id if event else None, sha256=clean.sha256,
                                mime=clean.mime, width=clean.width, height=clean.height, bytes=clean.size,
                                stored_path=store_image(clean, directory))
        self.session.add(attachment)
        self.session.flush()
        return attachment


class World:
    """Two Kantor Imigrasi under one Kanwil, and a third under another, with their staff (one
    user of each kind tests/reports/test_workflow.py tries every action with)."""

    def __init__(self, make):
        self.make = make
        kanwil = make.office(kind="kanwil", code="KANWIL-A")
        self.office = make.office(parent=kanwil, code="KANIM-A", regions=["32.15"])
        self.other_office = make.office(parent=kanwil, code="KANIM-B", regions=["32.16"])
        foreign = make.office(code="KANIM-X", regions=["61.04"])
        self.actors = {
            "officer": make.user("officer", self.office),
            "assignee": make.user("officer", self.office),
            "supervisor": make.user("supervisor", self.office),
            "decider": make.user("supervisor", self.office),
            "kanwil_supervisor": make.user("supervisor", kanwil),
            "foreign_officer": make.user("officer", foreign),
            "foreign_supervisor": make.user("supervisor", foreign),
            "regional_head": make.user("regional_head", kanwil),
            "admin": make.user("admin"),
            "resident": make.user("resident"),
        }

    def report_in(self, state):
        """A report of KANIM-A in `state`, with the history that state implies."""
        fields = {}
        if state in (State.assigned, State.in_field, State.pending_approval):
            fields["assignee_id"] = self.actors["assignee"].id
        if state in (State.pending_approval, State.closed):
            fields["outcome"] = "not_found"
        report = self.make.report(point=(107.30, -6.30), state=state.value, **fields)
        if state in (State.pending_approval, State.closed):
            db.session.add(ReportEvent(report_id=report.id, action="record_finding", from_state="in_field",
                                       to_state="pending_approval", actor_id=self.actors["decider"].id))
            db.session.flush()
        return report

    def params(self, action):
        return {
            Action.mark_duplicate: lambda: {"original": self.make.report(point=(107.31, -6.31))},
            Action.transfer: lambda: {"office": self.other_office, "reason": "Lokasi masuk wilayah kantor B."},
            Action.assign: lambda: {"assignee": self.actors["assignee"]},
            Action.dismiss: lambda: {"reason": "Tidak ada orang asing di alamat itu."},
            Action.record_finding: lambda: {"finding": Finding(outcome="not_found", notes="Rumah kosong.")},
            Action.send_back: lambda: {"note": "Periksa lagi pada malam hari."},
            Action.reopen: lambda: {"reason": "Ada laporan baru di lokasi sama."},
        }.get(action, dict)()
