"""The rows of the maps benchmark's synthetic reports: every column, valid by construction.

States follow the report's age (old reports are mostly closed). Every row satisfies the report
table's CHECK constraints: an outcome exactly for pending_approval and closed, an action taken
exactly for violation_found, the original named by a duplicate (the previous report of the same
kabupaten, so a lower id), an assignee for assigned and in_field (and for reports closed with a
finding from the field). Tracking codes have the product's shape and check symbol. RowStream
formats the rows as COPY text while PostgreSQL reads them.
"""
import io
import math

import numpy as np

# The officer of DITJEN assigns reports outside every Kantor's jurisdiction.
DITJEN_OFFICE = "DITJEN"

DAYS = 365

DESCRIPTIONS = (
    "Beberapa pekerja asing terlihat di lokasi proyek pada malam hari.",
    "Orang asing menginap di rumah warga sejak dua minggu dan belum dilaporkan ke RT.",
    "Warga negara asing membuka usaha kios di pasar tanpa izin yang jelas.",
    "Sekelompok orang asing sering datang ke gudang dekat sungai.",
    "Tamu asing di penginapan tidak terdaftar di buku tamu.",
    "Orang asing bekerja sebagai pemandu wisata tanpa kartu izin.",
)
STATES = ("new", "screening", "assigned", "in_field", "pending_approval", "closed")
# Weights of STATES by the report's age in days: [upper bound of the age band, weights].
STATE_BY_AGE = ((2, (50, 30, 10, 5, 5, 0)), (14, (5, 15, 20, 25, 15, 20)),
                (60, (1, 4, 5, 10, 10, 70)), (math.inf, (0, 1, 0, 2, 2, 95)))
OUTCOMES = ("violation_found", "compliant", "not_found", "unfounded", "duplicate", "out_of_scope")
OUTCOME_WEIGHTS = {"closed": (20, 30, 20, 15, 10, 5), "pending_approval": (30, 30, 20, 15, 0, 5)}
FIELD_OUTCOMES = {"violation_found", "compliant", "not_found"}  # found by an assignee in the field
ACTIONS = ("administrative", "deportation", "pro_justitia", "referral")
CATEGORY_WEIGHTS = (25, 30, 15, 20, 10)   # by category position
CHANNELS = (("web", 60), ("android", 25), ("whatsapp", 10), ("api", 3), ("officer", 2))
PLACE_KINDS = ("residence", "lodging", "workplace", "project_site", "public_place", "other")
NATIONALITIES = ("CN", "IN", "KR", "MY", "PH", "VN", "TH", "US", "AU", "NG", None, None, None)
ACCURACIES = (None, 5.0, 10.0, 25.0, 50.0, 100.0)
DUE_DAYS = {"new": 1, "screening": 1, "assigned": 4, "in_field": 4, "pending_approval": 5}

COLUMNS = ("id", "tracking_code", "state", "outcome", "action_taken", "category_id", "description",
           "people_count", "nationality_guess", "place_kind", "observed_at", "location", "accuracy_m",
           "kab_id", "kec_id", "office_id", "channel", "consent", "duplicate_of_id", "assignee_id",
           "due_at", "created_at", "updated_at")


