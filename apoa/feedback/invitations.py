"""The invitation to rate the service (apoa/feedback/skm.py) that a WhatsApp reporter receives
with the message telling them their report is done (apoa/whatsapp/status.py): once per report,
only while it is closed and not yet rated. A report reopened and closed again is not invited a
second time. Kept apart from skm.py, which the workflow's import chain must not pull in."""
from datetime import datetime, timezone

from sqlalchemy import exists, select

from apoa.extensions import db
from apoa.feedback.models import RatingInvitation, ServiceRating
from apoa.reports.states import State


def to_invite(report):
    """Whether the reporter of `report` is to be invited now: closed, not rated, never invited."""
    if report.state != State.closed.value:
        return False
    rated = exists().where(ServiceRating.report_id == report.id)
    asked = exists().where(RatingInvitation.report_id == report.id)
    return not db.session.scalar(select(rated | asked))


def invited(report, now=None):
    """Record that the reporter of `report` was invited. Flushes, never commits."""
    db.session.add(RatingInvitation(report_id=report.id,
                                    invited_at=now or datetime.now(timezone.utc)))
    db.session.flush()
