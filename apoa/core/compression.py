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

Public files are compressed hard (brotli 11 takes about a second for Leaflet), so each is compressed
once per content: kept in the worker's memory and on disk under the instance folder
(`compressed/`, named by a hash of the bytes), where every worker and every restart finds it. The
map's files are compressed at start-up, in the background (apoa/maps/assets.py), so that not even
the first visitor after a deploy waits for it.
"""
import fcntl
import gzip
import hashlib
import logging
import os
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

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
# Under the instance folder. Old versions' files are removed after a month unused (see prune()).
CACHE_FOLDER = "compressed"
STALE_AFTER_S = 30 * 24 * 3600

log = logging.getLogger("apoa.compression")


def init_app(app):
    cache = CompressedCache(CACHE_BYTES, Path(app.instance_path) / CACHE_FOLDER)
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
        return compressed_once(body, coding, cache)
    return encode(body, coding, DYNAMIC[coding])


def compressed_once(body, coding, cache):
    """`body` compressed hard, from the cache when any worker did it before."""
    return cache.get_or_make(cache_key(body, coding), lambda: encode(body, coding, ONCE[coding]))


def cache_key(body, coding):
    """Named by the content (not the ETag, which a file's mtime makes): an upgrade that changes a
    file makes a new entry, one that does not finds the old one."""
    return f"{hashlib.sha256(body).hexdigest()}.{ONCE[coding]}.{coding}"


def precompress(cache, paths):
    """Compress each file in `paths` in both codings into `cache` (ahead of the first request that
    needs it); returns how many were compressed here. Workers starting together take turns (a lock
    file), so the second finds the first one's work on disk instead of repeating it."""
    made_before = cache.made
    with warm_up_turn(cache.folder):
        cache.prune()
        for path in paths:
            try:
                body = Path(path).read_bytes()
            except OSError:
                continue
            if len(body) < MIN_BYTES:
                continue
            for coding in ONCE:
                compressed_once(body, coding, cache)
    return cache.made - made_before


@contextmanager
def warm_up_turn(folder):
    """An exclusive lock on `<folder>/.lock` while inside (nothing without a folder)."""
    if folder is None:
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "w")  # noqa: SIM115 - closed below, which releases the lock
    except OSError as error:
        log.warning("compressing without the lock: %s", error)
        yield
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        lock.close()


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
    """Compressed public files by key: in memory (the least recently used dropped past a size,
    shared by a worker's threads, hence the lock), and, given a folder, on disk for the other
    workers and the next start."""

    def __init__(self, max_bytes, folder=None):
        self.max_bytes, self.size = max_bytes, 0
        self.folder = folder
        self.made = 0  # compressed here rather than found: what the tests count
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = self._read(key)
        if value is None:
            value = make()  # outside the lock: another thread need not wait for this one
            self.made += 1
            self._write(key, value)
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self.size += len(value)
                self._evict()
        return value

    def holds(self, key):
        """Whether `key` is ready without compressing (in memory or on disk)."""
        with self._lock:
            if key in self._items:
                return True
        return self.folder is not None and (self.folder / key).is_file()

    def _read(self, key):
        if self.folder is None:
            return None
        try:
            return (self.folder / key).read_bytes()
        except OSError:
            return None

    def _write(self, key, value):
        """Written whole under a temporary name, then renamed: a reader sees all of it or none."""
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".part-")
            with os.fdopen(fd, "wb") as file:
                file.write(value)
            os.replace(temporary, self.folder / key)
        except OSError as error:  # a read-only or full disk: the worker keeps its memory copy
            log.warning("cannot keep a compressed file on disk: %s", error)

    def prune(self, max_age_s=STALE_AFTER_S, now=None):
        """Remove files on disk not used for `max_age_s` (what an upgrade left behind); returns
        how many. Their last use is their access time where the disk keeps one, else their
        creation."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        limit = (now if now is not None else time.time()) - max_age_s
        removed = 0
        for path in self.folder.iterdir():
            try:
                stat = path.stat()
                if max(stat.st_atime, stat.st_mtime) < limit:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def _evict(self):
        while self.size > self.max_bytes and self._items:
            _key, value = self._items.popitem(last=False)
            self.size -= len(value)
