"""The residents' rating of the service (Survei Kepuasan Masyarakat, SKM) and the office's index
(Indeks Kepuasan Masyarakat, IKM), as PermenPAN-RB 14/2017 defines them.

When a report is closed, its reporter may rate the service once (`rate`): each of the regulation's
nine elements (`SkmElement`: persyaratan; sistem, mekanisme dan prosedur; waktu penyelesaian;
biaya/tarif; produk spesifikasi jenis pelayanan; kompetensi pelaksana; perilaku pelaksana;
penanganan pengaduan, saran dan masukan; sarana dan prasarana) on its four-point scale (1 tidak
sesuai, 2 kurang sesuai, 3 sesuai, 4 sangat sesuai), with an optional comment. One rating per
report: a second is refused (Conflict), so a report cannot weigh twice in its office's index. A
rating changes nothing about the report (state, updated_at, history): it is a row of its own.
The comment is the reporter's own text: never logged, never in the audit (which names the report
only). The office is the report's when it is rated.

The index (`ikm`), per the regulation's annex:
- NRR per element: the mean of its scores over the answers of the period;
- NRR tertimbang: each NRR × the element's weight, equal for all: 1/9 (the annex rounds it to
  0.111; we keep the exact ninth, so four everywhere gives exactly 100);
- IKM unit value (1..4): the sum of the weighted NRRs; converted value (25..100): unit × 25;
- quality of service (the annex's conversion table, on the converted value rounded to two
  decimals):

      unit value        converted value   quality   performance
      1.00 – 2.5996     25.00 – 64.99     D         tidak baik
      2.60 – 3.064      65.00 – 76.60     C         kurang baik
      3.0644 – 3.532    76.61 – 88.30     B         baik
      3.5324 – 4.00     88.31 – 100.00    A         sangat baik

The period counts ratings by when they were given (local days, apoa/periods.py). Figures leave
the office (the dashboard of a head, the monthly report): below K (3) answers the value, category
and element means are withheld and the count reads "< 3" (the rule of apoa/summaries).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_decimal, lazy_gettext as _l
from sqlalchemy import func, select, true

from apoa.audit.services import record
from apoa.auth.permissions import ALL_OFFICES
from apoa.core.vocabulary import TitledEnum, titled
from apoa.errors import Conflict, UserValueError
from apoa.extensions import db
from apoa.feedback.models import SKM_COLUMNS, ServiceRating
from apoa.periods import local_midnight
from apoa.reports.states import State
from apoa.summaries.figures import scope_for

log = logging.getLogger("apoa.feedback")

MAX_COMMENT = 1000
SCORES = (1, 2, 3, 4)
MIN_ANSWERS = 3     # fewer answers: the index is not shown (the "< 3" rule of the summaries)
CONVERSION = 25


class SkmElement(TitledEnum):
    """The nine elements (unsur) of the SKM, in the regulation's order; each value names its
    column in service_rating."""

    requirements = "requirements"
    procedure = "procedure"
    duration = "duration"
    cost = "cost"
    product = "product"
    competence = "competence"
    conduct = "conduct"
    complaints = "complaints"
    facilities = "facilities"


titled(SkmElement, {
    SkmElement.requirements: _l("Requirements"),
    SkmElement.procedure: _l("Systems, mechanisms and procedures"),
    SkmElement.duration: _l("Time to complete"),
    SkmElement.cost: _l("Costs and fees"),
    SkmElement.product: _l("Products and service specifications"),
    SkmElement.competence: _l("Competence of the staff"),
    SkmElement.conduct: _l("Conduct of the staff"),
    SkmElement.complaints: _l("Handling of complaints, suggestions and input"),
    SkmElement.facilities: _l("Facilities and infrastructure"),
})
assert tuple(e.value for e in SkmElement) == SKM_COLUMNS, "the model's columns are the elements"

SCORE_WORDS = {1: _l("Not appropriate"), 2: _l("Less appropriate"), 3: _l("Appropriate"),
               4: _l("Very appropriate")}


class Quality(TitledEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


titled(Quality, {Quality.A: _l("Very good"), Quality.B: _l("Good"), Quality.C: _l("Fair"),
                 Quality.D: _l("Poor")})

# The lowest converted value of each quality (the annex's table), best first.
QUALITY_FLOORS = ((Decimal("88.31"), Quality.A), (Decimal("76.61"), Quality.B),
                  (Decimal("65.00"), Quality.C), (Decimal("25.00"), Quality.D))


# --- rating --------------------------------------------------------------------------------------

def can_rate(report):
    """Whether the reporter may rate the service for `report` now: closed and not yet rated."""
    return report.state == State.closed.value and rating_of(report) is None


def rating_of(report):
    return db.session.scalar(select(ServiceRating).where(ServiceRating.report_id == report.id))


def rate(report, answers, comment=None, now=None):
    """Record the rating of the service for `report`: `answers` maps each SkmElement (or its
    value) to a score 1..4. Returns the ServiceRating; flushes, never commits.

    UserValueError for a report not closed, a missing or unknown score or a comment too long;
    Conflict when the report was rated already."""
    if report.state != State.closed.value:
        raise UserValueError(_l("The service can be rated once the report is completed."))
    scores = _scores(answers)
    comment = _comment(comment)
    if rating_of(report) is not None:
        raise Conflict(_l("The service for this report has already been rated. Thank you."))
    # Stamped by the app's clock (as a report's submission is), not the database's.
    rating = ServiceRating(report_id=report.id, office_id=report.office_id, comment=comment,
                           rated_at=now or datetime.now(timezone.utc), **scores)
    db.session.add(rating)
    db.session.flush()
    record("service.rated", f"report:{report.id}", {"comment": comment is not None})
    log.info("service rated for report %s", report.id)
    return rating


def _scores(answers):
    given = {SkmElement(key).value if _is_element(key) else None: value
             for key, value in (answers or {}).items()}
    scores = {}
    for element in SkmElement:
        value = given.get(element.value)
        try:
            score = int(value)
        except (TypeError, ValueError):
            score = None
        if score not in SCORES:
            raise UserValueError(_l("Choose a score from 1 to 4 for “%(element)s”.",
                                    element=element.title))
        scores[element.value] = score
    return scores


def _is_element(key):
    return key in SkmElement._value2member_map_ or isinstance(key, SkmElement)


def _comment(comment):
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise UserValueError(_l("Write at most %(max)d characters in the comment.",
                                max=MAX_COMMENT))
    return comment or None


# --- the index ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ikm:
    answers: int
    means: dict | None          # SkmElement → NRR (Decimal, 2 places); None when withheld
    unit_value: Decimal | None  # 1..4, 4 places
    value: Decimal | None       # 25..100, 2 places
    quality: Quality | None

    @property
    def shown(self):
        return self.value is not None

    @property
    def value_text(self):
        """The converted value as the page's language writes it ("82,41"), or None."""
        return None if self.value is None else format_decimal(self.value, format="#,##0.00")

    @property
    def answers_text(self):
        """The number of answers, "< 3" below the threshold (0 stays 0)."""
        return f"< {MIN_ANSWERS}" if 0 < self.answers < MIN_ANSWERS else str(self.answers)

    def mean_text(self, element):
        return format_decimal(self.means[element], format="0.00")


