"""The officers' forms: the queue's filters, one form per workflow action, and the contact reveal.

Each action form turns its input into the keyword arguments of `workflow.apply()` (`params()`):
objects already loaded and checked (an office, an officer, the original report, a Finding), so the
workflow receives clean values. The workflow checks them again; forms only give the user a clear
message next to the field.

Several action forms share one page, so each is built with its action's name as prefix: their
fields ("dismiss-reason", "reopen-reason") never clash.
"""
import uuid
from datetime import datetime, timezone

from flask_babel import get_locale, lazy_gettext as _l, to_utc
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, IntegerField,
                     MultipleFileField, RadioField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from apoa.forms import BaseForm
from apoa.reports import queries
from apoa.reports.contact import MIN_REASON_LENGTH
from apoa.reports.forms import KeepsPhotos, KeptPhotosField, country_choices
from apoa.reports.states import ActionTaken, State
from apoa.reports.tracking import display
from apoa.reports.workflow import FINDING_OUTCOMES, MIN_TEXT, Action, Finding

# The workflow wants at least MIN_TEXT characters of reason; the forms say so before it does.
MAX_TEXT = 2000
TEXT_LENGTH = Length(min=MIN_TEXT, max=MAX_TEXT,
                     message=_l("Write between %(min)d and %(max)d characters."))
OPTIONAL_NOTE = [Optional(), Length(max=MAX_TEXT, message=_l("Write at most %(max)d characters."))]


def optional_int(value):
    """Coerce a select's value: "" (any) is None; never raises, so a bad value is
    "not a valid choice"."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return -1


def any_choice():
    return SelectChoice("", _l("All"))


def state_choices():
    return [any_choice()] + [SelectChoice(s.value, s.title) for s in State]


def sort_choices():
    return [SelectChoice(key, label) for key, (label, _order) in queries.SORTS.items()]


# --- the queue's filters (GET) -------------------------------------------------------------------

class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    state = SelectField(_l("Status"), choices=state_choices, default="")
    category = SelectField(_l("Category"), coerce=optional_int)
    kabupaten = SelectField(_l("Regency/City"), coerce=optional_int)
    kecamatan = SelectField(_l("District"), coerce=optional_int)
    received_from = DateField(_l("Received from"), validators=[Optional()])
    received_to = DateField(_l("Received until"), validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    mine = BooleanField(_l("Assigned to me"))
    # The queue only (queries.queue_page): closed reports are hidden unless asked for.
    closed = BooleanField(_l("Include closed reports"))
    # Not validated: an unknown key quietly becomes the default sort (see queries.sort_key).
    sort = SelectField(_l("Sort"), choices=sort_choices, validate_choice=False,
                       default=queries.DEFAULT_SORT)

    def __init__(self, user, formdata):
        super().__init__(formdata=formdata)
        locale = get_locale()
        self.category.choices = [any_choice()] + [SelectChoice(c.id, c.name_for(locale))
                                                  for c in queries.active_categories()]
        self.kabupaten_rows = queries.jurisdiction_kabupaten(user)
        self.kabupaten.choices = [any_choice()] + [SelectChoice(r.id, r.nama)
                                                   for r in self.kabupaten_rows]
        chosen = next((r for r in self.kabupaten_rows if r.id == self.kabupaten.data), None)
        kecamatan = queries.kecamatan_of(chosen) if chosen else []
        self.kecamatan.choices = [any_choice()] + [SelectChoice(r.id, r.nama) for r in kecamatan]

    def validate_received_to(self, field):
        if field.data and self.received_from.data and field.data < self.received_from.data:
            raise ValidationError(_l("The end date must not be before the start date."))

    def filters(self):
        """The filters of the fields that validated; a field with an error is left out."""
        def good(field):
            return field.data if not field.errors else None
        kab_id = good(self.kabupaten)
        return queries.QueueFilters(
            state=good(self.state) or None, category_id=good(self.category), kab_id=kab_id,
            kec_id=good(self.kecamatan) if kab_id else None, received_from=good(self.received_from),
            received_to=good(self.received_to), overdue=bool(self.overdue.data),
            mine=bool(self.mine.data), sort=queries.sort_key(self.sort.data))


# --- one form per workflow action ----------------------------------------------------------------

class ActionForm(BaseForm):
    """Base of the action forms: built for one report and user, with the action as field prefix."""

    action = None

    def __init__(self, report, user, candidates=(), **kwargs):
        self.report, self.user = report, user
        super().__init__(prefix=self.action.value, **kwargs)
        self.prepare(candidates)

    def prepare(self, candidates):
        """Load the choices the form offers (override)."""

    def params(self):
        """The keyword arguments of workflow.apply() for this action (override)."""
        raise NotImplementedError


class NoteForm(ActionForm):
    """An action whose only input is a note for the history."""

    note = TextAreaField(_l("Note (optional)"), validators=OPTIONAL_NOTE)

    def params(self):
        return {"note": self.note.data or None}


class ScreenForm(NoteForm):
    action = Action.screen


class StartFieldCheckForm(NoteForm):
    action = Action.start_field_check


class ApproveForm(NoteForm):
    action = Action.approve


class SendBackForm(NoteForm):
    action = Action.send_back
    note = TextAreaField(_l("What needs to be done again?"),
                         validators=[DataRequired(_l("Say what needs to be done again.")),
                                     TEXT_LENGTH])


class ReasonForm(ActionForm):
    """An action that needs a reason (kept as the event's note)."""

    def params(self):
        return {"reason": self.reason.data}


class DismissForm(ReasonForm):
    action = Action.dismiss
    reason = TextAreaField(_l("Why is the report unfounded?"),
                           validators=[DataRequired(_l("Say why the report is unfounded.")),
                                       TEXT_LENGTH])


class ReopenForm(ReasonForm):
    action = Action.reopen
    reason = TextAreaField(_l("Why is the report reopened?"),
                           validators=[DataRequired(_l("Say why the report is reopened.")),
                                       TEXT_LENGTH])


class TransferForm(ReasonForm):
    action = Action.transfer
    office = SelectField(_l("Office"), coerce=optional_int,
                         validators=[DataRequired(
                             _l("Choose another office to transfer the report to."))])
    reason = TextAreaField(_l("Why is the report transferred?"),
                           validators=[DataRequired(_l("Say why the report is transferred.")),
                                       TEXT_LENGTH])

    def prepare(self, candidates):
        self.offices = {office.id: office for office in queries.transfer_targets(self.report)}
        self.office.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(o.id, o.name) for o in self.offices.values()]

    def params(self):
        return {**super().params(), "office": self.offices[self.office.data]}


