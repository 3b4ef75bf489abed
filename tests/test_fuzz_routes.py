"""Odd input at every route, as every role: never a 5xx, never a stack trace in the body, and what
a resident typed comes back on the re-shown report form.

Routes are read from app.url_map, so a new route is covered without touching this file: each
argument of its path gets a real value (a report, its photo, its tracking code, a staff user) or,
for an argument name this file does not know, a value by its converter's type — and sometimes an
odd value instead. Every form of the app (each subclass of apoa.forms.BaseForm) gives its field
names, so a new form's fields are fuzzed too; the query arguments that views read directly are
listed in QUERY_NAMES. Hypothesis draws the method (the route's own or an odd one), the role, and
the values: NUL and other control characters, huge strings, dates at the calendar's edges,
digits that are not ASCII, numbers past every column's range.
"""
import os
import traceback
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import current_app
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from markupsafe import escape
from werkzeug.routing import AnyConverter, IntegerConverter

from apoa.extensions import limiter
from apoa.forms import BaseForm, without_controls
from apoa.reports.contact import Contact, encrypt_contact
from apoa.reports.states import State
from apoa.reports.workflow import Action
from tests.factories import World
from tests.reports.helpers import form_data

ROLES = ("anonymous", "resident", "officer", "supervisor", "regional_head", "admin")
ODD_METHODS = ("PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND")
# The one answer that is right to be a 5xx: /healthz says 503 while no job worker beats, and
# none runs here.
DESIGNED_5XX = {"health.healthz"}
# Query arguments that views read from request.args / request.form themselves, not via a form.
QUERY_NAMES = ("bbox", "zoom", "page", "period", "from", "to", "bulan", "office", "lang", "next", "lat", "lon",
               "layer", "submission_key", "code", "kind", "fmt", "q")
# Starting points that pass validation, so that one odd field is checked against the rest being
# valid and the code behind the form runs too.
BBOX = {"bbox": "106.9,-6.7,107.7,-5.9", "zoom": "9"}
STACK_TRACE_MARKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc",
                     "psycopg.errors")

# Derandomized: the same draws on every run, so a result never depends on luck (FUZZ_RANDOM=1
# and more examples, FUZZ_EXAMPLES / FUZZ_FORM_EXAMPLES, for a longer hunt by hand). No shrinking:
# the failing request is in the message already, and shrinking one takes minutes.
SETTINGS = dict(deadline=None, derandomize=not os.environ.get("FUZZ_RANDOM"), phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


# --- odd values ----------------------------------------------------------------------------------

EDGE_TEXT = ("", " ", "\x00", "a\x00b", "\x00" * 50, "\x1b[2J", "\x7f", "\u0085", "\u2028",
             "\u202e", "\ufeff", "²", "³⁴", "١٢", "٣", "𝟗", "٠٠٠٠-٠١", "-1", "0", "007",
             "99999999999999999999", "1e309", "nan", "inf", "-0", "0x1f", "None", "true",
             "2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31", "0000-01-01", "0000-01",
             "9999-12", "0001-01-01T00:00", "9999-12-31T23:59", "-6,30", "1,2,3,4",
             "-180,-90,180,90", "180,90,-180,-90", "../../etc/passwd", "%00", "<script>x</script>",
             "'; DROP TABLE report; --", "{{7*7}}", "%(max)d", "%s%s%s", "\\", "//evil.example",
             "/\\evil.example", "javascript:alert(1)", "a@b", "@", "x@" + "y" * 300 + ".id")

huge_text = st.builds(lambda piece, n: piece * n,
                      st.sampled_from(["a", "9", "\x00", "é", "ß", "𝟗", "<", " "]),
                      st.integers(min_value=300, max_value=20_000))
edge_dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
edge_times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)
                          ).map(lambda at: at.strftime("%Y-%m-%dT%H:%M"))
controls = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]),
                   min_size=1, max_size=20)
