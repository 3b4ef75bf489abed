"""The notification settings form: how a user hears of notifications by e-mail."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice
from wtforms.validators import DataRequired

from apoa.forms import BaseForm
from apoa.notifications.models import EmailChoice


def email_choices():
    return [SelectChoice(choice.value, choice.title) for choice in EmailChoice]


class EmailChoiceForm(BaseForm):
    email = RadioField(_l("E-mail about notifications"), validators=[DataRequired()],
                       choices=email_choices)
