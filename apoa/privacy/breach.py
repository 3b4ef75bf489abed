"""Breach support (UU PDP 27/2022 Pasal 46): whose data a breach may have reached, by which
channel each can be told, and the 3×24-hour deadline from its discovery.

The admin gives the window in which the breach may have happened, when it was discovered, and the
data sets it may have reached. What counts as reached (`Scope`):

- `held`: everything stored during the window (a copy of the database, a stolen backup): every
  row made up to the window's end that still exists;
- `received`: only what came in during the window (an intercepted form or channel): rows made
  between its start and its end, both included.

Rows deleted since (retention, erasure) cannot be listed any more; their retention audit entries
give their number. People are counted once per group even if several rows hold their data:
reporters by account or by their contact, WhatsApp users by the number's keyed hash, guests by
the passport's keyed hash. Contacts are decrypted only to tell e-mail from telephone and to count
a person once; the assessment keeps counts only and its audit entry holds nothing else.
"""
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from apoa.audit.services import record
from apoa.auth.models import Role, User
from apoa.core.vocabulary import TitledEnum, titled
from apoa.errors import UserValueError
from apoa.extensions import db
from apoa.feedback.models import ServiceCase, ServiceRating
from apoa.guests.models import Stay, StayDocument
from apoa.reports.contact import _decrypt
from apoa.reports.models import Attachment, Report
from apoa.whatsapp.models import Conversation, Inbound, Outbound

# Pasal 46(1): the written notice within 3 × 24 hours.
NOTICE_DEADLINE = timedelta(hours=72)
# A discovery typed a little ahead of the server's clock is a clock difference, not the future.
CLOCK_SKEW = timedelta(minutes=5)
NOTICE_TIME_ZONE = ZoneInfo("Asia/Jakarta")


class Scope(TitledEnum):
    held = "held"
    received = "received"


titled(Scope, {Scope.held: _l("Everything stored during the window (e.g. a copy of the database)"),
               Scope.received: _l("Only what came in during the window (e.g. an intercepted form "
                                  "or channel)")})


class Reach(TitledEnum):
    """How a person whose data may be affected can be told."""

    email = "email"
    whatsapp = "whatsapp"
    phone = "phone"
    organisation = "organisation"
    public_notice = "public_notice"


titled(Reach, {Reach.email: _l("E-mail"), Reach.whatsapp: _l("WhatsApp"),
               Reach.phone: _l("Telephone or SMS"),
               Reach.organisation: _l("Through their lodging or sponsor"),
               Reach.public_notice: _l("Only by public notice")})


class Group(TitledEnum):
    """Whose data."""

    reporters = "reporters"
    reported = "reported"
    whatsapp_users = "whatsapp_users"
    guests = "guests"
    staff = "staff"
    residents = "residents"
    lodging_staff = "lodging_staff"
    complainants = "complainants"


titled(Group, {Group.reporters: _l("Reporters"),
               Group.reported: _l("Foreigners reported (not identified; one per report or photo)"),
               Group.whatsapp_users: _l("WhatsApp users"), Group.guests: _l("Foreign guests"),
               Group.staff: _l("Staff and partner members"),
               Group.residents: _l("Resident accounts"),
               Group.lodging_staff: _l("Staff of lodgings and sponsors"),
               Group.complainants: _l("Residents who complained or asked")})


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    discovered: datetime
    scope: Scope = Scope.held

    def covers(self, column):
        """SQL: `column` (a creation time) falls in what the scope counts as reached."""
        if self.scope is Scope.received:
            return column.between(self.start, self.end)
        return column <= self.end


def check_window(start, end, discovered, now=None):
    """Raise UserValueError unless the times make sense: the window runs forwards, the breach
    was discovered after it began, and nothing lies in the future."""
    now = now or datetime.now(timezone.utc)
    if end < start:
        raise UserValueError(_("The end of the window must not be before its start."))
    if discovered < start:
        raise UserValueError(_("The breach cannot have been discovered before the window starts."))
    if max(end, discovered) > now + CLOCK_SKEW:
        raise UserValueError(_("The window and the discovery cannot lie in the future."))


# --- who is reached, person by person (only hashes and counts leave these functions) -----------

class Tally:
    """Per data set, the people of each group and reach, each known by a hashed key."""

    def __init__(self):
        self.people = defaultdict(set)

    def add(self, group, reach, key):
        self.people[(group, reach)].add(hashlib.sha256(repr(key).encode()).hexdigest())

    def counts(self):
        return {pair: len(keys) for pair, keys in self.people.items()}


