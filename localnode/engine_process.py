"""The engine as a child process: `python -m localnode.engine <task_dir>` in its own process group."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINE_MODULE = "localnode.engine"
PROGRESS_PREFIX = "@@progress "
ERROR_PREFIX = "@@error "


def parse_line(line):
    """One engine stdout line -> ("progress", float) | ("error", message) | ("console", line)."""
    if line.startswith(PROGRESS_PREFIX):
        try:
            return "progress", min(100.0, max(0.0, float(line[len(PROGRESS_PREFIX):])))
        except ValueError:
            return "console", line
    if line.startswith(ERROR_PREFIX):
        return "error", line[len(ERROR_PREFIX):].strip()
    return "console", line


def exit_message(returncode):
    """The failure message for an engine that ended without saying why."""
    if returncode < 0:
        try:
            how = f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"killed by signal {-returncode}"
    else:
        how = f"exit code {returncode}"
    return f"The engine stopped unexpectedly ({how}); see the console output."


class EngineProcess:
    """One run of the engine on one task folder, its stdout and stderr merged into one stream of lines."""

    def __init__(self, task_dir):
        """Start the engine now, in a new session so that killing its process group stops all of it."""
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", ENGINE_MODULE, str(task_dir)], cwd=REPO_ROOT, env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self):
        """The engine's process id (also its process group id)."""
        return self.process.pid

    def lines(self):
        """The engine's output lines, as they come, until it closes its output."""
        for raw in self.process.stdout:
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def wait(self):
        """Wait for the engine to end; its return code (negative: killed by that signal)."""
        self.process.stdout.close()
        return self.process.wait()

    def kill(self):
        """Stop the engine and everything it started at once (SIGKILL to its process group)."""
        if self.process.returncode is None:  # never signal a group whose leader was already reaped
            kill_group(self.process.pid)


def kill_group(pgid):
    """SIGKILL a process group, if it still exists."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_orphan_engine(pid, task_dir):
    """Kill an engine left running by a node that died, if that pid is still our engine on this task."""
    try:
        command = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    if ENGINE_MODULE in command and str(task_dir) in command:
        kill_group(pid)
        return True
    return False
