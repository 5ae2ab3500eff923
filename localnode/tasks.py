"""Tasks on disk: one folder per task holding its state (task.json, written atomically), images and results."""
import json
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED, COMPLETED, CANCELED = 10, 20, 30, 40, 50
FINISHED = (FAILED, COMPLETED, CANCELED)
STATE_FILE = "task.json"
CONSOLE_FILE = "console.txt"
# The fields of task.json that are saved and loaded as they are.
SAVED_FIELDS = ("uuid", "name", "date_created", "options", "webhook", "outputs", "committed", "status",
                "error_message", "progress", "processing_time", "started_at", "queued_at", "engine_pid")


def now_ms():
    """The current time in milliseconds since the epoch."""
    return int(time.time() * 1000)


def split_lines(lines, start):
    """Lines from index start; a negative start means the last -start lines (NodeODM's line=N)."""
    return lines[start:]  # Python's slice already reads a negative start as "the last -start"


class Console:
    """A task's console log: a text file, with its lines cached in memory once read."""

    def __init__(self, path):
        """Remember the file; it is read on first use."""
        self.path = path
        self._lines = None
        self._lock = threading.Lock()

    def lines(self, start=0):
        """The console lines from start (negative: the last -start lines)."""
        with self._lock:
            return split_lines(self._loaded(), start)

    def count(self):
        """How many lines the console holds."""
        with self._lock:
            return len(self._loaded())

    def append(self, line):
        """Add one line, in memory and on disk."""
        with self._lock:
            self._loaded().append(line)
            try:
                with open(self.path, "a", encoding="utf-8") as out:
                    out.write(line + "\n")
            except OSError:
                pass  # the task's folder was removed while its engine was still printing

    def reset(self):
        """Empty the console (a restarted task starts a new log)."""
        with self._lock:
            self._lines = []
            self.path.write_text("", encoding="utf-8")

    def _loaded(self):
        """The cached lines, read from the file the first time."""
        if self._lines is None:
            try:
                self._lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
            except FileNotFoundError:
                self._lines = []
        return self._lines


class Task:
    """One processing task: its saved state and its folder (images/, work/, results/, all.zip, console)."""

    def __init__(self, folder, uuid, name, options, webhook=None, outputs=(), date_created=None):
        """A new task, not yet committed (its images are still being uploaded)."""
        self.folder = Path(folder)
        self.uuid = uuid
        self.name = name
        self.date_created = date_created or now_ms()
        self.options = options
        self.webhook = webhook
        self.outputs = list(outputs)
        self.committed = False
        self.status = QUEUED
        self.error_message = None
        self.progress = 0.0
        self.processing_time = -1
        self.started_at = None
        self.queued_at = None
        self.engine_pid = None
        self.console = Console(self.folder / CONSOLE_FILE)
        self.run_id = None  # the engine run that may change this task; None when no run owns it

    @property
    def images_dir(self):
        """The folder of the uploaded images (and GCP file)."""
        return self.folder / "images"

    @property
    def results_dir(self):
        """The folder where the engine writes its final results."""
        return self.folder / "results"

    @property
    def zip_path(self):
        """The results archive served as all.zip."""
        return self.folder / "all.zip"

    def images_count(self):
        """The number of uploaded files (images plus an optional GCP or geo file), as NodeODM counts them."""
        return len(self._uploaded_names())

    def photos_count(self):
        """The number of uploaded images, not counting the GCP and geo text files."""
        return sum(1 for name in self._uploaded_names() if not name.lower().endswith(".txt"))

    def _uploaded_names(self):
        """The names of the files in images/."""
        try:
            return [entry.name for entry in os.scandir(self.images_dir) if entry.is_file()]
        except FileNotFoundError:
            return []

    def last_change_ms(self):
        """When its state or its images last changed (an upload adds a file to images/)."""
        paths = [self.folder / STATE_FILE, self.images_dir]
        return max(int(path.stat().st_mtime * 1000) for path in paths if path.exists())

    def elapsed_ms(self):
        """processingTime: the final time once finished, the time so far while running, -1 before."""
        if self.status == RUNNING and self.started_at:
            return now_ms() - self.started_at
        return self.processing_time

    def info(self, with_output=None):
        """The task's info as /task/{uuid}/info answers it."""
        status = {"code": self.status}
        if self.error_message:
            status["errorMessage"] = self.error_message
        info = {"uuid": self.uuid, "name": self.name, "dateCreated": self.date_created,
                "processingTime": self.elapsed_ms(), "status": status, "options": self.options,
                "imagesCount": self.images_count(), "progress": round(self.progress, 2)}
        if with_output is not None:
            info["output"] = self.console.lines(with_output)
        return info

    def save(self):
        """Write task.json atomically (a temporary file renamed over it), so a crash never leaves half a file."""
        state = {field: getattr(self, field) for field in SAVED_FIELDS}
        temporary = self.folder / (STATE_FILE + ".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.folder / STATE_FILE)

    @classmethod
    def load(cls, folder):
        """The task saved in a folder."""
        state = json.loads((Path(folder) / STATE_FILE).read_text(encoding="utf-8"))
        task = cls(folder, state["uuid"], state["name"], state["options"])
        for field in SAVED_FIELDS:
            if field in state:
                setattr(task, field, state[field])
        return task


def load_tasks(tasks_dir):
    """Every task saved under tasks_dir, by uuid; a folder whose task.json is unreadable is skipped, kept."""
    tasks = {}
    for folder in sorted(Path(tasks_dir).iterdir()):
        if not (folder / STATE_FILE).is_file():
            continue
        try:
            task = Task.load(folder)
        except (OSError, ValueError, KeyError) as problem:
            log.error("skipping task folder %s: unreadable %s (%s)", folder, STATE_FILE, problem)
            continue
        tasks[task.uuid] = task
    return tasks
