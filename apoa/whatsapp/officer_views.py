"""The officers' side of the WhatsApp channel on the report page: asking the reporter a question.

The form is drawn by templates/reports/_ask_reporter.html (included by the report page) from the
template global `ask_reporter_form`; it posts here. The view loads the report as the report page
does (an audited 404 when the user may not see it), asks permissions.py, and hands the question to
questions.ask(), which queues it without the number ever leaving the server.
"""
from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _

from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, can
from apoa.errors import NotAllowed, UserValueError
from apoa.reports.views import load_report, render_report
from apoa.whatsapp import questions
from apoa.whatsapp.forms import AskReporterForm

officer_bp = Blueprint("whatsapp_officer", __name__, url_prefix="/laporan")
guard_staff_pages(officer_bp)

ANCHOR = "ask-reporter-title"


@officer_bp.post("/<int:report_id>/tanya")
def ask_reporter(report_id):
    report = load_report(report_id)
    user = actor()
    if not can(user, Permission.ask_reporter, report):
        raise NotAllowed()
    form = AskReporterForm()
    if not form.validate():
        return show_again(report, form)
    try:
        questions.ask(report, user, form.question.data)
    except UserValueError as error:
        form.form_errors.append(error.message)
        return show_again(report, form)
    flash(_("Your question has been sent to the reporter on WhatsApp. Their answer will appear "
            "in the history."), "success")
    return redirect(url_for("officer.report_page", report_id=report.id, _anchor=ANCHOR), 303)


def show_again(report, form):
    """The report page again (400), the question as typed with what is wrong with it."""
    g.ask_reporter_form = form
    return render_report(report, 400)


@officer_bp.app_template_global("ask_reporter_form")
def ask_reporter_form():
    """The form the report page shows: the one just sent back with its errors, else an empty one."""
    return g.get("ask_reporter_form") or AskReporterForm(formdata=None)
