"""Private services for the crash tests: a durable PostgreSQL cluster, a Redis and gunicorn, each
a process of this test alone, on free loopback ports, in a temporary folder.

The crash tests kill these processes with SIGKILL, so none of them may be shared: the suite's own
cluster and Redis are never touched. Each service runs in a session of its own, so one killpg()
ends it with all its children, as a crash would, and nothing outlives the test.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(os.environ.get("APOA_VENV") or REPO_ROOT / ".venv") / "bin"
# What `make run` keeps on (scripts/dev.sh): every commit that was answered is on disk.
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
STARTUP_SECONDS = 60


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid):
    """The processes `pid` started that are still running."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def running_as_root():
    return os.geteuid() == 0


def as_postgres(command):
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if running_as_root() else command


def wait_for(check, what, seconds=STARTUP_SECONDS, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process ended with {process.returncode}")
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {seconds} s")


class Folder:
    """A temporary folder the postgres user can reach (pytest's own are private to root)."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="apoa-crash-"))
        self.path.chmod(0o755)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Service:
    """A process started in a session of its own, its output in a log file."""

    name = "service"

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        self.log_path = folder / f"{self.name}.log"
        self.process = None

    def spawn(self, command, env=None):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until(self, check, what):
        """Wait for `check()`; if the process ends first, fail with the end of its log."""
        try:
            wait_for(check, what, process=self.process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}; the end of {self.log_path.name}:\n{self.log_tail()}") \
                from None

    def kill(self):
        """SIGKILL to the process and all its children at once, as when the machine loses them."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reap()

    def _reap(self):
        if self.process is not None:
            self.process.wait(timeout=30)
            self.process = None

    def log_tail(self, lines=30):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class DurableCluster(Service):
    """A PostgreSQL cluster with fsync, synchronous_commit and full_page_writes on."""

    name = "postgres"

    def __init__(self, folder):
        super().__init__(folder)
        self.data = folder / "data"
        self.sockets = folder / "sockets"

    def create(self):
        self.sockets.mkdir()
        if running_as_root():
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.sockets, "postgres")
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                    "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        settings = [f"{name}={value}" for name, value in DURABLE_SETTINGS.items()]
        settings += ["listen_addresses=127.0.0.1", "shared_buffers=64MB", "max_connections=100"]
        options = [arg for setting in settings for arg in ("-c", setting)]
        self.spawn(as_postgres([str(PG_BIN / "postgres"), "-D", str(self.data),
                                "-p", str(self.port), "-k", str(self.sockets), *options]))
        self.wait_until(self.accepts_connections, "PostgreSQL")

    def kill(self):
        """SIGKILL to the postmaster and all its children at once, as when the machine loses them.

        Each backend runs in a session of its own (PostgreSQL's doing), so they are named one by
        one; the postmaster's parent (runuser, when root) is left to reap it, so that no zombie
        holds on to the pid in postmaster.pid that the next start checks.
        """
        if self.process is None or self.process.poll() is not None:
            return self._reap()
        try:
            postmaster = self.postmaster_pid()
        except (FileNotFoundError, ValueError, IndexError):  # it never got as far as starting
            return super().kill()
        for pid in (postmaster, *child_pids(postmaster)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap()

    def stop(self):
        """A clean shutdown (SIGINT to the postmaster: fast mode)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.postmaster_pid(), signal.SIGINT)
        self._reap()

    def postmaster_pid(self):
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database="postgres"):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                                connect_timeout=3)

    def accepts_connections(self):
        try:
            self.connect().close()
        except psycopg2.OperationalError:
            return False
        return True

    def settings(self, database):
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                return {name: _show(cursor, name) for name in DURABLE_SETTINGS}
        finally:
            connection.close()

    def create_database(self, name):
        connection = self.connect()
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()


def _show(cursor, name):
    cursor.execute("SELECT current_setting(%s)", (name,))
    return cursor.fetchone()[0]


class PrivateRedis(Service):
    """A Redis for the served app alone, so its queued jobs never reach the suite's worker."""

    name = "redis"

    def start(self):
        self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                    "--appendonly", "no", "--dir", str(self.folder)])
        self.wait_until(self.answers, "Redis")

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


class Gunicorn(Service):
    """The app as `make run` and deploy/ serve it: gunicorn with deploy/gunicorn.conf.py."""

    name = "gunicorn"

    def __init__(self, folder, env, workers, threads):
        super().__init__(folder)
        self.env, self.workers, self.threads = env, workers, threads

    def start(self):
        self.spawn([str(VENV_BIN / "gunicorn"), "-c", str(REPO_ROOT / "deploy/gunicorn.conf.py"),
                    "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                    "--threads", str(self.threads), "--chdir", str(REPO_ROOT), "apoa.wsgi:app"],
                   env=self.env)
        self.wait_until(lambda: len(self.worker_pids()) == self.workers, "gunicorn workers")

    def stop(self):
        """SIGTERM: gunicorn lets running requests finish, then ends its workers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
        self._reap()

    def worker_pids(self):
        """The worker processes: the master's children (it replaces a worker that dies)."""
        return child_pids(self.process.pid)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"
