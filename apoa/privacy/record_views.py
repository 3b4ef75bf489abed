"""/admin/privasi: the record of processing activities (printable, or as Markdown) and breach
support, for the admin (Permission.manage_privacy). Everyone else gets 404, signed in or not.

The breach page shows counts only: never a contact, a number or a name. Its assessment writes an
audit entry (apoa/privacy/breach.py), so it is a POST.
"""
from datetime import datetime, timezone

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from flask_login import current_user
from wtforms import (DateTimeLocalField, RadioField, SelectChoice, SelectMultipleField,
                     TextAreaField)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from apoa.auth.guards import actor, guard_staff_pages
from apoa.auth.permissions import Permission, has_permission
from apoa.errors import UserValueError
from apoa.forms import BaseForm
from apoa.privacy.breach import (DATA_SETS, Reach, Scope, Window, assess, check_window,
                                 data_set_choices, notice_time)
from apoa.privacy.processing import as_markdown, processing_record

bp = Blueprint("privacy_record", __name__, url_prefix="/admin/privasi")
guard_staff_pages(bp, sign_in=False)

# The names of the rows each data set counts (apoa/privacy/breach.py count_*).
ROW_LABELS = {"reports": _l("reports"), "contacts": _l("contacts"), "photos": _l("photos"),
              "numbers": _l("WhatsApp numbers"), "stays": _l("stays"),
              "passport_photos": _l("passport photos"),
              "organisations": _l("lodgings and sponsors"),
              "accounts": _l("accounts"), "cases": _l("cases"), "ratings": _l("ratings")}
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
MAX_NOTE = 2000


@bp.before_request
def only_privacy_managers():
    if not has_permission(current_user, Permission.manage_privacy):
        abort(404)


@bp.get("/catatan-pemrosesan")
def record_page():
    return render_template("privacy/record.html", record=processing_record())


@bp.get("/catatan-pemrosesan.md")
def record_markdown():
    headers = {"Content-Type": "text/markdown; charset=utf-8",
               "Content-Disposition": "attachment; filename=catatan-pemrosesan.md"}
    return as_markdown(processing_record()), 200, headers


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _local(field):
    """A typed local (Jakarta) time as an aware UTC datetime."""
    return to_utc(field.data).replace(tzinfo=timezone.utc) if field.data else None


class BreachForm(BaseForm):
    start = DateTimeLocalField(_l("The breach may have begun at"), format=TIME_FORMATS,
                               validators=[InputRequired(_l("Give the start of the window."))])
    end = DateTimeLocalField(_l("and may have lasted until"), format=TIME_FORMATS,
                             validators=[InputRequired(_l("Give the end of the window."))])
    discovered = DateTimeLocalField(_l("Discovered at"), format=TIME_FORMATS,
                                    validators=[InputRequired(_l("Give when it was discovered."))])
    scope = RadioField(_l("What may have been exposed"), default=Scope.held.value,
                       choices=[SelectChoice(scope.value, scope.title) for scope in Scope])
    data_sets = MultiCheckboxField(_l("Data sets that may be affected"), validate_choice=False)
    what_happened = TextAreaField(_l("What happened (for the notice)"),
                                  validators=[Optional(), Length(max=MAX_NOTE)])
    measures = TextAreaField(_l("What has been done to handle it and recover (for the notice)"),
                             validators=[Optional(), Length(max=MAX_NOTE)])
    contact = TextAreaField(_l("Office contact for questions (for the notice)"),
                            validators=[Optional(), Length(max=MAX_NOTE)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_sets.choices = [SelectChoice(key, title) for key, title in data_set_choices()]

    def validate_data_sets(self, field):
        unknown = [key for key in field.data or () if key not in DATA_SETS]
        if unknown:
            raise ValidationError(_("Unknown data set: %(names)s.", names=", ".join(unknown)))
        if not field.data:
            raise ValidationError(_("Choose at least one data set."))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid:
            try:
                check_window(*self.times())
            except UserValueError as error:
                self.end.errors.append(str(error.message))
                return False
        return valid

    def times(self):
        return _local(self.start), _local(self.end), _local(self.discovered)

    def window(self):
        return Window(*self.times(), scope=Scope(self.scope.data))


@bp.get("/kebocoran")
def breach_page():
    return render_template("privacy/breach.html", form=BreachForm(formdata=None), assessment=None)


@bp.post("/kebocoran")
def breach_assess():
    form = BreachForm()
    if not form.validate():
        return render_template("privacy/breach.html", form=form, assessment=None), 400
    assessment = assess(form.window(), form.data_sets.data, actor(),
                        now=datetime.now(timezone.utc))
    return render_template("privacy/breach.html", form=form, assessment=assessment,
                           reaches=list(Reach), time_left=_time_left(assessment),
                           row_labels=ROW_LABELS, notice_time=notice_time)


def _time_left(assessment):
    """The time to the deadline, or past it, as hours and minutes in words."""
    minutes = int(abs(assessment.time_left).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if assessment.overdue:
        return _("Overdue by %(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(hours)d h %(minutes)d min left", hours=hours, minutes=minutes)