class AssignForm(ActionForm):
    action = Action.assign
    assignee = SelectField(_l("Officer"), coerce=optional_int,
                           validators=[DataRequired(
                               _l("Choose an active officer of this office."))])
    due = DateTimeLocalField(_l("Due (optional)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                             validators=[Optional()])
    note = TextAreaField(_l("Note (optional)"), validators=OPTIONAL_NOTE)

    def prepare(self, candidates):
        self.staff = {user.id: user for user in queries.assignable_staff(self.report)}
        self.assignee.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(u.id, f"{u.name} ({u.office.name})") for u in self.staff.values()]

    def due_utc(self):
        """The typed due time, read in the interface's time zone, as an aware UTC datetime."""
        return to_utc(self.due.data).replace(tzinfo=timezone.utc) if self.due.data else None

    def validate_due(self, field):
        if field.data and self.due_utc() <= datetime.now(timezone.utc):
            raise ValidationError(_l("The due time must be in the future."))

    def params(self):
        return {"assignee": self.staff[self.assignee.data], "due": self.due_utc(),
                "note": self.note.data or None}


class MarkDuplicateForm(ActionForm):
    action = Action.mark_duplicate
    original = RadioField(_l("Nearby reports"), coerce=optional_int, validate_choice=False)
    # No Optional(): it would stop the chain before validate_code, which also checks the choice.
    code = StringField(_l("Or type the tracking code of the original"), validators=[Length(max=40)])
    note = TextAreaField(_l("Note (optional)"), validators=OPTIONAL_NOTE)

    def prepare(self, candidates):
        self.candidates = candidates
        locale = get_locale()
        self.original.choices = [SelectChoice(c.report.id, candidate_label(c, locale))
                                 for c in candidates]
        self.original_report = None

    def validate_code(self, field):
        # The typed code wins over a chosen candidate; either way the original must be visible.
        if field.data:
            found = queries.find_visible_by_code(field.data, self.user)
            if found is None:
                raise ValidationError(_l("No report you can see has this tracking code."))
        elif self.original.data:
            found = queries.find_visible_report(self.original.data, self.user)
        else:
            found = None
        if found is None or found.id == self.report.id:
            raise ValidationError(_l("Choose the original report this one repeats."))
        self.original_report = found

    def params(self):
        return {"original": self.original_report, "note": self.note.data or None}


def candidate_label(candidate, locale):
    report = candidate.report
    return (f"{display(report.tracking_code)} · {report.category.name_for(locale)} · "
            f"{candidate.distance_m} m")


def outcome_choices():
    return [SelectChoice("", _l("Choose…"))] + [SelectChoice(o.value, o.title)
                                                 for o in FINDING_OUTCOMES]


def action_taken_choices():
    return [SelectChoice("", _l("None"))] + [SelectChoice(a.value, a.title) for a in ActionTaken]


def new_upload_key():
    return str(uuid.uuid4())


class FindingForm(KeepsPhotos, ActionForm):
    """The field-finding form: outcome, people found, nationalities, documents checked, action
    taken, notes and photos. Photos chosen once stay with the form across its errors, under its
    upload key (a new one each time the form is shown afresh)."""

    action = Action.record_finding
    outcome = SelectField(_l("Outcome"), choices=outcome_choices,
                          validators=[DataRequired(_l("Choose the outcome of the field check."))])
    action_taken = SelectField(_l("Action taken"), choices=action_taken_choices, default="")
    people_found = IntegerField(_l("People found"), default=0, validators=[
        InputRequired(_l("Enter the number of people.")),
        NumberRange(min=0, max=1000, message=_l("Enter a number from %(min)s to %(max)s."))])
    nationalities = SelectMultipleField(_l("Nationalities"))
    documents_checked = IntegerField(_l("Documents checked"), default=0, validators=[
        InputRequired(_l("Enter a number.")),
        NumberRange(min=0, max=1000, message=_l("Enter a number from %(min)s to %(max)s."))])
    notes = TextAreaField(_l("What was found"),
                          validators=[DataRequired(_l("Describe what was found.")), TEXT_LENGTH])
    kept_photos = KeptPhotosField(_l("Already attached"))
    photos = MultipleFileField(_l("Photos (up to 3)"))
    upload_key = HiddenField(default=new_upload_key)

    def prepare(self, candidates):
        self.nationalities.choices = country_choices()[1:]  # without "Unknown"
        self.clean_photos = []

    def validate_action_taken(self, field):
        if self.outcome.data == "violation_found" and not field.data:
            raise ValidationError(_l("Record the action taken exactly when a violation was found."))
        if self.outcome.data != "violation_found" and field.data:
            raise ValidationError(_l("Record the action taken exactly when a violation was found."))

    def form_key(self):
        return self.upload_key.data

    def params(self):
        finding = Finding(outcome=self.outcome.data, action_taken=self.action_taken.data or None,
                          people_found=self.people_found.data,
                          nationalities=tuple(self.nationalities.data),
                          documents_checked=self.documents_checked.data, notes=self.notes.data)
        return {"finding": finding}


ACTION_FORMS = {form.action: form for form in (
    ScreenForm, MarkDuplicateForm, TransferForm, AssignForm, DismissForm, StartFieldCheckForm,
    FindingForm, ApproveForm, SendBackForm, ReopenForm)}


def action_form(action, report, user, candidates=(), submitted=False):
    """The form of `action` for `report`: the request's data when it is the one `submitted`, else
    empty (formdata=None: the other forms of the page must not read the request)."""
    data = {} if submitted else {"formdata": None}
    return ACTION_FORMS[Action(action)](report, user, candidates=candidates, **data)


# --- the contact reveal --------------------------------------------------------------------------

class RevealContactForm(BaseForm):
    reason = TextAreaField(_l("Why do you need the reporter's contact details?"), validators=[
        DataRequired(_l("Give a reason of at least %(n)d characters for revealing the "
                        "contact details.", n=MIN_REASON_LENGTH)),
        Length(min=MIN_REASON_LENGTH, max=500,
               message=_l("Write between %(min)d and %(max)d characters."))])


# --- wider search for nearby reports (GET) -------------------------------------------------------

RADII = (100, 300, 1000)
WINDOWS = (7, 14, 30)


class NearbyForm(BaseForm):
    class Meta:
        csrf = False

    metres = SelectField(_l("Distance"), coerce=optional_int, default=300,
                         choices=lambda: [SelectChoice(m, f"{m} m") for m in RADII])
    days = SelectField(_l("Time window"), coerce=optional_int, default=14,
                       choices=lambda: [SelectChoice(d, _l("± %(n)d days", n=d)) for d in WINDOWS])

    def search(self):
        """(metres, days) from the allowlists; anything else falls back to the defaults."""
        metres = self.metres.data if self.metres.data in RADII else 300
        days = self.days.data if self.days.data in WINDOWS else 14
        return metres, days