def tracking_codes(count, rng):
    """Unique codes of the product's shape (13 Crockford base-32 symbols + a Luhn mod 32 check
    symbol, apoa/reports/tracking.py), drawn from the seeded generator."""
    from apoa.reports.tracking import ALPHABET, DATA_LENGTH, normalise

    alphabet = np.array(list(ALPHABET))
    while True:
        data = rng.integers(0, 32, size=(count, DATA_LENGTH))
        factors = np.where(np.arange(DATA_LENGTH)[::-1] % 2 == 0, 2, 1)  # 2 on the last symbol
        addends = data * factors
        check = (-(addends // 32 + addends % 32).sum(axis=1)) % 32
        symbols = alphabet[np.concatenate([data, check[:, None]], axis=1)]
        codes = np.array(["".join(row) for row in symbols.tolist()])
        if len(np.unique(codes)) == count:
            break
    assert all(normalise(code) == code for code in codes[:1000]), "tracking codes do not check"
    return codes


def choose_states(age_days, rng):
    states = np.empty(len(age_days), dtype=object)
    lower = 0
    for upper, weights in STATE_BY_AGE:
        band = np.flatnonzero((age_days >= lower) & (age_days < upper))
        p = np.array(weights, dtype=float) / sum(weights)
        states[band] = np.array(STATES, dtype=object)[rng.choice(len(STATES), size=band.size, p=p)]
        lower = upper
    return states


def choose_outcomes(states, kab, rng):
    """Outcome, action taken and duplicate_of (row index or -1) per row (rows sorted by time)."""
    outcomes = np.full(len(states), None, dtype=object)
    for state, weights in OUTCOME_WEIGHTS.items():
        rows = np.flatnonzero(states == state)
        p = np.array(weights, dtype=float) / sum(weights)
        outcomes[rows] = np.array(OUTCOMES, dtype=object)[rng.choice(len(OUTCOMES), size=rows.size, p=p)]
    # A duplicate names the previous report of the same kabupaten; the first of a kabupaten cannot
    # be one, so it is unfounded instead.
    order = np.lexsort((np.arange(len(kab)), kab))
    previous = np.full(len(kab), -1)
    same = kab[order][1:] == kab[order][:-1]
    previous[order[1:][same]] = order[:-1][same]
    duplicate = outcomes == "duplicate"
    outcomes[duplicate & (previous < 0)] = "unfounded"
    duplicate_of = np.where(outcomes == "duplicate", previous, -1)
    actions = np.full(len(states), None, dtype=object)
    violations = np.flatnonzero(outcomes == "violation_found")
    actions[violations] = np.array(ACTIONS, dtype=object)[rng.integers(0, len(ACTIONS), violations.size)]
    return outcomes, actions, duplicate_of


def choose_assignees(states, outcomes, offices, officers, rng):
    """The office's officer (else the Ditjen's) for reports someone was sent out on."""
    sent = np.isin(states, ("assigned", "in_field")) | np.isin(outcomes, tuple(FIELD_OUTCOMES))
    fallback = officers[DITJEN_OFFICE]
    by_office = np.array([officers.get(o, fallback) for o in range(offices.max() + 2)]) if offices.size else None
    assignee = np.where(offices >= 0, by_office[np.maximum(offices, 0)], fallback)
    return np.where(sent, assignee, -1)


def weighted(options, size, rng):
    values, weights = zip(*options)
    p = np.array(weights, dtype=float) / sum(weights)
    return np.array(values, dtype=object)[rng.choice(len(values), size=size, p=p)]


def iso(moments):
    return np.datetime_as_string(moments.astype("datetime64[s]"), unit="s", timezone="UTC")


def report_columns(lon, lat, ids, categories, officers, rng, now):
    """Every column of every row, as arrays of text (None for NULL), rows ordered by created_at."""
    count = len(lon)
    age_days = np.sort(rng.uniform(0, DAYS, count))[::-1]  # oldest first: ids grow with time
    created = np.datetime64(now.replace(tzinfo=None), "s") - (age_days * 86400).astype("timedelta64[s]")
    states = choose_states(age_days, rng)
    outcomes, actions, duplicate_of = choose_outcomes(states, ids[:, 1], rng)
    report_ids = np.arange(1, count + 1)
    assignees = choose_assignees(states, outcomes, ids[:, 2], officers, rng)
    due_days = np.array([DUE_DAYS.get(s, 0) for s in states])
    updated_hours = np.minimum(rng.exponential(72, count), age_days * 24)
    return {
        "id": report_ids, "tracking_code": tracking_codes(count, rng), "state": states,
        "outcome": outcomes, "action_taken": actions,
        "category_id": np.array(categories)[rng.choice(len(categories), size=count,
                                                        p=np.array(CATEGORY_WEIGHTS) / sum(CATEGORY_WEIGHTS))],
        "description": np.array(DESCRIPTIONS, dtype=object)[rng.integers(0, len(DESCRIPTIONS), count)],
        "people_count": 1 + np.minimum(rng.geometric(0.45, count) - 1, 40),
        "nationality_guess": np.array(NATIONALITIES, dtype=object)[rng.integers(0, len(NATIONALITIES), count)],
        "place_kind": np.array(PLACE_KINDS, dtype=object)[rng.integers(0, len(PLACE_KINDS), count)],
        "observed_at": iso(created - (rng.uniform(0.5, 48, count) * 3600).astype("timedelta64[s]")),
        "location": ewkb_hex(lon, lat), "accuracy_m": np.array(ACCURACIES, dtype=object)[
            rng.integers(0, len(ACCURACIES), count)],
        "kab_id": ids[:, 1], "kec_id": ids[:, 0], "office_id": ids[:, 2],
        "channel": weighted(CHANNELS, count, rng), "consent": np.full(count, "t", dtype=object),
        "duplicate_of_id": np.where(duplicate_of >= 0, duplicate_of + 1, -1), "assignee_id": assignees,
        "due_at": np.where(due_days > 0, iso(created + (due_days * 86400).astype("timedelta64[s]")), None),
        "created_at": iso(created),
        "updated_at": iso(created + (updated_hours * 3600).astype("timedelta64[s]")),
    }


def ewkb_hex(lon, lat):
    """Hex EWKB of POINT(lon lat) with SRID 4326: what PostGIS reads fastest from COPY text."""
    xy = np.empty((len(lon), 2), dtype="<f8")
    xy[:, 0], xy[:, 1] = lon, lat
    hexed = xy.tobytes().hex().upper()
    prefix = "0101000020E6100000"
    return [prefix + hexed[i:i + 32] for i in range(0, len(hexed), 32)]


class RowStream(io.RawIOBase):
    """A file for copy_expert that formats the rows as COPY text while PostgreSQL reads it."""

    def __init__(self, columns, chunk=20_000):
        self.columns, self.chunk = columns, chunk
        self.count = len(columns["id"])
        self.position, self.buffer = 0, b""

    def readable(self):
        return True

    def _format(self, start, stop):
        texts = []
        for name in COLUMNS:
            values = self.columns[name][start:stop]
            values = values.tolist() if hasattr(values, "tolist") else list(values)
            texts.append(["\\N" if v is None or (type(v) is int and v < 0) else str(v) for v in values])
        return ("\n".join("\t".join(row) for row in zip(*texts)) + "\n").encode()

    def read(self, size=-1):
        while len(self.buffer) < max(size, 1) and self.position < self.count:
            stop = min(self.position + self.chunk, self.count)
            self.buffer += self._format(self.position, stop)
            self.position = stop
        size = len(self.buffer) if size < 0 else size
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out
