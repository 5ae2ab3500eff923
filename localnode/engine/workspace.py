"""The task folder: where inputs are, where each stage keeps its work, and crash-safe file writing."""
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from localnode.engine.options import OPTIONS


class Workspace:
    """Paths of one task folder: images/ (input), work/ (intermediate), results/ (assets)."""

    def __init__(self, task_dir):
        self.task_dir = Path(task_dir)
        self.input_dir = self.task_dir / "images"
        self.work = self.task_dir / "work"
        self.results = self.task_dir / "results"
        self.images = self.work / "images"        # resized copies SfM and the orthophoto read
        self.sfm = self.work / "sfm"
        self.dataset_json = self.work / "dataset.json"

    def result(self, relative):
        """The path of a result asset (relative path as in API.md's asset table), its folder created."""
        path = self.results / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def marker(self, stage):
        """The file that says a stage finished; it holds the stage's figures."""
        return self.work / f"{stage}.done.json"

    def stage_done(self, stage):
        """True when the stage finished in an earlier run."""
        return self.marker(stage).is_file()

    def mark_done(self, stage, figures):
        """Record that a stage finished, with its figures (written last, so a crash leaves no marker)."""
        write_json(self.marker(stage), figures)

    def forget(self, stage):
        """Remove a stage's marker, so that it and what depends on it run again."""
        self.marker(stage).unlink(missing_ok=True)

    def read_options(self):
        """The task's typed options, with the contract's defaults for any that are missing."""
        options = {o["name"]: _typed_default(o) for o in OPTIONS}
        path = self.task_dir / "options.json"
        if path.is_file():
            options.update(json.loads(path.read_text()))
        return options


def _typed_default(option):
    """An option's default converted from its string form to its type."""
    value = option["value"]
    if option["type"] == "bool":
        return value == "true"
    if option["type"] == "int":
        return int(value)
    if option["type"] == "float":
        return float(value)
    return value


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it into place, so no half-written file remains."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_json(path, data):
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def read_json(path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text())
