"""Forms of the admin's WhatsApp page: blocking a number (typed in any Indonesian format)."""
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from apoa.forms import BaseForm
from apoa.whatsapp.numbers import normalise

MAX_NOTE = 200


class BlockForm(BaseForm):
    number = StringField(_l("WhatsApp number"), validators=[
        DataRequired(_l("Enter the number to block.")), Length(max=40)])
    note = StringField(_l("Why (for the other admins)"), validators=[
        Optional(), Length(max=MAX_NOTE, message=_l("Write at most %(max)d characters."))])

    def validate_number(self, field):
        if normalise(field.data) is None:
            raise ValidationError(_l("This is not a phone number: write it as 0812 3456 7890 or "
                                     "+62 812 3456 7890."))

    @property
    def normalised_number(self):
        return normalise(self.number.data)
