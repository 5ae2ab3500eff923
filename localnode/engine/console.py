"""What the engine tells the node server on stdout: console lines, `@@progress` and `@@error` lines."""
import math
import sys
import threading
import time

_LOCK = threading.Lock()  # stages report from worker threads: lines must never interleave
_progress = [0.0, None]   # the last progress reported (it never goes back), and the last value printed
LINE_SHARE = 0.1          # a counter says "N of M" each time this share more is done...
LINE_SECONDS = 20.0       # ...or when this long has passed since its last line and it moved
HEARTBEAT_SECONDS = 30.0  # a step that cannot count its work says it is still running this often


def _line(text):
    """Write one whole line to stdout and flush it."""
    with _LOCK:
        _write(text)


def _write(text):
    """Write a line and flush it (with _LOCK held)."""
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
    """Report overall progress (0..100) to the server; a value that shows no change is not printed again."""
    with _LOCK:
        _progress[0] = max(_progress[0], min(100.0, percent))
        text = f"@@progress {_progress[0]:.1f}"
        if text == _progress[1]:
            return  # the server saves the task at each line: thousands of equal lines would only cost
        _progress[1] = text
        _write(text)  # under the lock, so that lines from several threads come out in increasing order


def error(message):
    """Report the one-line error message of a failed task."""
    one_line = " ".join(str(message).split())
    _line(f"@@error {one_line}")


class Counter:
    """The items of a step done so far (photos, pairs, strips...): moves the stage's progress over [start, end]
    of its share with each item, and says "N of M <what>" every LINE_SHARE of the total or LINE_SECONDS.

    Safe to call from worker threads.
    """

    def __init__(self, stage, total, what, report, start=0.0, end=1.0):
        self.stage, self.total, self.what, self.report = stage, max(1, int(total)), what, report
        self.start, self.end = start, end
        self.done = 0
        self._lock = threading.Lock()
        self._said = 0                      # the count in the last line
        self._said_at = time.monotonic()

    def add(self, count=1):
        """Count items done; report the fraction, and say how far when it is time."""
        with self._lock:
            self._move(self.done + count)

    def update_to(self, done):
        """Set the count of items done (for counts read from elsewhere); it never goes back."""
        with self._lock:
            self._move(max(self.done, done))

    def finish(self):
        """The step is over: its whole share is reported, and the last count said if it was not."""
        with self._lock:
            self.report(self.end)
            if self.done != self._said:
                self._said = self.done
                self._say()

    def _move(self, done):
        """Record the new count; report it, and say it when due (called with the lock held, so lines keep order)."""
        self.done = min(self.total, done)
        now = time.monotonic()
        due = (self.done == self.total and self._said < self.total
               or self.done - self._said >= LINE_SHARE * self.total
               or (now - self._said_at >= LINE_SECONDS and self.done > self._said))
        self.report(self.start + (self.end - self.start) * self.done / self.total)
        if due:
            self._said, self._said_at = self.done, now
            self._say()

    def _say(self):
        """The "N of M" line."""
        say(self.stage, f"{self.what}: {self.done} of {self.total} ({100 * self.done // self.total} %)")


class Heartbeat:
    """For a step that cannot count its work (one long library call): while it runs, the stage's progress
    creeps over [start, end] of its share following the expected time (never reaching end before the step
    does), and a line says it is still running every HEARTBEAT_SECONDS. Use as a context manager.
    """

    def __init__(self, stage, what, report, start, end, expected_seconds):
        self.stage, self.what, self.report = stage, what, report
        self.start_share, self.end, self.expected = start, end, max(1.0, expected_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Start creeping (at `start`)."""
        self.started = time.monotonic()
        self.report(self.start_share)
        self._thread.start()

    def stop(self):
        """The step is over: its whole share is reported (nothing happens if it never started)."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self.report(self.end)

    def _beat(self):
        """Report every second; say a line every HEARTBEAT_SECONDS."""
        next_line = HEARTBEAT_SECONDS
        while not self._stop.wait(1.0):
            elapsed = time.monotonic() - self.started
            # 1 - exp(-t/T): 63 % of the span at the expected time, then ever slower, never the end.
            share = 0.95 * (1 - math.exp(-elapsed / self.expected))
            self.report(self.start_share + (self.end - self.start_share) * share)
            if elapsed >= next_line:
                say(self.stage, f"{self.what}: still running after {elapsed:.0f} s")
                next_line += HEARTBEAT_SECONDS


def counting(stage, what, report, start=0.0, end=1.0):
    """A progress(done, total) callback for code that knows its total only once it starts (from any thread):
    a Counter made at the first call."""
    lock, made = threading.Lock(), []

    def progress(done, total):
        with lock:
            if not made:
                made.append(Counter(stage, total, what, report, start, end))
        made[0].update_to(done)
    return progress
