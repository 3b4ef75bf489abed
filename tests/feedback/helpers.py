"""Shared pieces of the tests of complaints from the web and the API: the offices (Karawang and
Purwakarta under one Kanwil, Kotabumi in Lampung; the `offices` fixture of conftest.py), a report
in Kotabumi to name by its tracking code, and a valid web form."""
import re
import time
import uuid

from apoa.reports.abuse import _serializer

KARAWANG_NAME = "Kantor Imigrasi Kelas II TPI Karawang"
KOTABUMI_NAME = "Kantor Imigrasi Kelas III Kotabumi"
KOTABUMI_POINT = (104.90, -4.83)    # Kabupaten Lampung Utara (18.03)
COMPLAINT = "Antrean paspor di kantor sangat lama, petugas loket tidak ada selama satu jam."
ANSWER = "Mohon maaf atas ketidaknyamanannya. Mulai Senin loket dibuka dua petugas."
EMAIL = "warga.pelapor@contoh.id"


class Offices:
    def __init__(self, make):
        self.kanwil = make.office(kind="kanwil", code="KANWIL-JABAR")
        self.karawang = make.office(parent=self.kanwil, code="KANIM-KARAWANG", name=KARAWANG_NAME,
                                    regions=["32.15"])
        self.purwakarta = make.office(parent=self.kanwil, code="KANIM-PURWAKARTA", regions=["32.14"])
        self.kotabumi = make.office(code="KANIM-KOTABUMI", name=KOTABUMI_NAME, regions=["18.03"])
        self.supervisor = make.user("supervisor", self.karawang, name="Penyelia Karawang")
        self.kotabumi_supervisor = make.user("supervisor", self.kotabumi)
        self.regional_head = make.user("regional_head", self.kanwil)
        self.kotabumi_report = make.report(point=KOTABUMI_POINT)


def stamp(seconds_ago=60):
    """A form stamp as if the form had been shown `seconds_ago` seconds ago."""
    return _serializer().dumps(time.time() - seconds_ago)


def web_form(**overrides):
    """A valid complaint for Karawang from the web form; override any field (None drops it)."""
    data = {"kind": "complaint", "tracking_code": "", "region_code": "32.15", "text": COMPLAINT,
            "email": "", "website": "", "started_at": stamp(), "submission_key": str(uuid.uuid4())}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def receipt_codes(page):
    """(reference, secret) as the receipt page shows them."""
    reference = re.search(r'id="case-reference">([^<]+)<', page).group(1)
    secret = re.search(r'id="case-secret">([^<]+)<', page).group(1)
    return reference, secret
