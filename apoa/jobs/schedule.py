"""The one table of periodic jobs: what runs when. `flask jobs scheduler` puts each on the queue
when it is due; /admin/tugas lists them with their next run.

Targets are dotted paths, imported only when due: a target that cannot be imported is logged by
the scheduler and skipped, and every other entry keeps running.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext

# Daily times are times of the offices' clocks (WIB: no daylight saving time).
TIME_ZONE = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Periodic:
    """A job run every `every`, or every day at `daily_at` (Asia/Jakarta)."""
    path: str
    every: timedelta | None = None
    daily_at: time | None = None

    def __post_init__(self):
        if (self.every is None) == (self.daily_at is None):
            raise ValueError(f"{self.path}: give either `every` or `daily_at`")

    @property
    def name(self):
        return self.path

    def first_run(self, now):
        """When a scheduler that has never run this entry runs it: interval jobs at once (a
        restart catches up), daily jobs at their next time."""
        return now if self.every else self.next_after(now)

    def next_after(self, moment):
        """The first run strictly after `moment` (an aware datetime)."""
        if self.every:
            return moment + self.every
        local = moment.astimezone(TIME_ZONE)
        today = datetime.combine(local.date(), self.daily_at, tzinfo=TIME_ZONE)
        return today if today > local else today + timedelta(days=1)

    def describe(self):
        """How often, in the user's language."""
        if self.daily_at:
            return _("every day at %(time)s WIB", time=self.daily_at.strftime("%H.%M"))
        minutes = int(self.every.total_seconds() // 60)
        if minutes % 60 == 0:
            hours = minutes // 60
            return ngettext("every hour", "every %(num)d hours", hours)
        return ngettext("every minute", "every %(num)d minutes", minutes)


SCHEDULE = (
    # Staff notifications (apoa/notifications/jobs.py).
    Periodic("apoa.notifications.jobs.notify_due_soon_and_overdue", every=timedelta(minutes=5)),
    # A safety sweep: mails whose job was lost (Redis down at the commit) still go out.
    Periodic("apoa.notifications.jobs.send_pending_emails", every=timedelta(minutes=1)),
    Periodic("apoa.notifications.jobs.send_daily_digests", daily_at=time(7, 0)),
    Periodic("apoa.jobs.cleanup.delete_orphan_photos", every=timedelta(hours=1)),
    # What the map and the dashboard would otherwise compute on every page view.
    Periodic("apoa.maps.hotspots.refresh_hotspots", every=timedelta(minutes=5)),
    # WhatsApp (apoa/whatsapp): conversations left for 24 hours, replies whose job was lost, and
    # message ids and texts kept no longer than needed.
    Periodic("apoa.whatsapp.conversation.expire_idle", every=timedelta(minutes=10)),
    Periodic("apoa.whatsapp.housekeeping.send_lost_messages", every=timedelta(minutes=5)),
    Periodic("apoa.whatsapp.housekeeping.forget_old_messages", daily_at=time(3, 30)),
    # Foreign guests' stays past APOA_GUEST_RETENTION_DAYS, kept as anonymous counts only.
    Periodic("apoa.guests.retention.delete_old_stays", daily_at=time(2, 30)),
    # Reports past APOA_RETENTION_* (UU PDP): anonymised, contacts and photos removed.
    Periodic("apoa.privacy.retention.run_retention", daily_at=time(2, 30)),
    Periodic("apoa.guests.uploads.purge_abandoned_uploads", every=timedelta(hours=1)),
    # Answers to data-subject requests (the requester's export) are kept 7 days only.
    Periodic("apoa.privacy.request_export.purge_expired_exports", every=timedelta(hours=1)),
    # Audit entries are written unchained; this links them into the hash chain (apoa/audit).
    Periodic("apoa.audit.chain.chain_pending", every=timedelta(minutes=1)),
    # The heads' ended months (apoa/summaries/stored.py): kept after a month ends, after a rollup
    # rebuild or a late change, and computed once more after they are written.
    Periodic("apoa.summaries.stored.fill_month_figures", every=timedelta(minutes=15)),
)
