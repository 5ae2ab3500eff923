"""`python -m localnode`: run the built-in processing node under gunicorn (one worker process, many threads).

One worker only: the queue and the engines it runs live in that process. Its threads serve requests
concurrently, and request bodies stream to temporary files, so uploads of hundreds of photos keep memory flat.
"""
import argparse
import fcntl
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

from localnode.engine.gpu import describe
from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION
from localnode.engine_process import REPO_ROOT
from localnode.memory import GB
from localnode.queue import TaskQueue
from localnode.server import create_app

LOCK_FILE = "localnode.lock"
DEFAULT_DATA = REPO_ROOT / "instance" / "localnode"
REQUEST_THREADS = 16
KEEPALIVE_SECONDS = 75  # clients polling tasks (Aerie, ClusterODM) keep their connections between polls
PROBE_SECONDS = 120


def parse_settings(argv=None):
    """The node's settings: command-line flags, else LOCALNODE_* environment variables, else defaults."""
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m localnode", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=env.get("LOCALNODE_HOST", "127.0.0.1"),
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(env.get("LOCALNODE_PORT", "3001")),
                        help="port to listen on; 0 picks a free one (default LOCALNODE_PORT or 3001)")
    parser.add_argument("--token", default=env.get("LOCALNODE_TOKEN", ""),
                        help="token clients must pass as ?token= (default LOCALNODE_TOKEN or none)")
    parser.add_argument("--data", type=Path, default=Path(env.get("LOCALNODE_DATA", DEFAULT_DATA)),
                        help="the node's own folder of tasks (default LOCALNODE_DATA or instance/localnode)")
    parser.add_argument("--parallel", type=int, default=int(env.get("LOCALNODE_PARALLEL", "1")),
                        help="tasks processed at once (default LOCALNODE_PARALLEL or 1)")
    parser.add_argument("--memory-limit", type=float, default=_float_env("LOCALNODE_MEMORY_LIMIT"),
                        help="GB of memory the node's tasks may use together; a task that would not fit waits, "
                             "one that never can is refused (default LOCALNODE_MEMORY_LIMIT or the machine's)")
    settings = parser.parse_args(argv)
    if settings.parallel < 1:
        parser.error("--parallel must be at least 1")
    if settings.memory_limit is not None and settings.memory_limit <= 0:
        parser.error("--memory-limit must be a positive number of GB")
    return settings


def _float_env(name):
    """A number from the environment, None when unset; a clear stop when it is not a number."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        sys.exit(f"localnode: {name}={raw!r} is not a number (GB of memory, e.g. 8 or 0.5)")


def probe_engine():
    """The engine's version as /info shows it: "0.1.0 (pycolmap 4.2.1, CUDA)" or "(..., CPU)", logged.

    Asked of a child process, so that the server itself never loads pycolmap or CUDA.
    """
    try:
        done = subprocess.run([sys.executable, "-m", "localnode.engine.gpu"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=PROBE_SECONDS, check=True)
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as problem:
        logging.warning("could not ask the engine about its GPU support (%s): assuming the CPU", problem)
        return f"{ENGINE_VERSION} (CPU)"
    why = "" if found["cuda"] else f" ({found['why']}; see the README to use a GPU)"
    logging.info("engine: %s %s, SIFT on the %s%s", ENGINE_NAME, ENGINE_VERSION,
                 "GPU (CUDA)" if found["cuda"] else "CPU", why)
    return f"{ENGINE_VERSION} ({describe(found)})"


def lock_data_folder(data_dir):
    """Take the data folder's lock file, so that two nodes never share a folder; the open lock file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        sys.exit(f"localnode: the data folder {data_dir} is in use by another node (pid {holder}, lock file "
                 f"{data_dir / LOCK_FILE}). Give each node its own folder with --data or LOCALNODE_DATA.")
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


class NodeServer(BaseApplication):
    """gunicorn running the node's Flask app in one threaded worker."""

    def __init__(self, settings):
        """Keep the settings; the app and its queue are built in the worker process (see load)."""
        self.settings = settings
        self.queue = None
        super().__init__()

    def load_config(self):
        """gunicorn's settings: one gthread worker, our address, no control socket (nodes must not share one)."""
        config = {"bind": f"{self.settings.host}:{self.settings.port}", "workers": 1,
                  "worker_class": "gthread", "threads": REQUEST_THREADS, "timeout": 120, "graceful_timeout": 10,
                  "keepalive": KEEPALIVE_SECONDS,
                  "control_socket_disable": True, "errorlog": "-", "loglevel": "info",
                  "when_ready": announce, "worker_exit": stop_engines}
        for key, value in config.items():
            self.cfg.set(key, value)

    def load(self):
        """The WSGI app, with its queue loaded from the data folder (runs in the worker)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        limit = self.settings.memory_limit
        self.queue = TaskQueue(self.settings.data, self.settings.parallel, limit * GB if limit else None)
        return create_app(self.queue, self.settings.token or None, self.settings.engine_version)


def announce(arbiter):
    """Print where the node listens (with the real port when --port 0), for people and for tests."""
    host, port = arbiter.LISTENERS[0].sock.getsockname()[:2]
    print(f"localnode listening on http://{host}:{port}", flush=True)


def stop_engines(arbiter, worker):
    """When the worker stops, stop its engines; their tasks are queued again at the next start."""
    if worker.app.queue is not None:
        worker.app.queue.shutdown()


def main(argv=None):
    """Run the node until it is stopped."""
    settings = parse_settings(argv)
    settings.data = settings.data.resolve()
    lock = lock_data_folder(settings.data)  # held (and inherited by the worker) for the node's whole life
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.engine_version = probe_engine()
    try:
        NodeServer(settings).run()
    finally:
        lock.close()


if __name__ == "__main__":
    main()
