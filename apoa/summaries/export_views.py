"""Exports and the monthly report: the export page (`/ekspor`, the queue's GET filters), the
streamed downloads, and the printable monthly report with its PDF.

Who may take what is decided in apoa/summaries/exports.py and apoa/summaries/monthly.py from
apoa/auth/permissions.py; a user with no export or aggregate permission gets 404, like every
page they may not see. Every answer is `Cache-Control: private, no-store`.
"""
from datetime import datetime, timezone

from flask import (Blueprint, Response, current_app, render_template, request, stream_with_context,
                   url_for)
from flask_babel import gettext as _, to_user_timezone

from apoa.audit.services import record
from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, can
from apoa.core.replica import reads_from_replica
from apoa.errors import NotFound, UserValueError
from apoa.reports.officer_forms import QueueFilterForm
from apoa.summaries import figures, monthly
from apoa.summaries.dates import day_text, moment_text
from apoa.summaries.exports import ExportFormat, ExportKind, allowed_kinds, audited_export

bp = Blueprint("exports", __name__)
# The address names the kind of export in Indonesian, like every path of the app.
KIND_PATHS = {"laporan": ExportKind.rows, "agregat": ExportKind.aggregates}
PATH_OF_KIND = {kind: path for path, kind in KIND_PATHS.items()}
FILTER_FIELDS = ("state", "category", "kabupaten", "kecamatan", "received_from", "received_to",
                 "overdue", "mine")


guard_staff_pages(bp)


# --- exports -------------------------------------------------------------------------------------

@bp.get("/ekspor")
@reads_from_replica
def export_page():
    """The filters (as in the queue) and a download link per kind and format the user may take."""
    user = actor()
    kinds = allowed_kinds(user)
    if not kinds:
        raise NotFound()
    form = QueueFilterForm(user, formdata=request.args)
    valid = form.validate()
    query = filter_args(request.args)
    links = {kind: [(fmt, url_for(".download", kind=PATH_OF_KIND[kind], fmt=fmt.value, **query))
                    for fmt in ExportFormat] for kind in kinds}
    return render_template("summaries/exports.html", form=form, links=links, valid=valid,
                           ExportKind=ExportKind), 200 if valid else 400


def filter_args(args):
    """The queue's filters from the request, as they came (for links that keep them)."""
    return {name: args.getlist(name) for name in FILTER_FIELDS if any(args.getlist(name))}


@bp.get("/ekspor/<any(laporan, agregat):kind>.<any(csv, geojson, xlsx):fmt>")
@reads_from_replica
def download(kind, fmt):
    """The export, streamed; audited before the first byte and again when it ends."""
    user = actor()
    kind, fmt = KIND_PATHS[kind], ExportFormat(fmt)
    if not can(user, kind.permission):
        raise NotFound()
    body = audited_export(user, kind, fmt, filters_from(user, request.args))
    response = Response(stream_with_context(body), mimetype=fmt.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(kind, fmt)}"'
    return response


def filters_from(user, args):
    """The queue's filters, or UserValueError (400) naming every bad one: an export must never
    quietly drop a filter and hand out more than was asked for."""
    form = QueueFilterForm(user, formdata=args)
    if form.validate():
        return form.filters()
    problems = "; ".join(f"{form[name].label.text}: {' '.join(map(str, errors))}"
                         for name, errors in form.errors.items())
    raise UserValueError(_("The filters are not valid (%(problems)s).", problems=problems))


def download_name(kind, fmt):
    stamp = to_user_timezone(datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M")
    return f"apoa-{PATH_OF_KIND[kind]}-{stamp}.{fmt.value}"


# --- the monthly report --------------------------------------------------------------------------

def load_monthly():
    """The monthly report asked for (`bulan=YYYY-MM`, `office=<id>`), for the signed-in user."""
    user = actor()
    if not can(user, Permission.view_aggregates):
        raise NotFound()
    month = monthly.parse_month(request.args.get("bulan"))
    return monthly.monthly_report(user, month, figures.parse_office(request.args.get("office")))


def monthly_args(report):
    args = {"bulan": report.month.start.strftime("%Y-%m")}
    if report.office_id is not None:
        args["office"] = report.office_id
    return args


def render_monthly(report, pdf=False):
    return render_template("summaries/monthly.html", report=report, pdf=pdf,
                           months=monthly.months_to_choose(),
                           offices=figures.offices_to_choose(actor()),
                           pdf_url=url_for(".monthly_pdf", **monthly_args(report)),
                           day_text=day_text, moment_text=moment_text)


@bp.get("/ringkasan/bulanan")
@reads_from_replica
def monthly_page():
    """The printable monthly report (the browser prints it with the same stylesheet as the PDF)."""
    return render_monthly(load_monthly())


@bp.get("/ringkasan/bulanan.pdf")
@reads_from_replica
def monthly_pdf():
    """The same page as a PDF (WeasyPrint), audited like every document that leaves the app."""
    report = load_monthly()
    pdf = monthly.render_pdf(render_monthly(report, pdf=True), request.host_url,
                             current_app.static_url_path, current_app.static_folder)
    record("summary.monthly_pdf", f"office:{report.office_id or actor().office_id}",
           {"month": report.month.start.strftime("%Y-%m"), "office_id": report.office_id},
           actor=actor())
    name = f"apoa-laporan-bulanan-{report.month.start:%Y-%m}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