def quality_of(value):
    """The Quality of a converted IKM value (25..100)."""
    value = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return next((quality for floor, quality in QUALITY_FLOORS if value >= floor), Quality.D)


def index_of(means):
    """(unit value, converted value) from the nine NRR (exact numbers, equal weights 1/9)."""
    unit = sum((Decimal(m) for m in means), Decimal(0)) / len(SkmElement)
    return unit, unit * CONVERSION


def ikm(office_ids, start, end, min_answers=MIN_ANSWERS):
    """The Ikm of the ratings given from local day `start` (included) to `end` (excluded) for
    `office_ids` (a set, or ALL_OFFICES). Below `min_answers` only the count is given."""
    columns = [getattr(ServiceRating, e.value) for e in SkmElement]
    query = (select(func.count(), *(func.avg(c) for c in columns))
             .where(ServiceRating.rated_at >= local_midnight(start),
                    ServiceRating.rated_at < local_midnight(end), _in_offices(office_ids)))
    answers, *averages = db.session.execute(query).one()
    if answers < max(min_answers, 1):
        return Ikm(answers, None, None, None, None)
    unit, value = index_of(averages)
    two = Decimal("0.01")
    return Ikm(answers=answers,
               means={e: Decimal(a).quantize(two, ROUND_HALF_UP)
                      for e, a in zip(SkmElement, averages)},
               unit_value=unit.quantize(Decimal("0.0001"), ROUND_HALF_UP),
               value=value.quantize(two, ROUND_HALF_UP), quality=quality_of(value))


def _in_offices(office_ids):
    if office_ids is ALL_OFFICES:
        return true()
    return ServiceRating.office_id.in_(sorted(office_ids) or [-1])


def ikm_for(user, period, office_id=None):
    """The Ikm of `period` over what `user`'s summaries cover (apoa/summaries/figures.scope_for:
    NotFound when the user may not see aggregates there)."""
    return ikm(scope_for(user, office_id).office_ids, period.start, period.end)


def rated_reports(report_ids):
    """The ids among `report_ids` whose service has been rated."""
    if not report_ids:
        return set()
    return set(db.session.scalars(select(ServiceRating.report_id)
                                  .where(ServiceRating.report_id.in_(report_ids))))
