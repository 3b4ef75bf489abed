"""The base of every form, and what it does to every field of every form in one place:

- WTForms' own messages go through the app's catalog, because WTForms ships no Indonesian
  translation of them;
- text loses its control characters (NUL and the like; tabs and line breaks stay): nobody types
  them, PostgreSQL cannot store a NUL, and a page cannot show them;
- a typed date lies between apoa.periods.EARLIEST and LATEST (the calendar's own edges, year 1 or
  9999, overflow every conversion to UTC and every "day after");
- a typed whole number fits PostgreSQL's integer (int() takes hundreds of digits, "𝟗" among
  them, and NumberRange cannot compare a number too large for a float).
"""
import unicodedata

from flask_babel import get_translations, gettext, lazy_gettext as _l, lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import DateTimeField, IntegerField, StringField
from wtforms.validators import StopValidation

from apoa.periods import bounds_message, within_bounds

# WTForms' and Flask-WTF's built-in messages our forms can show, listed so that extraction puts
# them in the app's catalog.
BUILT_IN_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid integer value."),
    _l("Not a valid float value."),
    _l("Not a valid choice."),
    _l("Not a valid datetime value."),
    _l("Not a valid date value."),
    _l("Invalid email address."),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF token has expired."),
    _l("The CSRF tokens do not match."),
    _l("The CSRF session token is missing."),
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 1),
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 1),
    lazy_ngettext("Field must be exactly %(max)d character long.",
                  "Field must be exactly %(max)d characters long.", 1),
    _l("Field must be between %(min)d and %(max)d characters long."),
)
KEPT_CONTROLS = "\t\n\r"
LARGEST_INTEGER = 2**31 - 1


class _AppTranslations:
    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        # The bare translation: WTForms fills in %(min)d and %(max)d itself (flask_babel's
        # ngettext would fill in only %(num)d, and fail on the others).
        return get_translations().ungettext(singular, plural, n)


def without_controls(value):
    """`value` without control characters other than tab and line breaks; other values as given."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value
                   if ch in KEPT_CONTROLS or unicodedata.category(ch) != "Cc")


def within_calendar(form, field):
    """A date or time outside EARLIEST..LATEST stops the field's checks with a message."""
    if field.data is not None and not within_bounds(field.data):
        raise StopValidation(str(bounds_message()))


def within_integer(form, field):
    """A whole number PostgreSQL's integer cannot hold stops the field's checks with a message."""
    if isinstance(field.data, int) and abs(field.data) > LARGEST_INTEGER:
        raise StopValidation(gettext("Not a valid integer value."))


# The checks every field of a kind gets before its own (see the module's docstring).
FIRST_CHECKS = ((IntegerField, within_integer), (DateTimeField, within_calendar))


class BaseForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _AppTranslations()

        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, StringField):
                filters = unbound_field.kwargs.get("filters", ())
                options["filters"] = (without_controls, *filters)
            for kind, check in FIRST_CHECKS:
                if issubclass(unbound_field.field_class, kind):
                    validators = unbound_field.kwargs.get("validators") or ()
                    options["validators"] = [check, *validators]
            return unbound_field.bind(form=form, **options)
