"""Shared fixtures of the notification tests: the World's offices and staff (KANIM-A holds
Karawang, KANIM-B Bekasi under the same Kanwil, KANIM-X in Kalimantan), a resident's submission
through the real service, and who was told what."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from apoa.auth.models import User
from apoa.extensions import db
from apoa.notifications.models import Notification
from apoa.reports.contact import Contact
from apoa.reports.models import Category
from apoa.reports.services import NewReport, submit_report
from tests.factories import World

KARAWANG = (107.30, -6.30)          # Kecamatan Karawang Barat, Kabupaten Karawang (KANIM-A)
DESCRIPTION = "Enam pekerja asing tinggal di mes proyek gudang dekat pasar."
ADDRESS = "Jalan Tuparev Gang Melati nomor 17"
CONTACT = Contact(name="Siti Pelapor", phone="+6281234567890", email="siti.pelapor@contoh.id")


@pytest.fixture
def world(make, clock):
    world = World(make)
    world.actors["other_officer"] = make.user("officer", world.other_office)
    world.actors["other_supervisor"] = make.user("supervisor", world.other_office)
    return world


@pytest.fixture
def submit(clock):
    """`submit(point=KARAWANG, **fields)`: a report a resident sends through the web form's
    service, with a description, an address and contact details no notification may repeat."""
    category_id = db.session.scalar(select(Category.id).where(Category.code == "illegal_work"))

    def submit(point=KARAWANG, **fields):
        new = NewReport(category_id=category_id, description=DESCRIPTION, people_count=6,
                        place_kind="project_site", observed_at=clock.now - timedelta(hours=2),
                        point=point, submission_key=str(uuid.uuid4()), address=ADDRESS,
                        contact=CONTACT, **fields)
        return submit_report(new)
    return submit


def told(kind=None, report=None):
    """{user id: [kinds]} of the notifications (of `kind`, about `report`) in the database."""
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if report is not None:
        query = query.where(Notification.report_id == report.id)
    found = {}
    for notification in db.session.scalars(query):
        found.setdefault(notification.user_id, []).append(notification.kind)
    return found


def names(world, user_ids):
    """The World's names for these user ids (a set), to compare with an expectation."""
    by_id = {user.id: name for name, user in world.actors.items()}
    return {by_id.get(user_id, f"user {user_id}") for user_id in user_ids}


def user(user_id):
    return db.session.get(User, user_id)
