"""Organisations that report foreign guests, their staff, the guests' stays and their corrections.

What is stored in the clear and what only encrypted (apoa/guests/passports.py):

- Encrypted (`stay.personal`, one Fernet token of a small JSON): surname, given names, sex, date
  of birth, passport number, permit number. These identify a person; nothing an officer filters
  on needs them, so they are read only through an audited reveal (or by the organisation that
  typed them in).
- A keyed hash (`stay.passport_hash`): the passport number's HMAC, for exact search and for
  following one foreigner across lodgings without storing the number readably.
- In the clear: what officers filter and count on, none of which names a person by itself:
  nationality, permit kind and expiry, passport expiry, arrival in Indonesia, check-in and
  check-out times, planned check-out, room, the late flag.

A stay copies its organisation's office and kabupaten when it is checked in: "guests present now
in an office's jurisdiction" is then one index range, with no join (an organisation's place is
fixed at registration). Stays are never deleted by the workflow: a wrong entry is cancelled with a
reason, and every change after check-in is a `stay_change` row.
"""
import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from geoalchemy2 import Geometry
from sqlalchemy import (CheckConstraint, Date, DateTime, ForeignKey, Index, LargeBinary, String,
                        Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class OrganisationKind(TitledEnum):
    lodging = "lodging"
    company = "company"
    host = "host"


titled(OrganisationKind, {OrganisationKind.lodging: _l("Lodging"),
                          OrganisationKind.company: _l("Company or sponsor"),
                          OrganisationKind.host: _l("Private host")})


class LodgingKind(TitledEnum):
    hotel = "hotel"
    guesthouse = "guesthouse"
    villa = "villa"
    kos = "kos"
    apartment = "apartment"
    other = "other"


titled(LodgingKind, {LodgingKind.hotel: _l("Hotel"), LodgingKind.guesthouse: _l("Guesthouse"),
                     LodgingKind.villa: _l("Villa"), LodgingKind.kos: _l("Boarding house (kos)"),
                     LodgingKind.apartment: _l("Apartment"),
                     LodgingKind.other: _l("Other lodging")})


class OrganisationState(TitledEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


titled(OrganisationState, {OrganisationState.pending: _l("Waiting for verification"),
                           OrganisationState.verified: _l("Verified"),
                           OrganisationState.rejected: _l("Rejected")})


class Sex(TitledEnum):
    """As printed in the passport's MRZ: M, F, or X where the passport leaves it unspecified."""

    male = "M"
    female = "F"
    unspecified = "X"


titled(Sex, {Sex.male: _l("Male"), Sex.female: _l("Female"), Sex.unspecified: _l("Unspecified")})


class PermitKind(TitledEnum):
    visit_visa = "visit_visa"
    visa_on_arrival = "visa_on_arrival"
    itas = "itas"
    itap = "itap"
    diplomatic = "diplomatic"
    other = "other"


titled(PermitKind, {PermitKind.visit_visa: _l("Visit visa"),
                    PermitKind.visa_on_arrival: _l("Visa on arrival"),
                    PermitKind.itas: _l("Limited stay permit (ITAS/KITAS)"),
                    PermitKind.itap: _l("Permanent stay permit (ITAP/KITAP)"),
                    PermitKind.diplomatic: _l("Diplomatic or service stay permit"),
                    PermitKind.other: _l("Other permit")})


class StayState(TitledEnum):
    present = "present"
    checked_out = "checked_out"
    cancelled = "cancelled"


titled(StayState, {StayState.present: _l("Staying"), StayState.checked_out: _l("Checked out"),
                   StayState.cancelled: _l("Cancelled")})


ORGANISATION_CHECKS = (
    (f"kind IN ({OrganisationKind.sql_list()})", "kind_known"),
    (f"state IN ({OrganisationState.sql_list()})", "state_known"),
    (f"lodging_kind IS NULL OR lodging_kind IN ({LodgingKind.sql_list()})", "lodging_kind_known"),
    # Only a lodging has a lodging kind, and every lodging has one.
    ("(kind = 'lodging') = (lodging_kind IS NOT NULL)", "lodging_kind_iff_lodging"),
    # A decided organisation says when; a rejection always says why.
    ("(state = 'pending') = (decided_at IS NULL)", "decided_iff_not_pending"),
    ("state <> 'rejected' OR decision_note IS NOT NULL", "rejection_has_note"),
    ("char_length(name) BETWEEN 2 AND 200", "name_length"),
)


class Organisation(db.Model):
    """A lodging, a company/sponsor or a private host that reports foreign guests. It issues
    receipts only once the office of its jurisdiction has verified it."""

    __tablename__ = "organisation"
    __table_args__ = (
        *(CheckConstraint(sql, name=name) for sql, name in ORGANISATION_CHECKS),
        Index("ix_organisation_location", "location", postgresql_using="gist"),
        # The office's list of organisations to verify, and of its organisations by state.
        Index("ix_organisation_office_state", "office_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    # The NIB (Nomor Induk Berusaha) or another business licence number; a private host has none.
    licence_no: Mapped[str | None] = mapped_column(String(40))
    lodging_kind: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    kab_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    kec_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    state: Mapped[str] = mapped_column(String(10), default=OrganisationState.pending.value)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    office = relationship("Office")
    kabupaten = relationship("Region", foreign_keys=[kab_id])
    members = relationship("OrganisationMember", back_populates="organisation")

    @property
    def is_verified(self):
        return self.state == OrganisationState.verified.value

    def __repr__(self):
        return f"<Organisation {self.id} {self.kind} {self.state}>"


class OrganisationMember(db.Model):
    """A user who reports guests for an organisation; the person in charge signed it up."""

    __tablename__ = "organisation_member"
    __table_args__ = (Index("ix_organisation_member_user_id", "user_id"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    is_person_in_charge: Mapped[bool] = mapped_column(default=False, server_default="false")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation = relationship(Organisation, back_populates="members")
    user = relationship("User")


STAY_CHECKS = (
    (f"state IN ({StayState.sql_list()})", "state_known"),
    (f"permit_kind IN ({PermitKind.sql_list()})", "permit_kind_known"),
    # ICAO codes as printed in passports: three letters, or fewer for a few (D for Germany).
    ("nationality ~ '^[A-Z]{1,3}$'", "nationality_format"),
    ("passport_hash ~ '^[0-9a-f]{64}$'", "passport_hash_hex"),
    # A guest still staying has not checked out; one who checked out says when.
    ("state <> 'present' OR checked_out_at IS NULL", "present_not_checked_out"),
    ("state <> 'checked_out' OR checked_out_at IS NOT NULL", "checked_out_has_time"),
    ("checked_out_at IS NULL OR checked_out_at >= checked_in_at", "check_out_after_check_in"),
    ("(state = 'cancelled') = (cancel_reason IS NOT NULL)", "cancel_reason_iff_cancelled"),
    ("planned_check_out IS NULL OR planned_check_out >= arrived_in_indonesia",
     "planned_check_out_after_arrival"),
)


class Stay(db.Model):
    """One foreign guest's stay at one organisation, from check-in to check-out, with its
    STTPOA receipt number."""

    __tablename__ = "stay"
    __table_args__ = (
        *(CheckConstraint(sql, name=name) for sql, name in STAY_CHECKS),
        # Guests present now in an office's jurisdiction, in check-in order (an office's list);
        # the included columns answer the counts per nationality and organisation, the map layer
        # and the leads' choice of stays by index-only scans (apoa/guests/queries.py, leads.py).
        Index("ix_stay_office_present", "office_id", "checked_in_at",
              postgresql_include=["id", "organisation_id", "nationality", "planned_check_out",
                                  "permit_expiry"],
              postgresql_where=text("state = 'present'")),
        # The whole country's guests present now, newest first: the Ditjen's first page is the
        # first entries of this index.
        Index("ix_stay_present_checked_in", text("checked_in_at DESC"), text("id DESC"),
              postgresql_where=text("state = 'present'")),
        # Guests present at a past moment: those checked out after it (and one probe of "any
        # check-out after now?", see queries.present_at).
        Index("ix_stay_checked_out", "checked_out_at",
              postgresql_where=text("state = 'checked_out'")),
        # The check-ins of the last days in the whole country, index-only: the hopping leads
        # (passport and organisation) and the late check-ins per organisation.
        Index("ix_stay_checked_in", "checked_in_at",
              postgresql_include=["office_id", "organisation_id", "passport_hash", "late"],
              postgresql_where=text("state <> 'cancelled'")),
        # Guests present on a past date, per office.
        Index("ix_stay_office_checked_in", "office_id", "checked_in_at"),
        Index("ix_stay_organisation_checked_in", "organisation_id", "checked_in_at"),
        Index("ix_stay_passport_hash", "passport_hash"),
        Index("ix_stay_group_id", "group_id", postgresql_where=text("group_id IS NOT NULL")),
        # The same guest checked in twice at the same instant is a duplicate (a double submit, a
        # re-uploaded file); a cancelled entry does not stand in the way of entering it again.
        Index("uq_stay_guest_check_in", "organisation_id", "passport_hash", "checked_in_at",
              unique=True, postgresql_where=text("state <> 'cancelled'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    kab_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    sttpoa_no: Mapped[str] = mapped_column(String(60), unique=True)
    # Guests checked in together (a family, a tour group) share a group id.
    group_id: Mapped[uuid.UUID | None]
    personal: Mapped[bytes] = mapped_column(LargeBinary)
    passport_hash: Mapped[str] = mapped_column(String(64))
    nationality: Mapped[str] = mapped_column(String(3))
    passport_expiry: Mapped[date] = mapped_column(Date)
    permit_kind: Mapped[str] = mapped_column(String(20))
    permit_expiry: Mapped[date | None] = mapped_column(Date)
    arrived_in_indonesia: Mapped[date] = mapped_column(Date)
    checked_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_check_out: Mapped[date | None] = mapped_column(Date)
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    room: Mapped[str | None] = mapped_column(String(20))
    # When the check-in reached APOA: the deadline is measured against it (apoa/guests/services.py
    # is_late).
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(default=False, server_default="false")
    state: Mapped[str] = mapped_column(String(20), default=StayState.present.value)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))

    organisation = relationship(Organisation)
    changes = relationship("StayChange", back_populates="stay", order_by="StayChange.id")

    def __repr__(self):
        return f"<Stay {self.id} {self.state}>"


class StayChange(db.Model):
    """One change to a stay after its check-in: a correction, the check-out, the cancellation.
    Rows are only ever added. A change to a personal field keeps its old and new values only
    encrypted, in `sealed`; other fields keep them as text."""

    __tablename__ = "stay_change"
    __table_args__ = (
        CheckConstraint("sealed IS NULL OR (old_value IS NULL AND new_value IS NULL)",
                        name="personal_values_sealed"),
        Index("ix_stay_change_stay_id_id", "stay_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason: Mapped[str | None] = mapped_column(Text)

    stay = relationship(Stay, back_populates="changes")
    actor = relationship("User")


class SttpoaCounter(db.Model):
    """The last receipt number given per prefix (the office's code) and year."""

    __tablename__ = "sttpoa_counter"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class StayDocument(db.Model):
    """A photo of the guest's passport data page: re-encoded without metadata like report photos
    (apoa/reports/photos.py), then kept only encrypted (a Fernet token of the JPEG). The office's
    officers see it; the organisation attached it."""

    __tablename__ = "stay_document"

    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"),
                                         primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UploadState(TitledEnum):
    checking = "checking"      # the job reads and checks every row
    checked = "checked"        # the preview: rows and their problems, waiting for the operator
    committing = "committing"  # the job checks the guests in, all or nothing
    done = "done"
    failed = "failed"          # the file could not be read, or the commit failed: nothing kept


titled(UploadState, {UploadState.checking: _l("Checking the rows"),
                     UploadState.checked: _l("Checked: waiting for your confirmation"),
                     UploadState.committing: _l("Registering the guests"),
                     UploadState.done: _l("Done"), UploadState.failed: _l("Failed")})


class GuestUpload(db.Model):
    """A bulk file of check-ins from a lodging's property-management system, from upload through
    the checked preview to the commit. The rows are kept only encrypted (`sealed`) and only until
    the upload is done or abandoned; `problems` names rows and fields, never a guest's data."""

    __tablename__ = "guest_upload"
    __table_args__ = (
        CheckConstraint(f"state IN ({UploadState.sql_list()})", name="state_known"),
        CheckConstraint("rows_done <= rows_total", name="progress_within_total"),
        Index("ix_guest_upload_organisation_created", "organisation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(4))
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(12), default=UploadState.checking.value)
    rows_total: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_done: Mapped[int] = mapped_column(default=0, server_default="0")
    problems: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    created_count: Mapped[int] = mapped_column(default=0, server_default="0")
    existing_count: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

    organisation = relationship(Organisation)


class GuestTally(db.Model):
    """Anonymous counts kept when the retention job deletes old stays: check-ins and guest
    nights per day (in Jakarta), kabupaten/kota and nationality. The heads' figures add these to
    the stays still kept, so deleting personal data does not change a past month's totals."""

    __tablename__ = "guest_tally"
    __table_args__ = (
        CheckConstraint("check_ins >= 0 AND guest_nights >= 0", name="counts_non_negative"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kab_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"),
                                        primary_key=True)
    nationality: Mapped[str] = mapped_column(String(3), primary_key=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    check_ins: Mapped[int] = mapped_column(default=0)
    guest_nights: Mapped[int] = mapped_column(default=0)
