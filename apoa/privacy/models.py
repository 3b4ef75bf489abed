"""Data-subject requests under UU PDP 27/2022: a reporter asking to see, correct or erase their
personal data, or someone who believes they were reported asking about it.

A request is answered within 3 × 24 hours of its arrival (`due_at`, held equal to `received_at`
+ 72 hours by a CHECK constraint). What the requester wrote, and for a reported person who they
are, is kept only encrypted (`details`, under the contact keys of apoa/reports/contact.py). The
export that answers a request to see is kept encrypted too, and only until `export_expires_at`.
"""
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db

ANSWER_WITHIN = timedelta(hours=72)  # UU PDP 27/2022: 3 × 24 hours


class RequestKind(TitledEnum):
    access = "access"          # see my data (an export)
    correction = "correction"  # correct my data
    erasure = "erasure"        # erase my data


class Subject(TitledEnum):
    reporter = "reporter"                # the requester made reports (the admin answers)
    reported_person = "reported_person"  # the requester believes they were reported (a supervisor)


class Via(TitledEnum):
    account = "account"              # signed in: the account and its reports
    tracking_code = "tracking_code"  # one report, proven by its code and the contact given on it
    form = "form"                    # a reported person: name and contact typed on the form


class RequestState(TitledEnum):
    received = "received"
    done = "done"
    partly_done = "partly_done"
    refused = "refused"


titled(RequestKind, {RequestKind.access: _l("See my data"),
                     RequestKind.correction: _l("Correct my data"),
                     RequestKind.erasure: _l("Erase my data")})
titled(Subject, {Subject.reporter: _l("A reporter's own data"),
                 Subject.reported_person: _l("A person who believes they were reported")})
titled(Via, {Via.account: _l("Signed-in account"), Via.tracking_code: _l("Tracking code"),
             Via.form: _l("Form")})
titled(RequestState, {RequestState.received: _l("Received"), RequestState.done: _l("Done"),
                      RequestState.partly_done: _l("Partly granted"),
                      RequestState.refused: _l("Refused")})

ANSWERED_STATES = (RequestState.done, RequestState.partly_done, RequestState.refused)


class SubjectRequest(db.Model):
    __tablename__ = "subject_request"
    __table_args__ = (
        CheckConstraint(f"kind IN ({RequestKind.sql_list()})", name="kind_known"),
        CheckConstraint(f"subject IN ({Subject.sql_list()})", name="subject_known"),
        CheckConstraint(f"via IN ({Via.sql_list()})", name="via_known"),
        CheckConstraint(f"state IN ({RequestState.sql_list()})", name="state_known"),
        CheckConstraint("due_at = received_at + interval '72 hours'", name="due_in_72_hours"),
        CheckConstraint("(state = 'received') = (answered_at IS NULL)",
                        name="answered_iff_not_open"),
        # A refusal or a partial answer says why; the requester reads it.
        CheckConstraint("state NOT IN ('refused', 'partly_done') OR answer IS NOT NULL",
                        name="reason_when_not_granted"),
        # Requests about a reported person name the kabupaten/kota that routes them to an office.
        CheckConstraint("(subject = 'reported_person') = (via = 'form')", name="form_iff_reported"),
        CheckConstraint("via <> 'form' OR kab_id IS NOT NULL", name="form_names_region"),
        # Without an account, the requester comes back with the reference and its secret.
        CheckConstraint("via = 'account' OR secret_hash IS NOT NULL",
                        name="secret_without_account"),
        CheckConstraint("export_data IS NULL OR "
                        "(kind = 'access' AND export_expires_at IS NOT NULL)",
                        name="export_for_access"),
        Index("ix_subject_request_open_due", "due_at", postgresql_where=text("state = 'received'")),
        Index("ix_subject_request_user_id", "user_id"),
        Index("ix_subject_request_office_id", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # sha256-HMAC of the secret given once to a requester without an account (never the secret).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    subject: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default=RequestState.received.value,
                                       server_default=RequestState.received.value)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    kab_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    # What the requester wrote (and a reported person's name and contact): encrypted JSON.
    details: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    # What the requester reads: why a request was refused or granted in part.
    answer: Mapped[str | None] = mapped_column(Text)
    # The ZIP that answers a request to see, encrypted, until it expires.
    export_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    export_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User", foreign_keys=[user_id])
    report = relationship("Report")
    kabupaten = relationship("Region")
    office = relationship("Office")
    answered_by = relationship("User", foreign_keys=[answered_by_id])

    @property
    def kind_enum(self):
        return RequestKind(self.kind)

    @property
    def state_enum(self):
        return RequestState(self.state)

    @property
    def subject_enum(self):
        return Subject(self.subject)

    @property
    def via_enum(self):
        return Via(self.via)

    @property
    def is_open(self):
        return self.state == RequestState.received.value

    def __repr__(self):
        return f"<SubjectRequest {self.id} {self.kind} {self.state}>"