# Ordinary words with control characters among them: the rest of the value still passes.
words_with_controls = st.tuples(st.sampled_from(["Orang asing bekerja", "Jl. Industri 5", "Sari",
                                                 "0812 3456 7890", "sari@example.com", "-6.30"]),
                                controls, st.sampled_from(["", " di proyek tanpa izin.", "x"])
                                ).map("".join)
# PostgreSQL stores every control character but NUL: that one gets a branch of its own.
words_with_nul = words_with_controls.map(lambda text: text.replace(text[len(text) // 2], "\x00"))
odd_text = st.one_of(st.sampled_from(EDGE_TEXT), words_with_controls, words_with_nul,
                     st.text(max_size=80), huge_text, edge_dates, edge_times,
                     st.integers().map(str),
                     st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=8))
# The values that broke forms before (issue 10): each goes into every field of every form.
KNOWN_BREAKERS = ("Orang asing bekerja\x00 di proyek.", "x" * 5000, "9" * 5000, "²", "0000-01",
                  "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59")
BIG_IDS = (0, -1, 2**31, 2**63, 10**30)


# --- the routes ----------------------------------------------------------------------------------

def fuzzed_rules(app):
    """Every rule of the app but the static files' (Flask's own, not ours to fuzz)."""
    return sorted((rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
                  key=lambda rule: rule.rule)


def field_names():
    """The names every form of the app reads (with the prefix of the officers' action forms)."""
    names = set(QUERY_NAMES)
    for form in all_subclasses(BaseForm):
        action = getattr(form, "action", None)
        prefix = f"{action.value}-" if action is not None else ""
        names.update(prefix + name for name in dir(form)
                     if getattr(getattr(form, name), "field_class", None) is not None)
    return sorted(names)


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


class Site:
    """The world the fuzz runs in: the World's offices and staff, a resident, a report of KANIM-A
    with a photo and the reporter's contact, and a staff user that admin actions may change
    (never a signed-in one)."""

    def __init__(self, make, sign_in, client):
        self.world = World(make)
        actors = self.world.actors
        self.report = self.world.report_in(State.screening)
        self.report.contact = encrypt_contact(Contact(name="Budi", phone="081234567890"))
        self.photo = make.photo(self.report, Path(current_app.config["UPLOAD_DIR"]))
        self.target = make.user("officer", self.world.office)
        self.clients = {"anonymous": client}
        for role in ROLES[1:]:
            self.clients[role] = sign_in(actors[role])
        self.real = {"report_id": self.report.id, "attachment_id": self.photo.id,
                     "code": self.report.tracking_code, "user_id": self.target.id,
                     "job_id": "no-such-job", "package": "leaflet", "filename": "leaflet.js"}

    def real_values(self, rule):
        """A real value for each argument of `rule`'s path."""
        return {name: self.real_value(name, converter)
                for name, converter in rule._converters.items()}

    def real_value(self, name, converter):
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)[0]
        if name == "action_name":
            return Action.screen.value
        return self.real.get(name, 1 if isinstance(converter, IntegerConverter) else "x")

    def path_values(self, rule, draw):
        """A value for each argument of `rule`'s path: real, or now and then an odd one."""
        values = {}
        for name, converter in rule._converters.items():
            values[name] = draw(self.argument(name, converter))
        return values

    def argument(self, name, converter):
        if isinstance(converter, AnyConverter):
            return st.sampled_from(sorted(converter.items))
        if name == "action_name":
            return st.sampled_from([a.value for a in Action]) | odd_text.filter(_path_safe)
        if isinstance(converter, IntegerConverter):
            return st.sampled_from([self.real.get(name, 1), *BIG_IDS])
        real = st.just(self.real.get(name, "x"))
        return st.one_of(real, real, odd_text.filter(_path_safe))


def _path_safe(value):
    # An empty path segment or a "/" matches another rule (or none): not this route's test.
    return value and "/" not in value and value not in (".", "..")


def baseline(endpoint, prefix_of):
    """Form data that passes validation for the endpoints whose forms do work."""
    return {
        "public.submit": lambda: form_data(),
        "public.follow_up": lambda: {"note": "Orang asing itu masih bekerja di sana setiap hari."},
        "public.status_lookup": lambda: {"code": "ABCDE-FGHJK-MNPQ"},
        "auth.register": lambda: {"name": "Sari", "email": f"{uuid.uuid4().hex}@example.com",
                                  "password": "rahasia-panjang", "confirm": "rahasia-panjang"},
        "auth.login": lambda: {"email": "nobody@example.com", "password": "rahasia-panjang"},
        "officer.reveal": lambda: {"reason": "Perlu menghubungi pelapor untuk lokasi tepat."},
        "officer.act": lambda: {f"{prefix_of}-reason": "Alasan yang cukup panjang untuk ini.",
                                f"{prefix_of}-note": "Catatan yang cukup panjang untuk ini."},
        "admin.new_user": lambda: {"name": "Petugas", "email": f"{uuid.uuid4().hex}@example.com",
                                   "role": "officer", "office": "KANIM-A"},
        "maps.map_data": lambda: dict(BBOX), "maps.outlines": lambda: dict(BBOX),
        "regional.data": lambda: dict(BBOX),
    }.get(endpoint, dict)()


# --- asking --------------------------------------------------------------------------------------

def ask(client, method, url, query, form):
    """The answer's status and body, read to the end (exports stream); an exception that escapes
    the app's error handlers fails the test with its traceback."""
    try:
        answer = client.open(url, method=method, query_string=query,
                             data=form if method not in ("GET", "HEAD") else None)
        body = answer.get_data().decode("utf-8", errors="replace")  # photos, PDFs: bytes
        answer.close()
    except Exception:  # noqa: BLE001 - any escape is the finding
        pytest.fail(f"{method} {url} {query!r} {form!r} raised:\n{traceback.format_exc()}")
    return answer.status_code, body


def check(endpoint, method, url, status, body):
    if os.environ.get("FUZZ_TALLY"):
        with open(os.environ["FUZZ_TALLY"], "a") as f:
            f.write(f"{endpoint} {method} {status}\n")
    if endpoint not in DESIGNED_5XX:
        assert status < 500, f"{method} {url} answered {status}:\n{body[:2000]}"
    for mark in STACK_TRACE_MARKS:
        assert mark not in body, f"{method} {url} shows a stack trace:\n{body[:2000]}"


@pytest.fixture
def site(make, sign_in, client):
    return Site(make, sign_in, client)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 20)), **SETTINGS)
