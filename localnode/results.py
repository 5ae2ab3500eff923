"""The results archive all.zip: the engine's results/ plus the console log, built on disk file by file."""
import os
import zipfile
from pathlib import Path

CONSOLE_NAME = "task_output.txt"
# Formats that are already compressed gain nothing from deflate, only cost time.
STORED_SUFFIXES = {".tif", ".tiff", ".laz", ".jpg", ".jpeg", ".png", ".zip", ".gz"}


class BuildCanceled(Exception):
    """The task was canceled while its archive was being built."""


def result_files(results_dir, outputs=()):
    """(path, name in the zip) of every result file, limited to the `outputs` entries when there are some."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    files = []
    for folder, _, names in os.walk(results_dir):
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink():
                continue  # a link could point outside the task folder
            relative = path.relative_to(results_dir).as_posix()
            if not outputs or any(relative == o or relative.startswith(o.rstrip("/") + "/") for o in outputs):
                files.append((path, relative))
    return sorted(files, key=lambda pair: pair[1])


def build_zip(task, run_id, is_current):
    """Write the task's all.zip under a temporary name, then rename it; stop if is_current(run_id) turns false."""
    temporary = task.folder / f"all.zip.{run_id}.tmp"
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for path, name in result_files(task.results_dir, task.outputs):
                if not is_current(run_id):
                    raise BuildCanceled()
                kind = zipfile.ZIP_STORED if path.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                archive.write(path, name, compress_type=kind)
            if task.console.path.exists():
                archive.write(task.console.path, CONSOLE_NAME)
            else:
                archive.writestr(CONSOLE_NAME, "")
        if not is_current(run_id):
            raise BuildCanceled()
        os.replace(temporary, task.zip_path)
    finally:
        temporary.unlink(missing_ok=True)
