"""The HTTP client of the WhatsApp Business Cloud API (Meta's Graph API): sending one message and
downloading one medium. Nothing else in APOA talks to Meta.

Every failure becomes a `GraphError` that says whether trying again later may help
(`retryable`) and carries a `reason` made only of HTTP statuses, Meta's error codes and the kind
of network failure. The reason goes to the logs and to the admin's list of failed messages, so
it never holds what a request or an answer carried: numbers, message text, Meta's error message
(which may quote either) or the token.
"""
import requests
from flask import current_app

# Seconds: to open the connection, then between bytes of the answer.
TIMEOUTS = (3, 10)
MEDIA_CHUNK = 64 * 1024
# Meta's codes for throttling and passing trouble on its side; any other 4xx is for good.
RETRYABLE_CODES = frozenset({130429, 131056, 80007, 131000, 1, 2})
TOO_MANY_REQUESTS = 429


class GraphError(Exception):
    """The Graph API refused, or could not be reached. `str()` is the log-safe `reason`."""

    def __init__(self, reason, status=None, code=None, retryable=False, retry_after=None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after

    def as_kind(self, kind):
        """The same failure as another GraphError class."""
        return kind(self.reason, status=self.status, code=self.code, retryable=self.retryable,
                    retry_after=self.retry_after)


class MediaUnavailable(GraphError):
    """A medium could not be had: unknown, too large, or the download failed (see `retryable`)."""


class NotConfigured(GraphError):
    """No Graph API URL is configured: nothing can be sent now (messages wait, queued)."""


def send_message(number, payload):
    """Send one message (`payload` from messages.graph_payload) to `number` (digits only);
    returns WhatsApp's message id ("wamid...."). Raises GraphError."""
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": number,
            **payload}
    answer = _request("POST", _url(_config("WHATSAPP_PHONE_NUMBER_ID"), "messages"), json=body)
    try:
        return str(answer.json()["messages"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        # Accepted, but without an id: trying again could send it twice, so this is final.
        raise GraphError("unexpected answer", status=answer.status_code) from None


def fetch_media(media_id, max_bytes):
    """The bytes and MIME type of a medium a resident sent, at most `max_bytes` of them.
    Raises MediaUnavailable (or NotConfigured)."""
    try:
        info = _media_info(media_id)
        if _size(info.get("file_size")) > max_bytes:
            raise MediaUnavailable("too large")
        data, mime = _download(info["url"], max_bytes)
    except (NotConfigured, MediaUnavailable):
        raise
    except GraphError as error:
        raise error.as_kind(MediaUnavailable) from None
    return data, info.get("mime_type") or mime


def _media_info(media_id):
    try:
        info = _request("GET", _url(media_id)).json()
    except ValueError:
        raise MediaUnavailable("unexpected answer") from None
    if not isinstance(info, dict) or not str(info.get("url") or "").startswith(("http://",
                                                                                 "https://")):
        raise MediaUnavailable("unexpected answer")
    return info


def _download(url, max_bytes):
    """The medium's bytes, read in chunks so a lying or endless answer stops at `max_bytes`."""
    with _request("GET", url, stream=True) as answer:
        if _size(answer.headers.get("Content-Length")) > max_bytes:
            raise MediaUnavailable("too large", status=answer.status_code)
        data = bytearray()
        try:
            for chunk in answer.iter_content(MEDIA_CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise MediaUnavailable("too large", status=answer.status_code)
        except requests.RequestException as error:
            raise _network_error(error) from None
        mime = (answer.headers.get("Content-Type") or "").split(";")[0].strip()
    return bytes(data), mime or None


def _size(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- one request ------------------------------------------------------------------------------

def _config(name):
    return current_app.config[name]


def _url(*parts):
    base = (_config("WHATSAPP_GRAPH_URL") or "").rstrip("/")
    if not base:
        raise NotConfigured("not configured")
    return "/".join((base, _config("WHATSAPP_API_VERSION"), *(str(part) for part in parts)))


def _request(method, url, **kwargs):
    """The answer of a 2xx; anything else raises GraphError. `from None` everywhere: the
    exceptions of requests quote URLs, which for media hold Meta's signed download links."""
    headers = {"Authorization": f"Bearer {_config('WHATSAPP_TOKEN')}"}
    try:
        answer = requests.request(method, url, headers=headers, timeout=TIMEOUTS, **kwargs)
    except requests.RequestException as error:
        raise _network_error(error) from None
    if answer.ok:
        return answer
    error = _answer_error(answer)
    answer.close()
    raise error


def _network_error(error):
    if isinstance(error, requests.Timeout):
        return GraphError("timeout", retryable=True)
    if isinstance(error, requests.ConnectionError):
        return GraphError("connection failed", retryable=True)
    return GraphError(f"request failed ({type(error).__name__})", retryable=True)


def _answer_error(answer):
    status, code = answer.status_code, _meta_code(answer)
    retryable = status == TOO_MANY_REQUESTS or status >= 500 or code in RETRYABLE_CODES
    reason = f"HTTP {status}" + (f", Meta error {code}" if code is not None else "")
    return GraphError(reason, status=status, code=code, retryable=retryable,
                      retry_after=_retry_after(answer) if retryable else None)


def _meta_code(answer):
    """Meta's error code from {"error": {"code": ...}}, or None. Its message is never kept."""
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _retry_after(answer):
    value = _size(answer.headers.get("Retry-After"))
    return value if value > 0 else None
