"""What the engine tells the node server on stdout: console lines, `@@progress` and `@@error` lines."""
import sys


class EngineError(Exception):
    """A failure the user can act on; its message becomes the task's one-line error."""


def say(stage, message):
    """Print one readable console line, prefixed with the stage name."""
    print(f"[{stage}] {message}", flush=True)


def warn(stage, message):
    """Print a console warning (processing goes on)."""
    say(stage, f"WARNING: {message}")


def progress(percent):
    """Report overall progress (0..100) to the server."""
    print(f"@@progress {max(0.0, min(100.0, percent)):.1f}", flush=True)


def error(message):
    """Report the one-line error message of a failed task."""
    one_line = " ".join(str(message).split())
    print(f"@@error {one_line}", flush=True)
    sys.stdout.flush()
