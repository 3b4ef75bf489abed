"""Building valid report-form submissions for tests."""
import io
import time
import uuid
from datetime import datetime, timedelta, timezone

from PIL import Image
from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.abuse import _serializer
from apoa.reports.models import Category

KARAWANG = ("-6.30", "107.30")
WIB = timezone(timedelta(hours=7))


def stamp(seconds_ago=60):
    """A form stamp as if the form had been shown `seconds_ago` seconds ago."""
    return _serializer().dumps(time.time() - seconds_ago)


def local_time(delta):
    return (datetime.now(WIB) + delta).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    """A complete, valid submission (anonymous, in Kabupaten Karawang); override any field."""
    category = db.session.scalar(select(Category).where(Category.code == "illegal_work"))
    data = {
        "category": str(category.id), "description": "Lima orang asing bekerja di proyek tanpa izin.",
        "people_count": "5", "nationality": "CN", "place_kind": "project_site",
        "observed_at": local_time(-timedelta(hours=2)), "utc_offset": "420",
        "latitude": KARAWANG[0], "longitude": KARAWANG[1], "accuracy_m": "", "address": "Jl. Industri",
        "reporter": "anonymous", "consent": "y", "website": "",
        "started_at": stamp(), "submission_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), **save_options):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", **save_options)
    return buffer.getvalue()