def _contact_reach(token, owner_id, channel):
    """(reach, key) of an encrypted contact, or None if it holds no way to reach anyone."""
    contact = _decrypt(token, owner_id)
    if contact.email:
        return Reach.email, ("email", contact.email.strip().lower())
    if contact.phone:
        reach = Reach.whatsapp if channel == "whatsapp" else Reach.phone
        return reach, ("phone", "".join(ch for ch in contact.phone if ch.isdigit()))
    return None


def _add_reporter(tally, report_id, reporter_id, channel, contact):
    found = _contact_reach(contact, report_id, channel) if contact is not None else None
    if reporter_id is not None:
        # One person however many reports: known by the account, told as their contact says.
        tally.add(Group.reporters, found[0] if found else Reach.email, ("user", reporter_id))
    elif found:
        tally.add(Group.reporters, *found)
    else:
        tally.add(Group.reporters, Reach.public_notice, ("report", report_id))


REPORTER_COLUMNS = (Report.id, Report.reporter_id, Report.channel, Report.contact)


def _reporters(tally, query):
    """Add the reporters of the reports `query` selects (REPORTER_COLUMNS); returns their ids."""
    rows = db.session.execute(query).all()
    for row in rows:
        _add_reporter(tally, row.id, row.reporter_id, row.channel, row.contact)
    return [row.id for row in rows]


def count_reports(window, tally):
    report_ids = _reporters(tally, select(*REPORTER_COLUMNS)
                            .where(window.covers(Report.created_at)))
    for report_id in report_ids:
        tally.add(Group.reported, Reach.public_notice, ("report", report_id))
    return {"reports": len(report_ids)}


def count_contacts(window, tally):
    query = select(*REPORTER_COLUMNS).where(Report.contact.is_not(None),
                                            window.covers(Report.created_at))
    return {"contacts": len(_reporters(tally, query))}


def count_photos(window, tally):
    photos = db.session.execute(select(Attachment.id, Attachment.report_id)
                                .where(window.covers(Attachment.created_at))).all()
    for photo in photos:
        tally.add(Group.reported, Reach.public_notice, ("photo", photo.id))
    report_ids = {photo.report_id for photo in photos}
    _reporters(tally, select(*REPORTER_COLUMNS).where(Report.id.in_(report_ids)))
    return {"photos": len(photos), "reports": len(report_ids)}


def count_whatsapp(window, tally):
    conversations = select(Conversation.sender_hash)
    if window.scope is Scope.received:
        # A conversation keeps no creation time: its last message says it was active.
        conversations = conversations.where(window.covers(Conversation.last_inbound_at))
    numbers = conversations.union(
        select(Outbound.to_hash).where(window.covers(Outbound.created_at)),
        select(Inbound.sender_hash).where(window.covers(Inbound.received_at)))
    hashes = db.session.scalars(numbers).all()
    for number_hash in hashes:
        tally.add(Group.whatsapp_users, Reach.whatsapp, ("wa", number_hash))
    return {"numbers": len(hashes)}


def count_guests(window, tally):
    # A cancelled entry counts too: it still holds the (encrypted) data that was typed.
    stays = db.session.execute(select(Stay.id, Stay.passport_hash, Stay.organisation_id)
                               .where(window.covers(Stay.reported_at))).all()
    for stay in stays:
        tally.add(Group.guests, Reach.organisation, ("passport", stay.passport_hash))
    documents = db.session.scalar(
        select(func.count()).select_from(StayDocument)
        .where(StayDocument.stay_id.in_([stay.id for stay in stays])))
    return {"stays": len(stays), "passport_photos": documents,
            "organisations": len({stay.organisation_id for stay in stays})}


ACCOUNT_GROUPS = {Role.resident: Group.residents, Role.lodging: Group.lodging_staff}


def count_accounts(window, tally):
    users = db.session.execute(select(User.id, User.role)
                               .where(window.covers(User.created_at))).all()
    for user in users:
        group = ACCOUNT_GROUPS.get(Role(user.role), Group.staff)
        tally.add(group, Reach.email, ("user", user.id))
    return {"accounts": len(users)}


def count_cases(window, tally):
    cases = db.session.execute(select(ServiceCase.id, ServiceCase.channel, ServiceCase.contact)
                               .where(window.covers(ServiceCase.created_at))).all()
    for case in cases:
        found = (_contact_reach(case.contact, case.id, case.channel)
                 if case.contact is not None else None)
        if found:
            tally.add(Group.complainants, *found)
        else:
            tally.add(Group.complainants, Reach.public_notice, ("case", case.id))
    return {"cases": len(cases)}


def count_ratings(window, tally):
    rated = select(ServiceRating.report_id).where(window.covers(ServiceRating.rated_at))
    report_ids = db.session.scalars(rated).all()
    _reporters(tally, select(*REPORTER_COLUMNS).where(Report.id.in_(report_ids)))
    return {"ratings": len(report_ids)}


