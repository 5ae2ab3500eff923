"""Where projects, tasks, images and assets live on disk (MEDIA_ROOT/project/<id>/task/<id>/), with safe joins.

Every path under MEDIA_ROOT is built here, so that one module tells what a task's folder holds.
"""
import os
import shutil
import uuid
from pathlib import Path

from flask import current_app
from werkzeug.utils import secure_filename


class UnsafePath(ValueError):
    """A path from a request or a zip that would leave its folder."""


def media_root():
    """The media folder of the current app."""
    return Path(current_app.config["MEDIA_ROOT"])


def spool_dir():
    """Where big uploads are written while their request is read: on the media's filesystem, so they can be linked."""
    return media_root() / "uploads" / ".spool"


def import_staging_dir(user_id=None):
    """Where results zips of imports are received: sent whole (shared), or in chunks (one folder per user)."""
    staging = media_root() / "uploads" / "import"
    return staging if user_id is None else staging / str(int(user_id))


def project_dir(project_id):
    """The folder of one project's files."""
    return media_root() / "project" / str(int(project_id))


def task_dir(project_id, task_id):
    """The folder of one task: images/, assets/, the console log, and what is on its way in (chunks, zips)."""
    return project_dir(project_id) / "task" / str(int(task_id))


def chunks_dir(project_id, task_id):
    """Where chunked uploads to a partial task are assembled (outside images/, which goes to the node)."""
    return task_dir(project_id, task_id) / "chunks"


def results_zip_path(project_id, task_id):
    """Where a task's all.zip is downloaded from its node, before it is extracted into assets/."""
    return task_dir(project_id, task_id) / "results.zip"


def import_zip_path(project_id, task_id):
    """Where the results zip of an import by URL is downloaded, before it is extracted into assets/."""
    return task_dir(project_id, task_id) / "import.zip"


def cache_dir(project_id, task_id, kind):
    """A task's cache of rendered images of one kind ("tiles", "thumbnail")."""
    return task_dir(project_id, task_id) / "cache" / kind


def images_dir(project_id, task_id):
    """The folder of a task's uploaded images."""
    return task_dir(project_id, task_id) / "images"


def assets_dir(project_id, task_id):
    """The folder of a task's extracted results."""
    return task_dir(project_id, task_id) / "assets"


def console_path(project_id, task_id):
    """The file holding a task's console output, one line per line."""
    return task_dir(project_id, task_id) / "console.txt"


def safe_join(base, relative):
    """base/relative, refusing any relative path that is absolute or climbs out of base (raises UnsafePath)."""
    base = Path(base).resolve()
    relative = str(relative).replace("\\", "/")
    if relative.startswith("/") or "\x00" in relative:
        raise UnsafePath(relative)
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise UnsafePath(relative)
    return target


def safe_filename(name):
    """A file name safe to store (no folders, no traversal), or raise UnsafePath when nothing is left of it."""
    cleaned = secure_filename(Path(str(name).replace("\\", "/")).name)
    if not cleaned:
        raise UnsafePath(name)
    return cleaned


def temporary_sibling(path):
    """A unique hidden name beside path, to write to before renaming into place (readers never see half a file)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")


def write_atomically(path, content):
    """Write bytes to path through a temporary sibling and a rename, safe with readers in other processes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def remove_tree(path):
    """Delete a folder and everything in it, if it exists."""
    shutil.rmtree(path, ignore_errors=True)


def tree_size_mb(path):
    """Disk used by the files under path, in MB."""
    path = Path(path)
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / (1024 * 1024)
