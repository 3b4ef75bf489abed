"""The base of every form: WTForms' own messages go through the app's catalog, because WTForms
ships no Indonesian translation of them."""
from flask_babel import gettext, lazy_gettext as _l, ngettext
from flask_wtf import FlaskForm

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
)


class _AppTranslations:
    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


class BaseForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _AppTranslations()
