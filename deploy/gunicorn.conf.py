"""gunicorn settings shared by `make run` and deploy/apoa-web.service.

    gunicorn -c deploy/gunicorn.conf.py apoa.wsgi:app [--bind HOST:PORT]

Threaded workers (gthread): a request mostly waits, on PostgreSQL or on a phone's slow upload, and
a thread that waits costs far less memory than a process. bench/RESULTS.md measured report
submission on 2 cores: 2-3 workers x 4 threads served more than sync workers or 4 workers x 4
threads, so the default is one worker per core plus one, 4 threads each. Override with
APOA_WEB_WORKERS / APOA_WEB_THREADS (e.g. on a machine that also runs PostgreSQL under load).
"""
import os

# At most this many workers however many cores: each holds its own pool of database connections
# (SQLAlchemy: up to 15), and PostgreSQL's max_connections must cover them all.
MAX_WORKERS = 9


def _count(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _default_workers():
    return min(MAX_WORKERS, (os.cpu_count() or 1) + 1)


wsgi_app = "apoa.wsgi:app"
bind = ["127.0.0.1:8000"]  # behind nginx (deploy/nginx-apoa.conf); `make run` passes --bind
worker_class = "gthread"
workers = _count("APOA_WEB_WORKERS", _default_workers())
threads = _count("APOA_WEB_THREADS", 4)
# A worker silent for this long is stuck and is replaced; PostgreSQL rolls back what its requests
# had not committed, so nothing half-done is kept.
timeout = 30
graceful_timeout = 20
keepalive = 5
# The workers' heartbeat files on a RAM disk: a slow disk under /tmp must not get them killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "apoa-web"
# systemd, `make stop` and signals manage gunicorn. Its control socket (one path per user account)
# would be fought over by two gunicorns of one user, and made Ctrl-C wait 20 s for the workers.
control_socket_disable = True
# Requests to stdout, errors to stderr: the terminal for `make run`, the journal under systemd.
accesslog = "-"
errorlog = "-"
# The path without its query string, and no referrer (which carries another page's query string):
# a query can hold what a log must not (a number typed into the WhatsApp simulator, a search).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
