"""Reading a large query out of PostgreSQL with flat memory, for the exports.

Two ways, each as a generator of batches:
- `copy_csv()`: PostgreSQL writes the CSV itself (`COPY (query) TO STDOUT`), and Python only
  passes the bytes on. This is what makes a million-row CSV export fit in seconds: building and
  quoting 25 fields per row in Python costs several times more than the whole COPY. psycopg2 can
  only push COPY data into a file object, so the COPY runs in a worker thread writing into a
  small bounded queue that the generator reads: the database and the response advance together,
  and at most QUEUE_CHUNKS chunks are ever held.
- `cursor_batches()`: a server-side cursor (`yield_per`) for writers that need Python values
  (GeoJSON, XLSX).

Both run on the session's own connection and transaction, so what they read is narrowed exactly
like every other query (`visible()` is part of the query handed in).
"""
import queue
import threading

from sqlalchemy import text

from apoa.extensions import db

CHUNK_ROWS = 1000        # about 250 KB of CSV
QUEUE_CHUNKS = 8
_DONE = object()


def prepare_session():
    """Settings for one long read in the current transaction: no JIT (compiling this wide query
    took longer than running it), and a cursor planned to read every row, not the first few."""
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))


def cursor_batches(query, size):
    """Lists of rows from a server-side cursor: PostgreSQL keeps the result, we hold one batch."""
    prepare_session()
    result = db.session.connection().execute(query.execution_options(yield_per=size))
    try:
        yield from result.partitions()
    finally:
        result.close()


class _Pipe:
    """The file object psycopg2 writes COPY data into, one call per row from the worker thread
    (a million calls: kept to an append and a length test). Rows are gathered CHUNK_ROWS at a
    time and put on the bounded queue."""

    def __init__(self):
        self.queue = queue.Queue(QUEUE_CHUNKS)
        self.cancelled = False
        self._rows = []

    def write(self, data):
        rows = self._rows
        rows.append(data)
        if len(rows) >= CHUNK_ROWS:
            self.flush()

    def flush(self):
        if self._rows and not self.cancelled:
            self.put((b"".join(self._rows), len(self._rows)))
        self._rows = []

    def put(self, item):
        """Wait for room on the queue, unless the reader has left (then the item is dropped
        while the server's cancel is on its way)."""
        while not self.cancelled:
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def copy_csv(query):
    """(bytes, row count) chunks of `query` as CSV rows (no header) written by PostgreSQL."""
    prepare_session()
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    compiled = query.compile(dialect=connection.dialect,
                             compile_kwargs={"render_postcompile": True})
    cursor = raw.cursor()
    # psycopg2 quotes every parameter into the statement (COPY takes no bind parameters).
    statement = cursor.mogrify(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)",
                               compiled.params)
    pipe = _Pipe()
    worker = threading.Thread(target=_run_copy, args=(cursor, statement, pipe), daemon=True,
                              name="apoa-export-copy")
    worker.start()
    try:
        while (item := pipe.queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        _stop(worker, pipe, raw)
        cursor.close()


def _run_copy(cursor, statement, pipe):
    try:
        cursor.copy_expert(statement, pipe)
        pipe.flush()
        pipe.put(_DONE)
    except Exception as error:  # handed to the reader, which raises it in the request
        pipe.put(error)


def _stop(worker, pipe, raw):
    """Wait for the worker; if the reader left early, stop the COPY on the server first. The
    transaction is then aborted: the caller rolls it back (record_independently does)."""
    if worker.is_alive():
        pipe.cancelled = True
        raw.cancel()
    worker.join()
