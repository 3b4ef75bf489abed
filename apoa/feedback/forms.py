"""The forms of apoa/feedback: a supervisor's answer to a complaint or a question (the case page),
and a reporter's rating of the service (the SKM questionnaire)."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from apoa.feedback.services import MAX_TEXT, MIN_ANSWER
from apoa.feedback.skm import MAX_COMMENT, SCORE_WORDS, SCORES, SkmElement
from apoa.forms import BaseForm


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class AnswerForm(BaseForm):
    answer = TextAreaField(_l("Answer"), filters=[_stripped], validators=[
        DataRequired(_l("Write the answer.")),
        Length(min=MIN_ANSWER, max=MAX_TEXT,
               message=_l("Write between %(min)d and %(max)d characters."))])


class RatingForm(BaseForm):
    """The SKM questionnaire (apoa/feedback/skm.py): one four-point question per element (the
    fields are added below, one per SkmElement and named after it, then the comment)."""

    def element_fields(self):
        return [(element, self[element.value]) for element in SkmElement]

    def answers(self):
        return {element: field.data for element, field in self.element_fields()}


def score_choices():
    return [SelectChoice(score, SCORE_WORDS[score]) for score in SCORES]


def _score_field(element):
    return RadioField(element.title, coerce=int, choices=score_choices,
                      validators=[InputRequired(_l("Choose one of the four answers."))])


for _element in SkmElement:
    setattr(RatingForm, _element.value, _score_field(_element))
RatingForm.comment = TextAreaField(_l("Comment (optional)"), filters=[_stripped], validators=[
    Optional(), Length(max=MAX_COMMENT, message=_l("Write at most %(max)d characters."))])