@given(data=st.data())
def test_no_route_answers_5xx_to_odd_input(app, site, data):
    """Each draw is one role asking every route once, with odd values in the query, the form
    and the path, by the route's own method or an odd one."""
    role = data.draw(st.sampled_from(ROLES), label="role")
    names = field_names()
    for rule in fuzzed_rules(app):
        own = sorted(rule.methods - {"HEAD", "OPTIONS"})
        # Mostly the route's own method: the odd ones have a test of their own below.
        method = data.draw(st.sampled_from(own * 12 + list(ODD_METHODS)), label="method")
        if role != "anonymous" and rule.endpoint == "auth.logout" and method == "POST":
            method = "PUT"  # signing out would leave the rest of the draw anonymous
        values = site.path_values(rule, data.draw)
        url = app.url_map.bind("localhost").build(rule.endpoint, values, method=own[0])
        base = baseline(rule.endpoint, values.get("action_name"))
        odd = st.dictionaries(st.sampled_from(names), odd_text, max_size=4)
        form = {**base, **data.draw(odd, label="form")}
        query = {**(base if method == "GET" else {}), **data.draw(odd, label="query")}
        limiter.reset()  # every draw meets the forms, not the rate limits
        status, body = ask(site.clients[role], method, url, query, form)
        check(rule.endpoint, method, url, status, body)


