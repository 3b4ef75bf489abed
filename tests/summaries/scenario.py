"""A small world of reports with known histories, for figures computed by hand.

Two Kantor Imigrasi under KANWIL-A (KANIM-A: Karawang 32.15, KANIM-B: Bekasi 32.16) and KANIM-X
under another Kanwil (Ketapang 61.04). Times are local (WIB) around M, the Monday of the week of
`today` (the `clock` fixture's: "now" decides what is open and overdue, so it is never the real
date); the period looked at is the two weeks before it, [M-14, M), compared with [M-28, M-14).

    report  office  created        history (hours after creation)                       now
    r1      A       M-14 09:00     screen 3h, assign 4h (due 60h), field 45h,            closed, violation_found
            web     illegal_work   finding 48h, approve 50h  — every step on time
    r2      A       M-13 10:00     screen 30h (late: due after 1 working day),           closed, unfounded
            whatsapp overstay      dismiss 31h, approve 72h
    r3      A       M-12 08:00     screen 1h, assign 2h to officer                       assigned, overdue
            web     illegal_work
    r4      A       M-20 09:00     screen 2h, assign 3h (due M-12 12:00), field M-13,    closed, not_found
            web     overstay       finding M-12 08:00, approve M-12 09:00 (on time only
                                   thanks to the due typed at assignment)
    r5      A       M-25 09:00     —                                                     new
            android overstay
    r6      B       M-11 11:00     —                                                     new
            web     other
    r7      X       M-10 09:00     —                                                     new

Hand-computed for the KANWIL-A jurisdiction and the period [M-14, M):
received 4 (r1 r2 r3 r6), previous period 2 (r4 r5), change +100 %; screened 3 (r1 r2 r3), 2 of
them within due time; closed 3 (r1 violation_found, r2 unfounded, r4 not_found), 2 within due time
(r1, r4); median time to screening: durations 3 h, 30 h, 1 h fall in the buckets [2,4), [24,48),
[1,2) → the middle one is [2,4), interpolated at half of it: 3.0 h; median time to closure:
50 h [48,72), 72 h [72,120), 192 h [168,336) → [72,120) at half: 96 h; now: awaiting screening
r5 r6 (2), in progress r3 (1), overdue r3 (1), officer's workload: 1 open, 1 overdue.
"""
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from apoa.extensions import db
from apoa.reports.models import Category, ReportEvent

WIB = timezone(timedelta(hours=7))
KARAWANG = (107.30, -6.30)
KARAWANG_2 = (107.31, -6.31)
BEKASI = (107.15, -6.30)
KETAPANG = (110.46, -1.67)


def at(day, hour, minute=0):
    """A local (WIB) day and time as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), WIB).astimezone(timezone.utc)


def category_id(code):
    return db.session.scalar(select(Category.id).where(Category.code == code))


def with_history(make, point, created, steps, category="other", channel="web", **final):
    """A report created at `created`, with `steps` [(action, from_state, to_state, at, detail)]
    after its submission, and the columns of its final state set in `final`."""
    report = make.report(point=point, category_code=category, channel=channel, created_at=created,
                         due_at=final.pop("due_at", None))
    submit = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id))
    submit.created_at = created
    for action, from_state, to_state, moment, detail in steps:
        db.session.add(ReportEvent(report_id=report.id, action=action, from_state=from_state, to_state=to_state,
                                   created_at=moment, detail=detail))
    for column, value in final.items():
        setattr(report, column, value)
    db.session.flush()
    return report


class Scenario:
    def __init__(self, make, today):
        self.make = make
        self.today = today
        self.kanwil = make.office(kind="kanwil", code="KANWIL-A")
        self.office_a = make.office(parent=self.kanwil, code="KANIM-A", regions=["32.15"])
        self.office_b = make.office(parent=self.kanwil, code="KANIM-B", regions=["32.16"])
        self.office_x = make.office(code="KANIM-X", regions=["61.04"])
        self.users = {
            "officer": make.user("officer", self.office_a, name="Budi Petugas"),
            "supervisor_a": make.user("supervisor", self.office_a),
            "kanwil_supervisor": make.user("supervisor", self.kanwil),
            "regional_head": make.user("regional_head", self.kanwil),
            "ditjen_head": make.user("regional_head", self.kanwil.parent),
            "foreign_head": make.user("regional_head", self.office_x.parent),
            "admin": make.user("admin"),
            "resident": make.user("resident"),
        }
        self.monday = today - timedelta(days=today.weekday())
        self.reports = self._reports()

    def day(self, offset):
        return self.monday + timedelta(days=offset)

    @property
    def period(self):
        from apoa.periods import Period

        return Period(self.day(-14), self.monday)

    def _reports(self):
        make, d, h = self.make, self.day, timedelta(hours=1)
        officer = self.users["officer"]
        r1_at = at(d(-14), 9)
        r2_at = at(d(-13), 10)
        r3_at = at(d(-12), 8)
        r4_at = at(d(-20), 9)
        return {
            "r1": with_history(make, KARAWANG, r1_at, [
                ("screen", "new", "screening", r1_at + 3 * h, None),
                ("assign", "screening", "assigned", r1_at + 4 * h,
                 {"assignee": officer.id, "due": (r1_at + 60 * h).isoformat()}),
                ("start_field_check", "assigned", "in_field", r1_at + 45 * h, None),
                ("record_finding", "in_field", "pending_approval", r1_at + 48 * h, {"outcome": "violation_found"}),
                ("approve", "pending_approval", "closed", r1_at + 50 * h, None),
            ], category="illegal_work", state="closed", outcome="violation_found", action_taken="administrative"),
            "r2": with_history(make, KARAWANG_2, r2_at, [
                ("screen", "new", "screening", r2_at + 30 * h, None),
                ("dismiss", "screening", "pending_approval", r2_at + 31 * h, {"outcome": "unfounded"}),
                ("approve", "pending_approval", "closed", r2_at + 72 * h, None),
            ], category="overstay", channel="whatsapp", state="closed", outcome="unfounded"),
            "r3": with_history(make, KARAWANG, r3_at, [
                ("screen", "new", "screening", r3_at + 1 * h, None),
                ("assign", "screening", "assigned", r3_at + 2 * h, {"assignee": officer.id}),
            ], category="illegal_work", state="assigned", assignee_id=officer.id, due_at=at(d(-11), 8)),
            "r4": with_history(make, KARAWANG_2, r4_at, [
                ("screen", "new", "screening", r4_at + 2 * h, None),
                ("assign", "screening", "assigned", r4_at + 3 * h,
                 {"assignee": officer.id, "due": at(d(-12), 12).isoformat()}),
                ("start_field_check", "assigned", "in_field", at(d(-13), 9), None),
                ("record_finding", "in_field", "pending_approval", at(d(-12), 8), {"outcome": "not_found"}),
                ("approve", "pending_approval", "closed", at(d(-12), 9), None),
            ], category="overstay", state="closed", outcome="not_found"),
            "r5": with_history(make, KARAWANG, at(d(-25), 9), [], category="overstay", channel="android",
                               due_at=at(self.today + timedelta(days=30), 9)),
            "r6": with_history(make, BEKASI, at(d(-11), 11), []),
            "r7": with_history(make, KETAPANG, at(d(-10), 9), []),
        }

