"""The regional map (/peta/wilayah): a folium choropleth of report counts per area for a period
and state, with a GET filter form and a plain table of the same counts for screen readers and
phones; and its data by bounding box (/peta/wilayah/data.json). The form's "layer" can instead
choose a regional indicator or a rate per kabupaten/kota (apoa/indicators/layers.py).

Only users with view_aggregates get either; everybody else, signed in or not, gets 404. What
they see and how small counts are hidden is decided in apoa/maps/regional.py. Who sees aggregates
only (no view_report) chooses a month that has ended (`bulan=YYYY-MM`, last month by default) as on
the dashboard, instead of a period: the period and its dates are not offered, and as on the
dashboard one typed in the address is still checked (a mistake is told) and then ignored. A
month that cannot be understood or is not over answers 400 with the message beside the month.
"""
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import format_date, gettext as _, lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from apoa.auth.guards import actor, guard_staff_pages
from apoa.core.replica import reads_from_replica
from apoa.errors import ApoaError, NotFound, UserValueError
from apoa.forms import BaseForm
from apoa.indicators import layers
from apoa.maps import regional
from apoa.maps.clusters import parse_bbox, parse_zoom
from apoa.maps.page import Behaviour, new_map, render
from apoa.periods import local_today
from apoa.maps.views import json_error
from apoa.reports.states import State
from apoa.summaries import monthly

bp = Blueprint("regional", __name__)
INDONESIA_CENTER = (-2.5, 118.0)


def aggregate_reader():
    """The signed-in user allowed to read aggregates; NotFound for anyone else."""
    user = actor()
    if not regional.may_view(user):
        raise NotFound()
    return user


guard_staff_pages(bp, sign_in=False)


# --- the filters ---------------------------------------------------------------------------------

def period_choices():
    return [SelectChoice(key, preset.title) for key, preset in regional.PERIODS.items()]


def state_choices():
    return [SelectChoice("", _l("All"))] + [SelectChoice(s.value, s.title) for s in State]


class RegionalFilterForm(BaseForm):
    """Period and state of the map: a GET form (bookmarkable), read by the page and the data."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=period_choices, default=regional.DEFAULT_PERIOD)
    date_from = DateField(_l("From"), validators=[Optional()], name="from")
    date_to = DateField(_l("Until"), validators=[Optional()], name="to")
    state = SelectField(_l("Status"), choices=state_choices, default="")
    # Reports, an indicator, or a rate (apoa/indicators/layers.py), and the indicators' year.
    layer = SelectField(_l("Layer"), choices=layers.layer_choices, default=regional.REPORTS_LAYER)
    year = SelectField(_l("Indicator year"), choices=layers.year_choices, default="")

    # Who sees aggregates only chooses a month instead (see the module docstring).
    bulan = SelectField(_l("Month"), choices=lambda: monthly.months_to_choose(),
                        validate_choice=False, default="")

    def __init__(self, *args, shared=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared = shared
        if not shared:
            delattr(self, "bulan")

    def validate_date_to(self, field):
        # Said beside the date, as in the queue's filters; other periods ignore the dates.
        if (self.period.data == "custom" and field.data and self.date_from.data
                and field.data < self.date_from.data):
            raise ValidationError(_l("The end date must not be before the start date."))

    def validate(self, extra_validators=None):
        """The fields, then the period they name together (a custom one needs sound dates); for
        who sees aggregates only, then the month, which is what counts (see the module
        docstring)."""
        valid = super().validate(extra_validators) and self._resolve(
            self.period, lambda: regional.resolve_period(
                self.period.data, local_today(), self.date_from.data, self.date_to.data))
        if not self.shared:
            return valid
        # As on the dashboard, a period typed in the address is still checked (a mistake is
        # told, beside the month since the period is not offered), then ignored.
        self._move_errors_beside_the_month()
        month = lambda: monthly.parse_month(self.bulan.data, local_today())  # noqa: E731
        if not (valid and self._resolve(self.bulan, month)):
            return False
        self.bulan.data = self._period.start.strftime("%Y-%m")
        return True

    def _resolve(self, field, parse):
        """`parse()` as the form's period, or False with its message beside `field`."""
        try:
            self._period = parse()
        except UserValueError as error:
            field.errors = [*field.errors, error.message]
            return False
        return True

    def _move_errors_beside_the_month(self):
        for field in (self.period, self.date_from, self.date_to):
            if field.errors:
                told = [f"{field.label.text}: {message}" for message in field.errors]
                self.bulan.errors = [*self.bulan.errors, *told]
                field.errors = []

    def selection(self):
        """The validated choice as a regional.Selection (call after validate())."""
        return regional.Selection(self._period, regional.parse_state(self.state.data),
                                  self.layer.data or regional.REPORTS_LAYER,
                                  layers.parse_year(self.year.data), shared=self.shared)

    def first_error(self):
        """"Label: message" of the first field in error, for a JSON answer."""
        name, messages = next(iter(self.errors.items()))
        return f"{self[name].label.text}: {messages[0]}"

    def query(self):
        """The choice as query parameters, for the map's requests (empty ones left out)."""
        params = {"state": self.state.data or None,
                  "layer": self.layer.data if self.layer.data != regional.REPORTS_LAYER else None,
                  "year": self.year.data or None}
        if self.shared:
            return {"bulan": self._period.start.strftime("%Y-%m"), **{
                key: value for key, value in params.items() if value}}
        params = {"period": self.period.data, **params}
        if self.period.data == "custom":
            params["from"] = self.date_from.data.isoformat()
            params["to"] = self.date_to.data.isoformat()
        return {key: value for key, value in params.items() if value}


