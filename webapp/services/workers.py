"""Background jobs that a map tool starts for one task (volumes, exports), and WebODM's answers about them.

WebODM's clients start such work with a POST that answers {"celery_task_id": id}, poll GET /api/workers/check/<id>
until {"ready": true} (or {"ready": true, "error": message}) and fetch the result from /api/workers/get/<id>: the
file as an attachment, or {"output": value}. Here the id is an RQ job's; the job records its task, and only
callers who may view that task learn anything about it (404 otherwise, as for the task itself).
"""
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp import queue
from webapp.extensions import db
from webapp.models import Task
from webapp.services.errors import NotFound, ServiceError
from webapp.services.tasks import get_task_for

RESULT_SECONDS = 24 * 3600  # how long a finished job's answer (and its file) can be fetched
JOB_TIMEOUT_SECONDS = 3600
NOT_READY = {"error": "Task not ready"}  # WebODM's words


class QueueUnavailable(ServiceError):
    """The job queue (Redis) cannot be reached: nothing was started."""

    def __init__(self):
        super().__init__("The job queue is unavailable; try again in a moment.")


def start(job_name, task, *args):
    """Queue job_name(*args) on behalf of a task; its id for /api/workers/check|get."""
    job = queue.enqueue(job_name, *args, meta={"project_id": task.project_id, "task_id": task.id},
                        result_ttl=RESULT_SECONDS, failure_ttl=RESULT_SECONDS, job_timeout=JOB_TIMEOUT_SECONDS)
    if job is None:
        raise QueueUnavailable()
    return job.id


def job_for(user, job_id, task_id=None):
    """The job if it exists and the user may view its task (and it is task_id's, when given), else NotFound."""
    try:
        job = Job.fetch(job_id, connection=queue.redis_connection())
    except (NoSuchJobError, ValueError):
        raise NotFound() from None
    project_id, owner_task = job.meta.get("project_id"), job.meta.get("task_id")
    if owner_task is None or (task_id is not None and owner_task != task_id):
        raise NotFound()
    get_task_for(user, project_id, owner_task, "view", allow_public=True)
    return job


def check(job):
    """WebODM's check answer: {"ready": false, ...progress} while it runs, then {"ready": true} or with an error."""
    status = job.get_status(refresh=True)
    if status == JobStatus.FAILED:
        return {"ready": True, "error": "The job failed; try again, or ask an administrator to look at the queue."}
    if status != JobStatus.FINISHED:
        return {"ready": False, **{k: v for k, v in job.meta.items() if k == "progress"}}
    result = job.return_value() or {}
    if result.get("error"):
        return {"ready": True, "error": result["error"]}
    return {"ready": True}


def result(job):
    """The finished job's answer: {"file": path, "filename": name} or {"output": value} or {"error": message}."""
    if job.get_status(refresh=True) != JobStatus.FINISHED:
        return dict(NOT_READY)
    answer = job.return_value() or {}
    if answer.get("error"):
        return {"error": answer["error"]}
    return answer


def error_text(error):
    """A ServiceError in one sentence, its field messages included (jobs answer {"error": text})."""
    parts = [error.message] if error.message else []
    parts += [" ".join(messages) for messages in error.field_errors.values()]
    return " ".join(parts) or "The request could not be carried out."


def viewable_task(user, task_id):
    """A task found by its id alone (WebODM's plugin paths carry no project) if user may view it, else NotFound."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound()
    return get_task_for(user, task.project_id, task.id, "view", allow_public=True)
