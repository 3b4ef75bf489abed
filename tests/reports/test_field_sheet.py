"""The printable field sheet (/laporan/<id>/lembar-lapangan): the facts an officer needs in the
field, a map of the point within its kecamatan drawn by PostGIS (no tiles, no internet), a QR code
back to the report, A4 print styles; never the reporter's identity or contact; only for who may see
the report, and every print audited."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.auth.totp import qr_svg
from apoa.extensions import db
from apoa.reports import field_sheet
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.tracking import display
from apoa.reports.workflow import Action, apply
from tests.factories import World

KARAWANG_BARAT = (107.30, -6.30)
BEKASI = (107.15, -6.30)
STATIC = Path(__file__).resolve().parents[2] / "apoa" / "static"
REPORTER = Contact(name="Sari Pelapor", phone="+62 812 9876 5432", email="sari.pelapor@example.com")
INSTRUCTIONS = "Datang pagi hari, temui ketua RT dulu."


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def assigned_report(world, make):
    report = make.report(point=KARAWANG_BARAT, category_code="illegal_work",
                         description="Lima orang asing bekerja di gudang tanpa izin kerja.",
                         address_text="Jl. Tuparev No. 12, dekat pasar", people_count=5,
                         nationality_guess="CN", contact=encrypt_contact(REPORTER))
    apply(report, Action.screen, world.actors["officer"])
    apply(report, Action.assign, world.actors["supervisor"], assignee=world.actors["assignee"],
          note=INSTRUCTIONS)
    return report


def sheet_path(report):
    return f"/laporan/{report.id}/lembar-lapangan"


def test_the_sheet_has_the_facts_for_the_field_check(world, assigned_report, sign_in, english):
    answer = sign_in(world.actors["assignee"]).get(sheet_path(assigned_report))
    assert answer.status_code == 200
    text = answer.text
    for shown in (display(assigned_report.tracking_code), "Suspected illegal work",
                  "Lima orang asing bekerja di gudang tanpa izin kerja.", "Jl. Tuparev No. 12, dekat pasar",
                  "Karawang Barat", "Kabupaten Karawang", ">5 · China<", world.actors["assignee"].name,
                  INSTRUCTIONS, "-6.300000, 107.300000", "Finding (to fill in on site)"):
        assert shown in text, shown
    assert re.search(r"<dt>Due</dt><dd>[^—<]+</dd>", text)
    assert re.search(r"<dt>Seen at</dt><dd>[^—<]+</dd>", text)


def test_the_reporters_identity_is_never_on_the_sheet(world, assigned_report, sign_in):
    text = sign_in(world.actors["supervisor"]).get(sheet_path(assigned_report)).text
    for secret in ("Sari Pelapor", "9876", "sari.pelapor"):
        assert secret not in text, secret


def view_box(text):
    svg = re.search(r'<svg class="sheet-map" id="sheet-map" viewBox="([^"]+)"', text)
    return [float(v) for v in svg.group(1).split()]


def test_the_map_shows_the_point_within_its_kecamatan(world, assigned_report, sign_in):
    text = sign_in(world.actors["assignee"]).get(sheet_path(assigned_report)).text
    x0, y0, width, height = view_box(text)
    assert width == pytest.approx(height) and width > 0
    outline = re.search(r'<path class="sheet-outline" d="([^"]+)"', text).group(1)
    assert outline.startswith("M") and len(outline) > 50
    point = re.search(r'<circle class="sheet-point" cx="([-\d.e]+)" cy="([-\d.e]+)"', text)
    cx, cy = float(point.group(1)), float(point.group(2))
    assert x0 < cx < x0 + width and y0 < cy < y0 + height
    # Every vertex of the outline is in the frame too: the whole kecamatan is shown.
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", outline)]
    xs, ys = numbers[0::2], numbers[1::2]
    assert x0 <= min(xs) and max(xs) <= x0 + width
    assert y0 <= min(ys) and max(ys) <= y0 + height
    assert re.search(r">\d+ (m|km)</text>", text)  # the scale bar's label


def test_the_scale_bar_measures_the_ground():
    # At 6° south a Mercator metre is cos(6°) ≈ 0.9945 metres on the ground.
    assert field_sheet.ground_factor(-6.0) == pytest.approx(0.99452, abs=1e-4)
    assert field_sheet.scale_length(20000, -6.0) == 2000      # 19.9 km across: 2 km, under a quarter
    assert field_sheet.scale_length(3000, -6.0) == 500
    assert field_sheet.metres_label(2000) == "2 km" and field_sheet.metres_label(500) == "500 m"


def test_a_report_outside_every_kecamatan_gets_a_frame_around_its_point(world, assigned_report, sign_in):
    assigned_report.kec_id = None
    db.session.flush()
    text = sign_in(world.actors["assignee"]).get(sheet_path(assigned_report)).text
    assert 'class="sheet-outline"' not in text
    x0, y0, width, height = view_box(text)
    assert width == pytest.approx(2000 * (1 + 2 * field_sheet.MARGIN))


def test_the_qr_code_opens_the_report(world, assigned_report, sign_in):
    text = sign_in(world.actors["assignee"]).get(sheet_path(assigned_report)).text
    url = f"http://localhost/laporan/{assigned_report.id}"
    assert url in text
    assert str(qr_svg(url)) in text


def test_the_sheet_prints_on_a4(world, assigned_report, sign_in):
    text = sign_in(world.actors["assignee"]).get(sheet_path(assigned_report)).text
    assert "/static/css/field_sheet.css" in text and "data-print" in text
    css = (STATIC / "css" / "field_sheet.css").read_text()
    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)


def test_every_print_is_audited(world, assigned_report, sign_in):
    sign_in(world.actors["assignee"]).get(sheet_path(assigned_report))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.field_sheet")).all()
    assert [(e.object, e.actor_id) for e in entries] == [(f"report:{assigned_report.id}",
                                                          world.actors["assignee"].id)]


@pytest.mark.parametrize("who", ["foreign_officer", "foreign_supervisor", "regional_head", "admin", "resident"])
def test_who_may_not_see_the_report_gets_not_found(world, assigned_report, sign_in, who):
    assert sign_in(world.actors[who]).get(sheet_path(assigned_report)).status_code == 404
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.field_sheet")).all() == []


def test_a_sibling_offices_report_is_not_found(world, make, sign_in):
    elsewhere = make.report(point=BEKASI)
    assert sign_in(world.actors["officer"]).get(sheet_path(elsewhere)).status_code == 404


def test_the_report_page_links_to_its_field_sheet(world, assigned_report, sign_in):
    page = sign_in(world.actors["assignee"]).get(f"/laporan/{assigned_report.id}").text
    assert f'href="{sheet_path(assigned_report)}"' in page
