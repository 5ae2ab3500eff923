"""Imports of finished results: a completed task made from a results zip (sent whole, in chunks, or by URL).

An import by URL is downloaded by the worker: the pipeline's tick calls run_import.
"""
import uuid
from pathlib import Path

from flask import current_app

from webapp import storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import assets, uploads
from webapp.services.errors import ValidationError
from webapp.services.parsing import clean_task_name
from webapp.services.tasks import drop_new_task, queue_tick


def _import_staging(user):
    """Where chunked uploads of results zips for an import are assembled, per user."""
    return storage.import_staging_dir(user.id)


def import_task_from_zip(project, zip_path, name=""):
    """A completed task made from a results zip on disk (moved into the task's folder, then extracted)."""
    task = Task(project_id=project.id, name=clean_task_name(name) or "Imported task", auto_processing_node=False,
                status=TaskStatus.RUNNING, images_count=0)
    db.session.add(task)
    db.session.commit()
    try:
        results = assets.extract_results_zip(zip_path, storage.assets_dir(project.id, task.id))
    except BaseException:
        drop_new_task(task)
        raise
    return _finish_import(task, results)


def _finish_import(task, results):
    """Mark an imported task completed with its assets."""
    task.status = TaskStatus.COMPLETED
    task.available_assets = results.available_assets
    task.size = results.size
    task.upload_progress = task.running_progress = 1.0
    task.last_error = None
    db.session.commit()
    return task


def import_task_from_upload(project, upload, name=""):
    """A completed task from a results zip sent whole (a FileStorage)."""
    staging = storage.import_staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    zip_path = staging / f"{uuid.uuid4().hex}.zip"
    try:
        uploads.save_stream(upload.stream, zip_path)
        return import_task_from_zip(project, zip_path, name)
    finally:
        zip_path.unlink(missing_ok=True)


def import_chunk(user, project, form, upload, name=""):
    """One chunk of a chunked results zip: (task or None until the last chunk arrived, {name: bytes received})."""
    staging = _import_staging(user)
    file_name, received, complete = uploads.write_chunk(staging, form, upload)
    if complete is None:
        return None, {file_name: received}
    try:
        return import_task_from_zip(project, complete, name or Path(file_name).stem), {file_name: received}
    finally:
        uploads.discard_chunk_upload(staging, form)


def import_task_from_url(project, url, name=""):
    """A task that will be completed from a results zip at url, downloaded by the worker (see run_import)."""
    url = str(url or "").strip()
    assets.check_import_url(url, current_app.config["IMPORT_ALLOW_PRIVATE"])
    task = Task(project_id=project.id, name=clean_task_name(name) or "Imported task", auto_processing_node=False,
                status=TaskStatus.QUEUED, import_url=url, images_count=0)
    db.session.add(task)
    db.session.commit()
    queue_tick(task.id)
    return task


def run_import(task_id):
    """The worker's step for an import by URL: download the zip, extract it, mark the task completed or failed.

    No database session is held during the download (read, close, download, re-read, write).
    """
    task = db.session.get(Task, task_id)
    if task is None or not task.import_url or task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        return False
    url, project_id = task.import_url, task.project_id
    task.status = TaskStatus.RUNNING
    db.session.commit()
    zip_path = storage.import_zip_path(project_id, task_id)
    try:
        assets.download_results(url, zip_path, current_app.config["IMPORT_ALLOW_PRIVATE"])
        results = assets.extract_results_zip(zip_path, storage.assets_dir(project_id, task_id))
    except ValidationError as error:
        return _fail_import(task_id, error)
    finally:
        zip_path.unlink(missing_ok=True)
    task = db.session.get(Task, task_id)
    if task is None:  # deleted meanwhile
        storage.remove_tree(storage.task_dir(project_id, task_id))
        return False
    _finish_import(task, results)
    return True


def _fail_import(task_id, error):
    """Mark an import failed with a message the user can act on."""
    task = db.session.get(Task, task_id)
    if task is not None:
        messages = [error.message] + [m for msgs in error.field_errors.values() for m in msgs]
        task.status = TaskStatus.FAILED
        task.last_error = " ".join(m for m in messages if m)
        db.session.commit()
    return False

