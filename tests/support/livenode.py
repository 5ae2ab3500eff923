"""A real localnode started as `python -m localnode` in a subprocess, and helpers to wait on its tasks."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests
from pyodm import Node

ROOT = Path(__file__).resolve().parents[2]
ANNOUNCE = re.compile(r"localnode listening on http://([\d.]+):(\d+)")
START_SECONDS = 30


class LiveNode:
    """One node process on a free port (--port 0) and its own data folder."""

    def __init__(self, data, token="", parallel=1, env=None):
        """Start the node and wait until it says where it listens; env: variables added to its environment."""
        self.data = Path(data)
        command = [sys.executable, "-m", "localnode", "--port", "0", "--data", str(self.data),
                   "--parallel", str(parallel)] + (["--token", token] if token else [])
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True, env=dict(os.environ, **(env or {})))
        self.log = []
        self._ready = threading.Event()
        self.port = None
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        if not self._ready.wait(START_SECONDS) or self.port is None:
            self.stop(signal.SIGKILL)
            raise RuntimeError("localnode did not start:\n" + "\n".join(self.log))
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.node = Node("127.0.0.1", self.port, token)

    def _read_output(self):
        """Keep the node's output (so its pipe never fills) and catch the announce line."""
        for line in self.process.stdout:
            self.log.append(line.rstrip())
            match = ANNOUNCE.search(line)
            if match:
                self.port = int(match.group(2))
                self._ready.set()
        self._ready.set()

    def get(self, path, **kwargs):
        """GET a path of the node (with its token), as a requests response."""
        return requests.get(self.url + path, params=self._params(kwargs.pop("params", None)), timeout=30, **kwargs)

    def post(self, path, **kwargs):
        """POST to a path of the node (with its token), as a requests response."""
        return requests.post(self.url + path, params=self._params(kwargs.pop("params", None)), timeout=60,
                             **kwargs)

    def _params(self, params):
        """Query parameters with the node's token added."""
        params = dict(params or {})
        if self.token:
            params.setdefault("token", self.token)
        return params

    def stop(self, sig=signal.SIGTERM):
        """Stop the node: SIGTERM (a normal stop) or SIGKILL of its whole process group (a crash)."""
        if self.process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)  # the rest of its output, up to the end of the pipe
        self.process.stdout.close()


def wait_for_status(task, statuses, timeout=120):
    """Poll a pyodm task until its status code is one of statuses; its last info."""
    deadline = time.monotonic() + timeout
    while True:
        info = task.info()
        if info.status.value in statuses:
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task.uuid} still {info.status} after {timeout} s: {info}")
        time.sleep(0.2)


def engine_processes(task_dir=None):
    """The running engine processes (on one task folder, or on any task under a data folder, when given)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "localnode.engine" in command and (task_dir is None or any(arg.startswith(str(task_dir)) for arg in command)):
            found.append(process)
    return found
