"""`flask run-all` (what `make run` calls): one command that starts every process of an Aerie and stops them all."""
import os
import signal
import subprocess
import sys
import time

from flask_migrate import upgrade

from webapp.config import ROOT
from webapp.embedded_redis import start_embedded_redis
from webapp.services import accounts, nodes

GUNICORN_CONFIG = "python:webapp.gunicorn_conf"  # keep-alive and the connection hook (webapp/gunicorn_conf.py)


class Processes:
    """The child processes started so far, stopped together in reverse order.

    Each child leads a process group of its own, so Ctrl-C reaches only run-all, which then stops the children
    in order (the web server before Redis); a child that outlives the grace period is killed with its whole group
    (a gunicorn master with its workers).
    """

    def __init__(self):
        self.children = []  # (name, Popen)

    def start(self, name, args, env):
        """Start one child process in the repository folder."""
        self.children.append((name, subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)))

    def adopt(self, name, process):
        """Take charge of a process started elsewhere."""
        self.children.append((name, process))

    def first_exited(self):
        """The name and exit code of a child that stopped, or None while all run."""
        for name, process in self.children:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self, grace_seconds=10):
        """SIGTERM every child, then SIGKILL those still running after the grace period."""
        for _, process in reversed(self.children):
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for _, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _signal_group(process, signum):
    """Send a signal to a child's process group (the child and what it started), if it still exists."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _flask(*args):
    """The command line of a flask subcommand of this app."""
    return [sys.executable, "-m", "flask", "--app", "app", *args]


def _register_localnode(config):
    """Register the built-in node on first run (or refresh it), so tasks have somewhere to go."""
    nodes.add_node("127.0.0.1", config["LOCALNODE_PORT"], token=config["LOCALNODE_TOKEN"], label="Built-in node")


def _wait_for_localnode(config, seconds=20):
    """Wait until the built-in node answers /info (it imports the engine's libraries on start)."""
    url = f"http://127.0.0.1:{config['LOCALNODE_PORT']}/info"
    return _wait_until_answered(url, seconds, params={"token": config["LOCALNODE_TOKEN"]})


def _web_url(config):
    """The web server's URL as seen from this machine."""
    return f"http://{'127.0.0.1' if config['HOST'] in ('0.0.0.0', '::') else config['HOST']}:{config['PORT']}/"


def _wait_for_web(config, seconds=60):
    """Wait until the web server answers, so that the URL printed works at once."""
    return _wait_until_answered(_web_url(config) + "api/", seconds)


def _wait_until_answered(url, seconds, **request_args):
    """Whether an HTTP server answered at url (any status) within seconds."""
    import requests
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2, **request_args)
            return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def _stop_on_sigterm(signum, frame):
    """Treat SIGTERM like Ctrl-C, so that children are stopped in both cases."""
    raise KeyboardInterrupt


def run_all(app):
    """Migrate, start Redis (embedded unless REDIS_URL), the node, workers, scheduler and web; wait for Ctrl-C."""
    config = app.config
    env = dict(os.environ, FLASK_APP="app", PYTHONUNBUFFERED="1")
    # Nodes call the web app back when a task ends, so results are fetched at once (the built-in node is local).
    env.setdefault("WEBHOOK_BASE_URL", f"http://127.0.0.1:{config['PORT']}")
    procs = Processes()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        if not config.get("REDIS_URL"):
            procs.adopt("redis", start_embedded_redis(config["INSTANCE_DIR"] / "redis", config["REDIS_PORT"]))
            env["REDIS_URL"] = f"redis://127.0.0.1:{config['REDIS_PORT']}/0"
        if config["LOCALNODE_ENABLED"]:
            procs.start("localnode", [sys.executable, "-m", "localnode", "--port", str(config["LOCALNODE_PORT"]),
                                      "--data", str(config["LOCALNODE_DATA"]),
                                      "--parallel", str(config["LOCALNODE_PARALLEL"])]
                        + (["--token", config["LOCALNODE_TOKEN"]] if config["LOCALNODE_TOKEN"] else []), env)
        for number in range(config["WORKERS"]):
            procs.start(f"worker {number + 1}", _flask("worker"), env)
        procs.start("scheduler", _flask("scheduler"), env)
        # No gunicorn control socket: it lives at one path in $HOME, which two instances side by side would share.
        procs.start("web", [sys.executable, "-m", "gunicorn", "--bind", f"{config['HOST']}:{config['PORT']}",
                            "--workers", str(config["WEB_WORKERS"]), "--threads", "8", "--timeout", "300",
                            "--no-control-socket", "--config", GUNICORN_CONFIG, "app:app"], env)
        with app.app_context():
            if config["LOCALNODE_ENABLED"] and _wait_for_localnode(config):
                _register_localnode(config)
            first_run = accounts.needs_setup()
        _wait_for_web(config)
        print(f"\nAerie is running at {_web_url(config)}", flush=True)
        print("Open it to create the administrator account." if first_run else "Log in with your account.")
        print("Press Ctrl-C to stop everything.\n", flush=True)
        while (exited := procs.first_exited()) is None:
            time.sleep(0.5)
        print(f"{exited[0]} stopped unexpectedly (exit code {exited[1]}); stopping Aerie.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Aerie...", flush=True)
        return 0
    finally:
        procs.stop_all()
