"""The office's side of Tim PORA: a supervisor adds agencies and members to their office's team,
forwards reports from the report page, plans joint operations and records their results; a
supervisor of another office reaches none of it."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from apoa.audit.models import AuditEntry
from apoa.auth.models import User
from apoa.extensions import db
from apoa.partners.models import (ForwardedReport, JointOperation, OperationState, PartnerAgency,
                                  PartnerMember)
from apoa.periods import local_today
from apoa.regions.models import Region


def audited(action, obj=None):
    query = select(AuditEntry).where(AuditEntry.action == action)
    if obj is not None:
        query = query.where(AuditEntry.object == obj)
    return db.session.scalars(query.order_by(AuditEntry.seq)).all()


# --- agencies and members ------------------------------------------------------------------------

def test_a_supervisor_adds_an_agency_and_a_member_who_signs_in_with_a_second_factor(
        teams, sign_in, app, english):
    client = sign_in(teams.supervisor)
    added = client.post(f"/tim-pora/kelola/{teams.karawang.id}/instansi",
                        data={"kind": "bnn", "name": "BNN Kabupaten Karawang"})
    assert added.status_code == 303
    agency = db.session.scalar(select(PartnerAgency).where(PartnerAgency.name == "BNN Kabupaten Karawang"))
    assert agency.office_id == teams.karawang.id and agency.kind == "bnn" and agency.active
    assert audited("partner.agency_create", f"partner_agency:{agency.id}")[0].detail == {
        "office": teams.karawang.id, "kind": "bnn"}

    page = client.post(f"/tim-pora/instansi/{agency.id}", data={"email": "Andi@BNN.example", "name": "Andi"})
    assert page.status_code == 200 and 'id="first-password"' in page.text
    password = re.search(r'id="first-password">([^<]+)<', page.text).group(1)
    member = db.session.scalar(select(User).where(User.email == "andi@bnn.example"))
    assert member.role == "partner" and member.office_id == teams.karawang.id
    assert member.check_password(password)
    assert db.session.get(PartnerMember, member.id).agency_id == agency.id
    assert audited("partner.member_add", f"user:{member.id}")[0].detail == {"agency": agency.id}
    assert "andi" not in str(audited("user.create", f"user:{member.id}")[0].detail).lower()
    # Staff-like: the first sign-in asks for the authenticator app to be set up.
    first = app.test_client().post("/masuk", data={"email": member.email, "password": password})
    assert first.status_code == 302 and first.headers["Location"] == "/masuk/aktifkan-kode"
    listed = client.get(f"/tim-pora/kelola/{teams.karawang.id}")
    assert "BNN Kabupaten Karawang" in listed.text and "1 member" in listed.text


def test_bad_agency_and_member_input_is_explained(teams, sign_in, english):
    client = sign_in(teams.supervisor)
    url = f"/tim-pora/kelola/{teams.karawang.id}/instansi"
    empty = client.post(url, data={"kind": "polri", "name": " "})
    assert empty.status_code == 400 and "Write the agency" in empty.text
    unknown = client.post(url, data={"kind": "fbi", "name": "Biro"})
    assert unknown.status_code == 400 and "Not a valid choice" in unknown.text
    twice = client.post(url, data={"kind": "polri", "name": "polres karawang"})
    assert twice.status_code == 400 and "already has an agency of this name" in twice.text
    member_url = f"/tim-pora/instansi/{teams.polri.id}"
    taken = client.post(member_url, data={"email": teams.officer.email, "name": "Siapa"})
    assert taken.status_code == 400 and "already has an account" in taken.text
    assert teams.officer.role == "officer"
    bad_email = client.post(member_url, data={"email": "not-an-address", "name": "X"})
    assert bad_email.status_code == 400 and "Enter a valid email address." in bad_email.text
    no_name = client.post(member_url, data={"email": "baru@polri.example", "name": ""})
    assert no_name.status_code == 400 and "Write the member" in no_name.text


def test_a_deactivated_agency_takes_no_members_and_its_members_lose_access(teams, sign_in, english):
    partner_client = sign_in(teams.member)
    assert partner_client.get("/tim-pora/").status_code == 200
    client = sign_in(teams.supervisor)
    assert client.post(f"/tim-pora/instansi/{teams.polri.id}/nonaktifkan").status_code == 303
    db.session.expire_all()
    assert not teams.polri.active
    assert audited("partner.agency_deactivate")[0].detail == {"office": teams.karawang.id, "members": 1}
    # The member's session has ended; signing in again shows that the access is over.
    assert partner_client.get("/tim-pora/").status_code in (302, 401)
    again = sign_in(teams.member)
    home = again.get("/tim-pora/")
    assert home.status_code == 403 and "no longer takes part" in home.text
    assert again.get("/tim-pora/laporan").status_code == 403
    refused = client.post(f"/tim-pora/instansi/{teams.polri.id}", data={"email": "x@polri.example", "name": "X"})
    assert refused.status_code == 400 and db.session.scalar(
        select(User).where(User.email == "x@polri.example")) is None


# --- another office ------------------------------------------------------------------------------

def test_a_supervisor_of_another_office_cannot_manage_this_team(teams, sign_in):
    report = teams.report()
    forwarded = teams.forward(report)
    operation = JointOperation(office_id=teams.karawang.id, title="Operasi gabungan", planned_on=local_today(),
                               agencies=[teams.polri])
    db.session.add(operation)
    db.session.flush()
    client = sign_in(teams.other_supervisor)
    for url in (f"/tim-pora/kelola/{teams.karawang.id}", f"/tim-pora/instansi/{teams.polri.id}",
                f"/tim-pora/kelola/{teams.karawang.id}/operasi/baru", f"/tim-pora/kelola/operasi/{operation.id}"):
        assert client.get(url).status_code == 404, url
    for url, data in ((f"/tim-pora/kelola/{teams.karawang.id}/instansi", {"kind": "tni", "name": "Kodim"}),
                      (f"/tim-pora/instansi/{teams.polri.id}", {"email": "a@b.example", "name": "A"}),
                      (f"/tim-pora/instansi/{teams.polri.id}/nonaktifkan", {}),
                      (f"/tim-pora/teruskan/{report.id}", {"team": teams.karawang.id}),
                      (f"/tim-pora/kelola/operasi/{operation.id}/hasil", {"result": "Selesai."}),
                      (f"/tim-pora/kelola/operasi/{operation.id}/batal", {})):
        assert client.post(url, data=data).status_code == 404, url
    db.session.expire_all()
    assert teams.polri.active and operation.state == "planned"
    assert [f.id for f in db.session.scalars(select(ForwardedReport))] == [forwarded.id]
    assert audited("access.refused", f"office:{teams.karawang.id}")
    # Its own team is its own: the Purwakarta page lists only Purwakarta's agency.
    own = client.get("/tim-pora/kelola", follow_redirects=True)
    assert "Satpol PP Purwakarta" in own.text and "Polres Karawang" not in own.text


def test_the_kanwil_manages_the_teams_below_it_and_officers_manage_none(teams, sign_in):
    kanwil = sign_in(teams.kanwil_supervisor)
    chooser = kanwil.get("/tim-pora/kelola")
    assert "Kantor Imigrasi Karawang" in chooser.text and "Kantor Imigrasi Purwakarta" in chooser.text
    assert kanwil.get(f"/tim-pora/kelola/{teams.karawang.id}").status_code == 200
    officer = sign_in(teams.officer)
    assert officer.get("/tim-pora/kelola").status_code == 404
    assert officer.get(f"/tim-pora/kelola/{teams.karawang.id}").status_code == 404


# --- forwarding ----------------------------------------------------------------------------------

def test_a_report_is_forwarded_from_its_page_once(teams, sign_in, english):
    report = teams.report()
    client = sign_in(teams.supervisor)
    page = client.get(f"/laporan/{report.id}")
    assert 'id="pora"' in page.text and 'id="pora-forward"' in page.text
    # Karawang's team, and the Kanwil's has no agency: only Karawang is offered.
    assert "Kantor Imigrasi Karawang" in page.text
    sent = client.post(f"/tim-pora/teruskan/{report.id}",
                       data={"team": teams.karawang.id, "note": "Mohon dicek bersama Polres."})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/laporan/{report.id}#pora")
    forwarded = db.session.scalar(select(ForwardedReport).where(ForwardedReport.report_id == report.id))
    assert forwarded.office_id == teams.karawang.id and forwarded.note == "Mohon dicek bersama Polres."
    assert forwarded.forwarded_by_id == teams.supervisor.id
    assert audited("partner.forward", f"report:{report.id}")[0].detail == {
        "team": teams.karawang.id, "forwarded_report": forwarded.id}
    after = client.get(f"/laporan/{report.id}")
    assert "Forwarded to the team of Kantor Imigrasi Karawang" in after.text
    assert 'id="pora-forward"' not in after.text
    again = client.post(f"/tim-pora/teruskan/{report.id}", data={"team": teams.karawang.id},
                        follow_redirects=True)
    assert "already been forwarded to this team" in again.text
    assert db.session.scalar(select(func.count(ForwardedReport.id))) == 1
    other = teams.report()
    too_long = client.post(f"/tim-pora/teruskan/{other.id}", data={"team": teams.karawang.id, "note": "x" * 1001},
                           follow_redirects=True)
    assert "Write at most 1000 characters." in too_long.text and 'class="flash flash-error"' in too_long.text
    no_team = client.post(f"/tim-pora/teruskan/{other.id}", data={"team": "karawang"}, follow_redirects=True)
    assert "Not a valid choice" in no_team.text
    assert db.session.scalar(select(func.count(ForwardedReport.id))) == 1


def test_a_report_cannot_go_to_a_team_outside_its_area_and_officers_see_no_panel(teams, sign_in, english):
    purwakarta_report = teams.report(office=teams.purwakarta)
    kanwil = sign_in(teams.kanwil_supervisor)
    refused = kanwil.post(f"/tim-pora/teruskan/{purwakarta_report.id}", data={"team": teams.karawang.id},
                          follow_redirects=True)
    assert "Not a valid choice" in refused.text
    assert db.session.scalar(select(ForwardedReport)) is None
    officer = sign_in(teams.officer)
    report = teams.report()
    assert 'id="pora"' not in officer.get(f"/laporan/{report.id}").text
    assert officer.post(f"/tim-pora/teruskan/{report.id}", data={"team": teams.karawang.id}).status_code == 404


# --- joint operations ----------------------------------------------------------------------------

def test_an_operation_is_planned_and_its_result_recorded_against_the_forwarded_reports(teams, sign_in,
                                                                                      english):
    first, second = teams.forward(teams.report()), teams.forward(teams.report())
    kecamatan = db.session.scalar(select(Region.id).where(Region.level == "kecamatan", Region.parent_kode == "32.15")
                                  .order_by(Region.kode).limit(1))
    client = sign_in(teams.supervisor)
    form = client.get(f"/tim-pora/kelola/{teams.karawang.id}/operasi/baru")
    assert "Polres Karawang" in form.text and "Satpol PP Purwakarta" not in form.text
    yesterday = local_today() - timedelta(days=1)
    planned = client.post(f"/tim-pora/kelola/{teams.karawang.id}/operasi/baru", data={
        "title": "Operasi pabrik malam", "planned_on": yesterday.isoformat(), "kecamatan": kecamatan,
        "agencies": [teams.polri.id], "reports": [first.id, second.id]})
    assert planned.status_code == 303
    operation = db.session.scalar(select(JointOperation))
    assert operation.state == "planned" and operation.kecamatan_id == kecamatan
    assert [a.id for a in operation.agencies] == [teams.polri.id]
    assert sorted(link.forwarded_report_id for link in operation.reports) == [first.id, second.id]
    assert audited("partner.operation_plan")[0].detail == {"office": teams.karawang.id, "agencies": 1,
                                                           "reports": 2}
    url = f"/tim-pora/kelola/operasi/{operation.id}"
    missing = client.post(f"{url}/hasil", data={"result": ""})
    assert missing.status_code == 400 and "Write what the operation found or did." in missing.text
    done = client.post(f"{url}/hasil", data={"result": "Tiga WNA diperiksa, dua tanpa izin kerja.",
                                             f"outcome_{first.id}": "Dua WNA tanpa izin kerja, diproses TAK."})
    assert done.status_code == 303
    db.session.expire_all()
    assert operation.state == OperationState.done.value and operation.done_at is not None
    outcomes = {link.forwarded_report_id: link.outcome for link in operation.reports}
    assert outcomes == {first.id: "Dua WNA tanpa izin kerja, diproses TAK.", second.id: None}
    assert audited("partner.operation_done")[0].detail == {"office": teams.karawang.id, "reports": 2,
                                                           "outcomes": 1}
    page = client.get(url)
    assert "Tiga WNA diperiksa" in page.text and 'id="save-result"' not in page.text
    twice = client.post(f"{url}/hasil", data={"result": "Lagi."})
    assert twice.status_code == 409 and "no longer planned" in twice.text


def test_bad_plans_and_early_results_are_refused_with_reasons(teams, sign_in, english):
    other_team_report = teams.forward(teams.report(office=teams.purwakarta), office=teams.purwakarta)
    client = sign_in(teams.supervisor)
    url = f"/tim-pora/kelola/{teams.karawang.id}/operasi/baru"
    cases = (
        ({"title": "Op", "planned_on": "2026-01-01", "agencies": [teams.polri.id]}, "Write between 3 and 200"),
        ({"title": "Operasi", "planned_on": "kemarin", "agencies": [teams.polri.id]}, "Not a valid date value."),
        ({"title": "Operasi", "planned_on": "2026-01-01"}, "Choose at least one agency taking part."),
        ({"title": "Operasi", "planned_on": "2026-01-01", "agencies": [teams.satpol.id]},
         "Choose agencies that take part in the team."),
        ({"title": "Operasi", "planned_on": "2026-01-01", "agencies": [teams.polri.id],
          "reports": [other_team_report.id]}, "Choose reports forwarded to this team."),
        ({"title": "Operasi", "planned_on": "2026-01-01", "agencies": ["x"]},
         "Choose agencies that take part in the team."),
    )
    for data, message in cases:
        answer = client.post(url, data=data)
        assert answer.status_code == 400 and message in answer.text, (data, answer.text)
    assert db.session.scalar(select(JointOperation)) is None
    tomorrow = local_today() + timedelta(days=1)
    assert client.post(url, data={"title": "Operasi besok", "planned_on": tomorrow.isoformat(),
                                  "agencies": [teams.polri.id]}).status_code == 303
    operation = db.session.scalar(select(JointOperation))
    early = client.post(f"/tim-pora/kelola/operasi/{operation.id}/hasil", data={"result": "Selesai."})
    assert early.status_code == 400 and "planned for a later day" in early.text
    assert client.post(f"/tim-pora/kelola/operasi/{operation.id}/batal").status_code == 303
    db.session.expire_all()
    assert operation.state == "cancelled" and audited("partner.operation_cancel")