# The routes whose forms do work, by the roles that may use them; each has a baseline above.
ACTIONS = ("dismiss", "reopen", "transfer", "screen", "send_back")
FORM_ROUTES = {
    "public.submit": ("anonymous", "resident"), "public.follow_up": ("anonymous", "resident"),
    "public.status_lookup": ("anonymous",), "auth.register": ("anonymous",),
    "auth.login": ("anonymous",), "officer.reveal": ("supervisor",),
    "officer.act": ("officer", "supervisor"), "admin.new_user": ("admin",),
}


def form_fields(app, site):
    """(role, endpoint, path values, field) for every field of every form route and its roles."""
    for endpoint, roles in sorted(FORM_ROUTES.items()):
        rule = next(r for r in fuzzed_rules(app) if r.endpoint == endpoint)
        for action in ACTIONS if endpoint == "officer.act" else (None,):
            values = {**site.real_values(rule), **({"action_name": action} if action else {})}
            for field in sorted(baseline(endpoint, action)):
                for role in roles:
                    yield role, endpoint, values, field


def post_one_odd_field(app, site, role, endpoint, values, field, value):
    form = baseline(endpoint, values.get("action_name"))
    form[field] = value
    url = app.url_map.bind("localhost").build(endpoint, values, method="POST")
    limiter.reset()
    status, body = ask(site.clients[role], "POST", url, None, form)
    check(endpoint, "POST", url, status, body)


def test_no_form_answers_5xx_to_a_value_that_broke_one_before(app, site):
    for role, endpoint, values, field in form_fields(app, site):
        for value in KNOWN_BREAKERS:
            post_one_odd_field(app, site, role, endpoint, values, field, value)


@settings(max_examples=int(os.environ.get("FUZZ_FORM_EXAMPLES", 8)), **SETTINGS)
@given(data=st.data())
def test_no_form_answers_5xx_to_an_odd_field(app, site, data):
    """One odd field at a time, the rest of the form valid: the value reaches the code behind
    the form (the service, the database) whenever the form lets it through."""
    for role, endpoint, values, field in form_fields(app, site):
        value = data.draw(odd_text, label=f"{endpoint} {field}")
        post_one_odd_field(app, site, role, endpoint, values, field, value)


def test_every_route_refuses_odd_methods_in_its_own_words(app, site):
    """Every route as every role, by one odd method each (in turn, so each method meets every
    route over the roles): 405 with the app's page (OPTIONS: the allowed methods)."""
    for turn, role in enumerate(ROLES):
        for number, rule in enumerate(fuzzed_rules(app)):
            method = ODD_METHODS[(turn + number) % len(ODD_METHODS)]
            url = app.url_map.bind("localhost").build(rule.endpoint, site.real_values(rule),
                                                      method=sorted(rule.methods)[0])
            status, body = ask(site.clients[role], method, url, None, None)
            check(rule.endpoint, method, url, status, body)
            if method != "OPTIONS":  # OPTIONS: whatever the route's guard says, below 500
                assert status == 405, (role, method, url, status)


# --- what a resident typed -------------------------------------------------------------------------

TYPED_FIELDS = ("description", "address", "contact_name", "contact_phone", "contact_email",
                "latitude", "longitude")


@settings(max_examples=60, **SETTINGS)
@given(field=st.sampled_from(TYPED_FIELDS), value=odd_text, signed_in=st.booleans())
def test_the_report_form_shows_back_what_was_typed(site, field, value, signed_in):
    """Without the consent ticked the form comes back, with every value as typed (less the
    control characters, which no field keeps)."""
    client = site.clients["resident" if signed_in else "anonymous"]
    limiter.reset()
    data = form_data(**{"reporter": "contact", "contact_phone": "0812 3456 7890", field: value,
                        "consent": None})
    status, body = ask(client, "POST", "/lapor", None, data)
    assert status == 400, body[:2000]
    assert str(escape(without_controls(value))) in body
