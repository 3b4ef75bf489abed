"""The regional heads' dashboard, `/ringkasan`: the picture of a period for the user's
jurisdiction (or one office within it), from the rollups.

Who sees it is decided in apoa/summaries/figures.py from apoa/auth/permissions.py: users with
view_aggregates (regional heads; supervisors for their own office and those below it); anyone else
gets 404, like every page they may not see. A period or office that cannot be understood answers
400 with the dashboard of the default period and the message beside the chooser, so the user can
correct it. Who sees aggregates only chooses a month that has ended (`bulan=YYYY-MM`, last month by
default) instead of any period: figures of overlapping periods subtract (apoa/summaries/
suppression.py). Every answer is `Cache-Control: private, no-store`. Beside the reports, the page
shows the foreign guests reported by lodgings (apoa/guests/figures.py) for the same period and
office, and the residents' satisfaction index (IKM, apoa/feedback/skm.py).
"""
from flask import Blueprint, render_template, request
from flask_login import current_user

from apoa.auth.guards import guard_staff_pages
from apoa.auth.permissions import Permission, can
from apoa.core.replica import reads_from_replica
from apoa.errors import NotFound, UserValueError
from apoa.feedback.services import open_cases_count
from apoa.feedback.skm import ikm_for
from apoa.guests.figures import guest_figures
from apoa.maps.clusters import HEAT_DAYS
from apoa.summaries import anomalies, charts, figures, monthly
from apoa.summaries.dates import day_text, moment_text
from apoa.periods import (DEFAULT_PRESET, SUMMARY_PRESETS, local_today, parse_period,
                          preset_period)

bp = Blueprint("summaries", __name__)


guard_staff_pages(bp)


@bp.get("/ringkasan")
@reads_from_replica
def dashboard():
    user = current_user._get_current_object()
    if not can(user, Permission.view_aggregates):
        raise NotFound()
    by_month = not can(user, Permission.view_report)
    error = None
    try:
        period = parse_period(request.args)
        if by_month:
            # Dates typed for another period are still checked (a mistake is told), but who sees
            # aggregates only gets a whole month.
            period = monthly.parse_month(request.args.get("bulan"))
        office_id = figures.parse_office(request.args.get("office"))
    except UserValueError as problem:
        error = problem.message
        period = (monthly.parse_month(None) if by_month
                  else preset_period(DEFAULT_PRESET, local_today()))
        office_id = None
    summary = figures.summary(user, period, office_id)
    return render_template(
        "summaries/dashboard.html", summary=summary, error=error, presets=SUMMARY_PRESETS,
        guests=guest_figures(user, period, office_id), ikm=ikm_for(user, period, office_id),
        chosen_preset=request.args.get("period") or "", chosen_office=office_id,
        by_month=by_month, months=monthly.months_to_choose() if by_month else [],
        offices=figures.offices_to_choose(user), args=request.args, method=anomalies,
        hotspot_days=HEAT_DAYS, day_text=day_text, moment_text=moment_text,
        open_cases=open_cases_count(user),
        **charts.summary_charts(summary),
    ), 400 if error else 200
