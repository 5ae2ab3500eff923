"""What the engine tells the node server on stdout: console lines, `@@progress` and `@@error` lines."""
import sys
import threading

_LOCK = threading.Lock()  # stages report from worker threads: lines must never interleave
_progress = [0.0]         # the last progress reported: it never goes back


def _line(text):
    """Write one whole line to stdout and flush it."""
    with _LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class EngineError(Exception):
    """A failure the user can act on; its message becomes the task's one-line error."""


def say(stage, message):
    """Print one readable console line, prefixed with the stage name."""
    _line(f"[{stage}] {message}")


def warn(stage, message):
    """Print a console warning (processing goes on)."""
    say(stage, f"WARNING: {message}")


def progress(percent):
    """Report overall progress (0..100) to the server."""
    with _LOCK:
        _progress[0] = max(_progress[0], min(100.0, percent))
        value = _progress[0]
    _line(f"@@progress {value:.1f}")


def error(message):
    """Report the one-line error message of a failed task."""
    one_line = " ".join(str(message).split())
    _line(f"@@error {one_line}")
