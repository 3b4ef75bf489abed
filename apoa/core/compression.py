"""Compressed answers: brotli or gzip, by what the browser accepts, for every text the app sends
(pages, JSON, GeoJSON, scripts, styles, CSV). A resident on a slow phone connection downloads a
third to a tenth of the bytes; `make run` (gunicorn) compresses as well as nginx would.

Why here and not only in nginx: the app knows which answers may be compressed safely. BREACH
recovers a secret from a compressed page that also reflects what an attacker sent (a query
string), by watching the length of many answers that the victim's browser fetched for the
attacker. Our pages carry such a secret in every header (Flask-WTF's CSRF token: its first part is
the same for the whole session, it is not masked per answer) and reflect the path and query (the
language form's `next`). So an answer for someone's session (not marked public) is compressed only
when the browser says the request came from our own pages or from the address bar
(`Sec-Fetch-Site: same-origin` or `none`), or when the request carries no cookie at all (no
session, nothing to steal). A request another site caused, with the victim's cookies, is answered
uncompressed: that is the one the attack needs. Public answers (files, outlines) hold no secret.

Streamed answers (the CSV export) stay streamed: each chunk is compressed and flushed as it goes.
"""
import gzip
import threading
import zlib
from collections import OrderedDict

import brotli
from flask import request
from werkzeug.wsgi import ClosingIterator

COMPRESSIBLE = {
    "text/html", "text/css", "text/csv", "text/plain", "text/javascript", "text/xml",
    "application/javascript", "application/json", "application/geo+json",
    "application/problem+json", "application/xml", "image/svg+xml", "application/manifest+json",
    # Vector tiles (protobuf) shrink by half or more; a tile already stored gzipped (MBTiles)
    # arrives with its own Content-Encoding and is left alone.
    "application/vnd.mapbox-vector-tile", "application/x-protobuf",
}
# Below this an answer gains nothing: the headers alone are bigger than what is saved.
MIN_BYTES = 512
# Pages and data are made per request: quick settings. Public files are compressed once, hard.
DYNAMIC = {"br": 4, "gzip": 6}
ONCE = {"br": 11, "gzip": 9}
# A streamed export is hundreds of MB: the fastest settings keep it at the database's pace.
STREAMED = {"br": 1, "gzip": 1}
# Sec-Fetch-Site values that say the request came from our own pages or the user's own typing.
OWN_REQUEST = {"same-origin", "none"}
CACHE_BYTES = 16 * 2**20
NOT_COMPRESSED_STATUSES = {204, 206, 304}


def init_app(app):
    cache = CompressedCache(CACHE_BYTES)
    app.extensions["apoa_compression"] = cache

    def compress_response(response):
        return compress(response, cache)

    # Flask runs the app's after_request functions last-registered first: put this one first in
    # the list, so it runs after every other one and compresses the body they all left.
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)


def compress(response, cache):
    """The response compressed in the best coding the client accepts, when that is safe and
    worth it; otherwise the response as it was."""
    if not compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    coding = chosen_coding()
    if coding is None or not breach_safe(response):
        return response
    if response.direct_passthrough:
        response.direct_passthrough = False  # a file from send_file: read whole (small files)
    elif response.is_streamed:
        return compress_stream(response, coding)
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    response.set_data(compressed_body(response, body, coding, cache))
    mark_encoded(response, coding)
    return response


def compressible(response):
    return (response.mimetype in COMPRESSIBLE
            and 200 <= response.status_code and response.status_code not in NOT_COMPRESSED_STATUSES
            and "Content-Encoding" not in response.headers
            and "Content-Range" not in response.headers
            and not response.cache_control.no_transform)


def chosen_coding():
    """"br" or "gzip", whichever the client accepts (brotli first: smaller), or None."""
    accepted = request.accept_encodings
    for coding in ("br", "gzip"):
        if accepted[coding] > 0:
            return coding
    return None


def breach_safe(response):
    """Whether compressing this answer cannot help another site read a secret in it (see the
    module's docstring)."""
    if response.cache_control.public:
        return True
    if not request.cookies:
        return True
    return request.headers.get("Sec-Fetch-Site") in OWN_REQUEST


def compressed_body(response, body, coding, cache):
    """Public answers with an ETag are the same for everyone: compressed once and kept."""
    etag, _weak = response.get_etag()
    if response.cache_control.public and etag:
        return cache.get_or_make((etag, coding), lambda: encode(body, coding, ONCE[coding]))
    return encode(body, coding, DYNAMIC[coding])


def encode(body, coding, level):
    if coding == "br":
        return brotli.compress(body, quality=level, mode=brotli.MODE_TEXT)
    return gzip.compress(body, compresslevel=level, mtime=0)


def mark_encoded(response, coding):
    response.headers["Content-Encoding"] = coding
    # The compressed bytes differ from the plain ones: the validator can no longer be strong.
    # (A weak ETag still matches If-None-Match, so revalidation keeps answering 304.)
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)


def compress_stream(response, coding):
    """Compress each chunk as it passes and flush it, so the client receives rows as they are
    read (and the export's own end-of-stream work still runs when the stream closes)."""
    chunks = response.response
    encoder = StreamEncoder(coding, STREAMED[coding])
    closers = [chunks.close] if hasattr(chunks, "close") else []
    response.response = ClosingIterator(encoder.encode(chunks), closers)
    response.headers.pop("Content-Length", None)
    mark_encoded(response, coding)
    return response


class StreamEncoder:
    """One compressor for a stream of chunks: each chunk flushed, the stream finished at the end."""

    def __init__(self, coding, level):
        if coding == "br":
            self._compressor = brotli.Compressor(quality=level, mode=brotli.MODE_TEXT)
            self._process, self._flush = self._compressor.process, self._compressor.flush
            self._finish = self._compressor.finish
        else:
            # wbits 16 + 15: the gzip container (header and trailer), not a bare zlib stream.
            self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            self._process = self._compressor.compress
            self._flush = lambda: self._compressor.flush(zlib.Z_SYNC_FLUSH)
            self._finish = self._compressor.flush

    def encode(self, chunks):
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if chunk:
                yield self._process(chunk) + self._flush()
        yield self._finish()


class CompressedCache:
    """Compressed public files by (ETag, coding), the least recently used dropped past a size.
    Shared by a worker's threads, hence the lock."""

    def __init__(self, max_bytes):
        self.max_bytes, self.size = max_bytes, 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: another thread need not wait for this one
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self.size += len(value)
                self._evict()
        return value

    def _evict(self):
        while self.size > self.max_bytes and self._items:
            _key, value = self._items.popitem(last=False)
            self.size -= len(value)
