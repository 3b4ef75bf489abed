"""Anomalies: a kabupaten/kota whose count this week rises far above its own usual weeks.

The method, as the dashboard explains it: for each kabupaten/kota take its weekly report counts of
the BASELINE_WEEKS weeks before the week looked at (weeks without reports count as 0). Their median
is the usual level and their median absolute deviation (MAD) the usual spread; both ignore a
single odd week, unlike the mean and standard deviation. The robust z-score

    z = 0.6745 × (this week − median) / MAD

(Iglewicz and Hoaglin's modified z-score; 0.6745 makes it comparable with an ordinary z-score) is
flagged at Z_THRESHOLD or more. When the usual weeks hardly vary (MAD below MIN_MAD, e.g. a
kabupaten that always has 0 or 1 report) MIN_MAD is used instead, so one or two reports more do
not make an alarm; and fewer than MIN_COUNT reports in the week are never flagged. The reason
shown names the week's count and the usual range (the middle half of the usual weeks).
A flag is a prompt to look, never a decision about anyone.
"""
import statistics
from dataclasses import dataclass
from datetime import timedelta

BASELINE_WEEKS = 12
Z_THRESHOLD = 3.5
MIN_COUNT = 5
MIN_MAD = 1.0
CONSISTENCY = 0.6745


@dataclass(frozen=True)
class Anomaly:
    kab_id: int
    week_start: object      # a date, the Monday of the week looked at
    count: int
    usual_low: int          # the middle half of the baseline weeks: 25th to 75th percentile
    usual_high: int
    median: float
    mad: float
    score: float

    @property
    def week_end(self):
        return self.week_start + timedelta(days=6)


def robust_score(count, baseline):
    """(z, median, MAD used) of `count` against the `baseline` weekly counts."""
    median = statistics.median(baseline)
    mad = max(statistics.median(abs(x - median) for x in baseline), MIN_MAD)
    return CONSISTENCY * (count - median) / mad, median, mad


def usual_range(baseline):
    """The 25th and 75th percentiles of the baseline, rounded to whole reports."""
    quartiles = statistics.quantiles(baseline, n=4, method="inclusive")
    return round(quartiles[0]), round(quartiles[2])


def find_anomalies(per_kab_weeks, week_start):
    """Anomalies of the week starting `week_start` from {kab_id: {week monday: count}}, strongest
    first. The baseline is the BASELINE_WEEKS weeks just before."""
    baseline_weeks = [week_start - timedelta(days=7 * k) for k in range(BASELINE_WEEKS, 0, -1)]
    found = []
    for kab_id, weeks in per_kab_weeks.items():
        count = weeks.get(week_start, 0)
        if count < MIN_COUNT:
            continue
        baseline = [weeks.get(week, 0) for week in baseline_weeks]
        score, median, mad = robust_score(count, baseline)
        if score >= Z_THRESHOLD:
            low, high = usual_range(baseline)
            found.append(Anomaly(kab_id, week_start, count, low, high, median, mad,
                                 round(score, 1)))
    return sorted(found, key=lambda a: (-a.score, -a.count,
                                        a.kab_id if a.kab_id is not None else -1))
