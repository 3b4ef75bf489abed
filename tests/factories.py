"""Factories for tests: each method creates, flushes and returns one row with sensible defaults."""
import itertools
from datetime import datetime, timedelta, timezone

import pyotp
from sqlalchemy import func, select

from apoa.auth.models import Role, User
from apoa.auth.totp import enrol_with_secret
from apoa.regions.lookup import locate
from apoa.regions.models import Office, Region
from apoa.regions.offices import set_jurisdiction
from apoa.reports.models import Category, Report, ReportEvent
from apoa.reports.states import State
from apoa.reports.tracking import new_code

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
        """A report at `point` with its regions and office looked up, and its first history event."""
        location = locate(*point)
        category = self.session.scalar(select(Category).where(Category.code == category_code))
        report = Report(
            tracking_code=new_code(), state=state, category=category,
            description=fields.pop("description", "Beberapa orang asing bekerja di proyek."),
            people_count=fields.pop("people_count", 2), place_kind=fields.pop("place_kind", "project_site"),
            observed_at=fields.pop("observed_at", datetime.now(timezone.utc) - timedelta(hours=3)),
            location=func.ST_SetSRID(func.ST_MakePoint(*point), 4326),
            kab_id=location.kabupaten.id if location else None,
            kec_id=location.kecamatan.id if location and location.kecamatan else None,
            office_id=location.office_id if location else None,
            channel=fields.pop("channel", "web"), consent=True, **fields)
        self.session.add(report)
        self.session.flush()
        self.session.add(ReportEvent(report_id=report.id, action="submit", to_state=state))
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