@dataclass(frozen=True)
class DataSet:
    key: str
    title: object
    count: object
    # How the notice names the data: always in Indonesian, whatever the admin's interface
    # language, because the notice goes to the public (Pasal 46(2)(a): the data disclosed).
    notice_text: str


DATA_SETS = {data_set.key: data_set for data_set in (
    DataSet("reports", _l("Reports: description, place and time"), count_reports,
            "isi laporan (uraian, lokasi dan waktu kejadian)"),
    DataSet("contacts", _l("Reporters' contact details"), count_contacts,
            "data kontak pelapor (nama, nomor telepon/WhatsApp, alamat e-mail)"),
    DataSet("photos", _l("Photos attached to reports"), count_photos,
            "foto yang dilampirkan pada laporan"),
    DataSet("whatsapp", _l("WhatsApp numbers and conversations"), count_whatsapp,
            "nomor WhatsApp dan isi percakapan dengan layanan APOA"),
    DataSet("guests", _l("Foreign guests' data and passport photos"), count_guests,
            "data tamu warga negara asing (nama, tanggal lahir, nomor paspor dan izin tinggal, "
            "foto halaman data paspor)"),
    DataSet("accounts", _l("User accounts (staff, residents, lodgings)"), count_accounts,
            "data akun pengguna (nama, alamat e-mail, kata sandi dalam bentuk hash)"),
    DataSet("cases", _l("Complaints and questions"), count_cases,
            "pengaduan dan pertanyaan tentang layanan beserta nomor untuk menjawabnya"),
    DataSet("ratings", _l("Service ratings and comments"), count_ratings,
            "penilaian layanan (SKM) dan komentarnya"),
)}


def data_set_choices():
    return [(data_set.key, data_set.title) for data_set in DATA_SETS.values()]


def check_data_sets(keys):
    """The data sets named by `keys`, in the table's order; UserValueError for none or an
    unknown one."""
    unknown = [key for key in keys if key not in DATA_SETS]
    if unknown:
        raise UserValueError(_("Unknown data set: %(names)s.", names=", ".join(unknown)))
    if not keys:
        raise UserValueError(_("Choose at least one data set."))
    return [data_set for key, data_set in DATA_SETS.items() if key in keys]


# --- the assessment ------------------------------------------------------------------------------

@dataclass
class DataSetResult:
    data_set: DataSet
    rows: dict
    people: dict          # {(Group, Reach): count}


@dataclass
class Assessment:
    window: Window
    results: list
    totals: dict          # {(Group, Reach): count}, each person once across the data sets
    assessed_at: datetime
    notice_data: list = field(default_factory=list)

    @property
    def deadline(self):
        return self.window.discovered + NOTICE_DEADLINE

    @property
    def time_left(self):
        """Time until the deadline at the assessment (negative once it has passed)."""
        return self.deadline - self.assessed_at

    @property
    def overdue(self):
        return self.time_left <= timedelta(0)

    def by_reach(self):
        """{Reach: people} over every group: how many to tell by each channel."""
        reaches = defaultdict(int)
        for (_group, reach), count in self.totals.items():
            reaches[reach] += count
        return dict(reaches)


def notice_time(moment):
    """A time as the Indonesian notice writes it: "18 November 2026 10.00" (Jakarta)."""
    return format_datetime(moment, "d MMMM yyyy HH.mm", tzinfo=NOTICE_TIME_ZONE, locale="id")


def assess(window, keys, actor, now=None):
    """Count whose data the breach may have reached, per data set and channel; write one
    "privacy.breach_assessed" audit entry with the window and the counts. Flushes only."""
    now = now or datetime.now(timezone.utc)
    check_window(window.start, window.end, window.discovered, now)
    data_sets = check_data_sets(keys)
    overall = Tally()
    results = [_assess_one(data_set, window, overall) for data_set in data_sets]
    assessment = Assessment(window=window, results=results, totals=overall.counts(),
                            assessed_at=now,
                            notice_data=[data_set.notice_text for data_set in data_sets])
    record("privacy.breach_assessed", None, _audit_detail(assessment), actor=actor)
    return assessment


def _assess_one(data_set, window, overall):
    tally = Tally()
    rows = data_set.count(window, tally)
    for pair, keys in tally.people.items():
        overall.people[pair] |= keys
    return DataSetResult(data_set=data_set, rows=rows, people=tally.counts())


def _audit_detail(assessment):
    window = assessment.window
    return {"from": window.start.isoformat(), "to": window.end.isoformat(),
            "discovered": window.discovered.isoformat(), "scope": window.scope.value,
            "data_sets": {result.data_set.key: result.rows for result in assessment.results},
            "people": {f"{group.value}/{reach.value}": count
                       for (group, reach), count in sorted(assessment.totals.items())}}
