"""README's example client (examples/apoa_client.py) run as written against a live server: it
submits a report through the JSON API, resends it with the same Idempotency-Key, follows the status
and adds a follow-up."""
import subprocess
import sys

from sqlalchemy import func, select

from apoa.extensions import db
from apoa.reports.models import Report, ReportEvent
from tests.browser.conftest import REPO_ROOT


def test_the_readme_client_example_submits_once_and_follows_the_status(live):
    with live.app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Report).where(Report.channel == "api"))
    run = subprocess.run([sys.executable, "examples/apoa_client.py", live.url], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Tracking code:" in run.stdout and "Follow-up sent; follow-ups now: 1" in run.stdout
    code = run.stdout.split("Tracking code:", 1)[1].split()[0].replace("-", "")
    with live.app.app_context():
        reports = db.session.scalars(select(Report).where(Report.channel == "api")).all()
        assert len(reports) == before + 1
        [report] = [r for r in reports if r.tracking_code == code]
        actions = db.session.scalars(select(ReportEvent.action).where(ReportEvent.report_id == report.id)).all()
        assert actions == ["submit", "follow_up"]
        db.session.remove()
