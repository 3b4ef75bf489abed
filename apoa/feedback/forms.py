"""The form of the case page: a supervisor's answer to a complaint or a question."""
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from apoa.feedback.services import MAX_TEXT, MIN_ANSWER
from apoa.forms import BaseForm


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class AnswerForm(BaseForm):
    answer = TextAreaField(_l("Answer"), filters=[_stripped], validators=[
        DataRequired(_l("Write the answer.")),
        Length(min=MIN_ANSWER, max=MAX_TEXT,
               message=_l("Write between %(min)d and %(max)d characters."))])
