"""Residents' phones sending the report form over HTTP, as a browser does, and retrying as a phone
does when the network or the server fails: the same request again, with the same submission key.

Each report starts like a browser visit: GET /lapor (cookies, CSRF token, signed fill-time stamp
and the form's own submission key), then POST the form as multipart/form-data. A 303 to
/lapor/tanda-terima/<code> is the receipt the resident keeps. A dropped connection, a timeout or
a 5xx answer is retried after a short pause; any other answer is a failure of the test.
"""
import http.client
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie

# What the page gives the browser to send back: the CSRF token, the signed time the form was
# shown, and the key that makes every resend of this report the same report.
HIDDEN_FIELDS = ("csrf_token", "started_at", "submission_key")
RECEIPT_PATH = re.compile(r"/lapor/tanda-terima/([0-9A-Z]+)$")
RETRY_PAUSE = 0.2
REQUEST_TIMEOUT = 15
# After the load ends a phone finishes the report it is sending, for at most this long.
FINISH_SECONDS = 40
WIB = timezone(timedelta(hours=7))
KARAWANG = ("-6.30", "107.30")


class Retry(Exception):
    """The server or the network failed: send the same request again."""


@dataclass
class Receipt:
    submission_key: str
    tracking_code: str
    at: float  # time.monotonic() when the phone got it


@dataclass
class Tally:
    receipts: list = field(default_factory=list)
    retries: int = 0
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_receipt(self, receipt):
        with self.lock:
            self.receipts.append(receipt)

    def add_retry(self):
        with self.lock:
            self.retries += 1

    def add_failure(self, failure):
        with self.lock:
            self.failures.append(failure)


def report_fields(category_id):
    """What a resident types: an anonymous report in Kabupaten Karawang, seen two hours ago."""
    observed = (datetime.now(WIB) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    return {"category": str(category_id),
            "description": "Lima orang asing bekerja di proyek tanpa izin.", "people_count": "5",
            "nationality": "CN", "place_kind": "project_site", "observed_at": observed,
            "utc_offset": "420", "latitude": KARAWANG[0], "longitude": KARAWANG[1],
            "accuracy_m": "", "address": "Jl. Industri", "reporter": "anonymous", "consent": "y",
            "website": ""}


class Phone(threading.Thread):
    """Sends reports one after another until `stop_at`, then finishes the one on its way."""

    def __init__(self, port, fields, stop_at, tally):
        super().__init__(daemon=True)
        self.port, self.fields, self.stop_at, self.tally = port, fields, stop_at, tally
        self.cookies = {}
        self.give_up_at = stop_at + FINISH_SECONDS

    def run(self):
        try:
            while time.monotonic() < self.stop_at:
                self.tally.add_receipt(self.send_one_report())
        except Exception as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.tally.add_failure(f"{type(error).__name__}: {error}")

    def send_one_report(self):
        form = self.until_answered(self.open_form)
        body, content_type = multipart({**self.fields, **form})
        code = self.until_answered(lambda: self.post_form(body, content_type))
        return Receipt(form["submission_key"], code, time.monotonic())

    def until_answered(self, attempt):
        while True:
            try:
                return attempt()
            except Retry:
                self.tally.add_retry()
                if time.monotonic() > self.give_up_at:
                    raise TimeoutError("no answer from the server in time") from None
                time.sleep(RETRY_PAUSE)

    def open_form(self):
        status, _headers, page = self.request("GET", "/lapor")
        if status != 200:
            raise AssertionError(f"GET /lapor answered {status}")
        return {name: hidden_value(page, name) for name in HIDDEN_FIELDS}

    def post_form(self, body, content_type):
        status, headers, page = self.request("POST", "/lapor", body, {"Content-Type": content_type})
        match = RECEIPT_PATH.search(headers.get("Location") or "")
        if status != 303 or not match:
            raise AssertionError(f"POST /lapor answered {status}: {page[:300]!r}")
        return match.group(1)

    def request(self, method, path, body=None, headers=None):
        """(status, headers, text); Retry on a network failure or a 5xx, as a phone would."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body, {**(headers or {}), **self.cookie_header()})
            response = connection.getresponse()
            page = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise Retry from error
        finally:
            connection.close()
        if response.status >= 500:
            raise Retry
        self.keep_cookies(response.headers.get_all("Set-Cookie") or [])
        return response.status, response.headers, page

    def cookie_header(self):
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def keep_cookies(self, set_cookies):
        for line in set_cookies:
            for name, morsel in SimpleCookie(line).items():
                self.cookies[name] = morsel.value


def hidden_value(page, name):
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    value = tag and re.search(r'\bvalue="([^"]*)"', tag.group(0))
    if not value:
        raise AssertionError(f"the form has no {name}")
    return value.group(1)


def multipart(fields):
    """The body a browser sends for the report form (enctype="multipart/form-data")."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode("utf-8"), f"multipart/form-data; boundary={boundary}"


class Load:
    """`phones` phones sending reports for `seconds`; `finish()` waits for them all. Used as a
    context manager, a test that fails midway calls its phones off instead of leaving them on."""

    def __init__(self, port, fields, phones=16, seconds=12):
        self.tally = Tally()
        stop_at = time.monotonic() + seconds
        self.phones = [Phone(port, fields, stop_at, self.tally) for _ in range(phones)]

    def __enter__(self):
        for phone in self.phones:
            phone.start()
        return self

    def __exit__(self, *_exception):
        for phone in self.phones:
            phone.stop_at = phone.give_up_at = 0
            phone.join(timeout=REQUEST_TIMEOUT + 5)

    def receipts_so_far(self):
        with self.tally.lock:
            return len(self.tally.receipts)

    def finish(self):
        for phone in self.phones:
            phone.join(timeout=FINISH_SECONDS + 30)
        assert not any(phone.is_alive() for phone in self.phones), "a phone never finished"
        return self.tally
