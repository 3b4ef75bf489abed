"""The Tim PORA members' side: a member lands on their team's page, reads the reports forwarded to
their own team only (never who reported them), each read audited, follows the team's joint
operations, sees the office's figures suppressed as for heads, and reaches nothing else."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from apoa.audit.models import AuditEntry
from apoa.auth.models import User
from apoa.extensions import db
from apoa.partners.models import JointOperation, JointOperationReport
from apoa.periods import add_months, local_midnight, local_today
from apoa.reports.contact import Contact, encrypt_contact
from tests.conftest import AuthActions

REPORTER_NAME = "Siti Rahmawati"
REPORTER_PHONE = "081234567890"
REPORTER_EMAIL = "siti.pelapor@example.com"
ADDRESS = "Jl. Melati No. 7, rumah saya di sebelah pabrik"


def audited(action, actor):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                       AuditEntry.actor_id == actor.id)
                              .order_by(AuditEntry.seq)).all()


def reported_by_a_resident(teams, make, tmp_path):
    reporter = make.user("resident", name=REPORTER_NAME, email=REPORTER_EMAIL)
    report = teams.report(reporter_id=reporter.id, address_text=ADDRESS, nationality_guess="CN",
                          contact=encrypt_contact(Contact(name=REPORTER_NAME, phone=REPORTER_PHONE,
                                                          email=REPORTER_EMAIL)))
    make.photo(report, tmp_path)
    return report


def test_a_member_lands_on_the_team_page_with_the_office_figures(teams, sign_in, app, english):
    last_month = add_months(local_today().replace(day=1), -1)
    teams.report(created_at=local_midnight(last_month) + timedelta(hours=12))
    client = app.test_client()
    landed = AuthActions(client).login(teams.member)
    assert landed.status_code == 302 and landed.headers["Location"] == "/tim-pora/"
    home = client.get("/tim-pora/", query_string={"bulan": last_month.strftime("%Y-%m")})
    assert home.status_code == 200
    assert "Polres Karawang · Tim PORA of Kantor Imigrasi Karawang" in home.text
    # One report in the month: shown as "< 3", as for a regional head.
    assert 'id="m-received">&lt; 3<' in home.text
    assert 'id="shared-kabupaten"' in home.text and 'id="shared-category"' in home.text
    assert "Kabupaten Karawang" in home.text
    # A running month could be told apart from its next reading by subtraction: not offered.
    running = client.get("/tim-pora/", query_string={"bulan": local_today().strftime("%Y-%m")})
    assert running.status_code == 400 and "is not over yet" in running.text
    bad = client.get("/tim-pora/", query_string={"bulan": "2026-13"})
    assert bad.status_code == 400 and "is not a month" in bad.text


def test_a_member_reads_the_forwarded_report_without_the_reporter(teams, make, sign_in, tmp_path, english):
    report = reported_by_a_resident(teams, make, tmp_path)
    forwarded = teams.forward(report, note="Mohon pantau pabrik ini.")
    client = sign_in(teams.member)
    listed = client.get("/tim-pora/laporan")
    assert listed.status_code == 200 and f'data-forwarded-id="{forwarded.id}"' in listed.text
    page = client.get(f"/tim-pora/laporan/{forwarded.id}")
    assert page.status_code == 200
    assert "Lima orang asing bekerja di pabrik" in page.text and "Mohon pantau pabrik ini." in page.text
    kecamatan = report.kecamatan.nama
    assert kecamatan in page.text and report.kabupaten.nama in page.text and "China" in page.text
    for secret in (REPORTER_NAME, REPORTER_PHONE, REPORTER_EMAIL, "Jl. Melati", report.tracking_code,
                   "/foto/", "107.3", "-6.3"):
        assert secret not in page.text and secret not in listed.text, secret


def test_each_read_is_audited_with_ids_only(teams, sign_in):
    forwarded = teams.forward(teams.report())
    client = sign_in(teams.member)
    client.get("/tim-pora/laporan")
    client.get(f"/tim-pora/laporan/{forwarded.id}")
    [listing] = audited("partner.forwarded_list", teams.member)
    assert listing.object == f"office:{teams.karawang.id}" and listing.detail == {"page": 1, "count": 1}
    [view] = audited("partner.forwarded_view", teams.member)
    assert view.object == f"forwarded_report:{forwarded.id}" and view.detail == {"report": forwarded.report_id}


def test_another_teams_forwarded_report_is_not_found_and_the_attempt_audited(teams, sign_in):
    mine = teams.forward(teams.report())
    theirs = teams.forward(teams.report(office=teams.purwakarta), office=teams.purwakarta)
    # The same report forwarded to the Kanwil's team is not Karawang's team's either.
    kanwil_copy = teams.forward(teams.report(), office=teams.kanwil)
    client = sign_in(teams.member)
    listed = client.get("/tim-pora/laporan")
    assert f'data-forwarded-id="{mine.id}"' in listed.text
    assert f'data-forwarded-id="{theirs.id}"' not in listed.text
    assert f'data-forwarded-id="{kanwil_copy.id}"' not in listed.text
    for other in (theirs, kanwil_copy):
        assert client.get(f"/tim-pora/laporan/{other.id}").status_code == 404
    assert client.get("/tim-pora/laporan/999999999").status_code == 404
    refused = db.session.scalars(select(AuditEntry.object).where(
        AuditEntry.action == "access.refused", AuditEntry.actor_id == teams.member.id)).all()
    assert f"forwarded_report:{theirs.id}" in refused
    assert not audited("partner.forwarded_view", teams.member)


def test_the_team_follows_its_operations_and_their_results(teams, sign_in, english):
    forwarded = teams.forward(teams.report())
    done = JointOperation(office_id=teams.karawang.id, title="Operasi pabrik malam", state="done",
                          planned_on=local_today() - timedelta(days=2), result="Dua WNA diproses TAK.",
                          done_at=teams.make.report().created_at, agencies=[teams.polri])
    done.reports = [JointOperationReport(forwarded=forwarded, outcome="Dua WNA tanpa izin kerja.")]
    theirs = JointOperation(office_id=teams.purwakarta.id, title="Operasi Purwakarta",
                            planned_on=local_today(), agencies=[teams.satpol])
    db.session.add_all([done, theirs])
    db.session.flush()
    client = sign_in(teams.member)
    listed = client.get("/tim-pora/operasi")
    assert "Operasi pabrik malam" in listed.text and "Operasi Purwakarta" not in listed.text
    page = client.get(f"/tim-pora/operasi/{done.id}")
    assert page.status_code == 200
    assert "Dua WNA diproses TAK." in page.text and "Dua WNA tanpa izin kerja." in page.text
    assert f"/tim-pora/laporan/{forwarded.id}" in page.text and "Polres Karawang" in page.text
    assert client.get(f"/tim-pora/operasi/{theirs.id}").status_code == 404
    report_page = client.get(f"/tim-pora/laporan/{forwarded.id}")
    assert "Operasi pabrik malam" in report_page.text and "Dua WNA tanpa izin kerja." in report_page.text
    assert audited("partner.operation_view", teams.member)[0].detail == {"reports": 1}


@pytest.mark.parametrize("path", ["/laporan", "/tugas-saya", "/peta", "/ringkasan", "/pengawasan/tamu",
                                  "/kasus", "/admin/pengguna", "/tim-pora/kelola", "/ekspor"])
def test_a_member_reaches_nothing_else(teams, sign_in, path):
    client = sign_in(teams.member)
    assert client.get(path).status_code in (403, 404), path


def test_a_member_cannot_open_the_report_itself_nor_manage_the_team(teams, sign_in):
    report = teams.report()
    forwarded = teams.forward(report)
    client = sign_in(teams.member)
    assert client.get(f"/laporan/{report.id}").status_code == 404
    assert client.get(f"/laporan/cari?code={report.tracking_code}").status_code in (403, 404)
    assert client.get(f"/tim-pora/kelola/{teams.karawang.id}").status_code == 404
    assert client.post(f"/tim-pora/teruskan/{report.id}", data={"team": teams.karawang.id}).status_code == 404
    assert client.post(f"/tim-pora/instansi/{teams.polri.id}",
                       data={"email": "teman@polri.example", "name": "Teman"}).status_code == 404
    assert db.session.scalar(select(User).where(User.email == "teman@polri.example")) is None
    assert forwarded.office_id == teams.karawang.id


def test_staff_and_residents_get_no_team_pages(teams, make, sign_in):
    forwarded = teams.forward(teams.report())
    for user in (teams.supervisor, teams.officer, make.user("resident")):
        client = sign_in(user)
        assert client.get("/tim-pora/").status_code == 404
        assert client.get(f"/tim-pora/laporan/{forwarded.id}").status_code == 404
