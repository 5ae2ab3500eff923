"""`make run`'s command (flask run-all) starts every process, serves the setup page, and Ctrl-C stops them all."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from tests.support.web import free_port
from webapp.config import ROOT

pytestmark = pytest.mark.slow  # a whole stack of processes


def wait_for_line(process, text, seconds):
    """Read the process's output until a line contains text; return everything read."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed; output was:\n{''.join(seen)}")


def is_listening(port):
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_all_serves_setup_registers_the_node_and_stops_cleanly(tmp_path):
    ports = {"PORT": free_port(), "REDIS_PORT": free_port(), "LOCALNODE_PORT": free_port()}
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL", "MEDIA_ROOT")}
    env.update({key: str(port) for key, port in ports.items()},
               INSTANCE_DIR=str(tmp_path / "instance"), WORKERS="1", WEB_WORKERS="1", SECRET_KEY="")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run-all"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = wait_for_line(process, "Aerie is running at", 90)
        assert f"http://127.0.0.1:{ports['PORT']}/" in output
        response = requests.get(f"http://127.0.0.1:{ports['PORT']}/", timeout=10)
        assert response.url.endswith("/setup") and "Welcome to Aerie" in response.text
        with sqlite3.connect(tmp_path / "instance" / "aerie.sqlite") as database:
            nodes = database.execute("select hostname, port, label, last_refreshed from processing_node").fetchall()
        assert len(nodes) == 1 and nodes[0][:3] == ("127.0.0.1", ports["LOCALNODE_PORT"], "Built-in node")
        assert nodes[0][3] is not None, "the built-in node was registered but never answered"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: to the whole foreground process group
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "stopped unexpectedly" not in rest
    for name, port in ports.items():
        assert not is_listening(port), f"{name} {port} still listening after Ctrl-C"