def filter_form(user):
    """The map's filters as `user` may choose them, read from the address."""
    return RegionalFilterForm(formdata=request.args, shared=regional.shares_outside(user))


def selection_or_error(form):
    if not form.validate():
        raise UserValueError(form.first_error())
    return form.selection()


# --- the page and its data -----------------------------------------------------------------------

@bp.get("/peta/wilayah")
@reads_from_replica
def page():
    user = aggregate_reader()
    form = filter_form(user)
    if not form.validate():
        return render_template("maps/regional.html", form=form, parts=None), 400
    selection = form.selection()
    page_parts = {"form": form, "parts": render(regional_map(user, form)),
                  "summary": summary(selection), "k": regional.SUPPRESS_BELOW,
                  "suppressed": regional.SUPPRESSED_LABEL, "withheld": regional.WITHHELD}
    if selection.layer == regional.REPORTS_LAYER:
        return render_template("maps/regional.html", rows=regional.area_table(user, selection),
                               **page_parts)
    figures, rows = layers.layer_table(user, selection)
    return render_template("maps/regional.html", layer=figures, layer_rows=rows, **page_parts)


@bp.get("/peta/wilayah/data.json")
@reads_from_replica
def data():
    """The areas in `bbox` at `zoom` with their bands; errors answer JSON whatever the Accept
    header says (the map's script reads them)."""
    try:
        user = aggregate_reader()
        bbox, zoom = parse_bbox(request.args.get("bbox")), parse_zoom(request.args.get("zoom"))
        selection = selection_or_error(filter_form(user))
        if selection.layer == regional.REPORTS_LAYER:
            body = regional.choropleth_json(user, bbox, zoom, selection)
        else:
            body = layers.layer_json(user, bbox, zoom, selection)
    except ApoaError as error:
        return json_error(error)
    return Response(body, mimetype="application/json")


def regional_map(user, form):
    bounds = regional.jurisdiction_bounds(user)
    fmap = new_map(_centre(bounds), 5 if bounds is None else 7)
    options = {
        "dataUrl": url_for(".data"), "query": form.query(), "bounds": bounds,
        # Without tiles the areas are the base map, with the provinces' outlines for bearings.
        "basemapUrl": None if current_app.config["TILE_URL"] else url_for("maps.basemap"),
        "statusId": "regional-map-status",
        "text": {
            "tooltip": _("%(name)s: %(count)s reports"),
            "legendTitle": _("Reports"),
            "legendNote": _("fewer than %(k)d reports", k=regional.SUPPRESS_BELOW),
            "legendNone": _("no reports"),
            "error": _("The map data could not be loaded. Check the connection; the map tries "
                       "again when you move it."),
        },
    }
    Behaviour("regional", options, ["regional-map.js"]).add_to(fmap)
    return fmap


def _centre(bounds):
    if bounds is None:
        return INDONESIA_CENTER
    (south, west), (north, east) = bounds
    return ((south + north) / 2, (west + east) / 2)


def summary(selection):
    """"Last 30 days: 25 Okt 2026 – 23 Nov 2026 · all states", in the page's language."""
    period = selection.period
    state = State(selection.state).title if selection.state else _("all states")
    if selection.shared:
        return _("%(month)s · %(state)s", month=format_date(period.start, "MMMM yyyy"),
                 state=state)
    return _("%(period)s: %(first)s – %(last)s · %(state)s", period=period.preset.title,
             first=format_date(period.first, "medium"), last=format_date(period.last, "medium"),
             state=state)
