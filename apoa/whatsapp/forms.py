"""The officers' WhatsApp form: a question to a reporter, from the report page."""
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from apoa.forms import BaseForm
from apoa.whatsapp.questions import MAX_QUESTION, MIN_QUESTION


class AskReporterForm(BaseForm):
    # The service checks the length again; the form says it next to the field first.
    question = TextAreaField(_l("Your question to the reporter"), validators=[
        DataRequired(_l("Write your question.")),
        Length(min=MIN_QUESTION, max=MAX_QUESTION,
               message=_l("Write between %(min)d and %(max)d characters."))])
