"""The job queues as administrators watch them: counts, workers, failed jobs (requeue or delete them)."""
import redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from webapp import queue as job_queues
from webapp.services.errors import NotFound, ServiceError

FAILED_SHOWN = 50  # the newest failed jobs listed; older ones stay in Redis until they expire


class QueuesUnavailable(ServiceError):
    """Redis did not answer, so the queues cannot be read or changed."""


def _last_line(text):
    """The last non-empty line of a traceback: the exception and its message."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _counts(queue):
    """How many jobs are waiting, running, scheduled, deferred, finished and failed on queue."""
    return {"queued": queue.count, "started": queue.started_job_registry.count,
            "scheduled": queue.scheduled_job_registry.count, "deferred": queue.deferred_job_registry.count,
            "finished": queue.finished_job_registry.count, "failed": queue.failed_job_registry.count}


def _worker_summary(worker):
    """What the page shows of one worker."""
    return {"name": worker.name, "hostname": worker.hostname, "pid": worker.pid, "state": worker.get_state(),
            "current_job": worker.get_current_job_id(), "queues": ", ".join(worker.queue_names()),
            "last_heartbeat": worker.last_heartbeat, "successful": worker.successful_job_count,
            "failed": worker.failed_job_count}


def _failed_job_summary(job):
    """What the page shows of one failed job."""
    result = job.latest_result()
    error = _last_line(result.exc_string if result is not None else "")
    return {"id": job.id, "function": job.func_name, "args": ", ".join(repr(arg) for arg in job.args),
            "ended_at": job.ended_at, "error": error or "(no error recorded)"}


def overview():
    """Counts of the queue, every worker with its state, and the newest failed jobs with their error's last line."""
    try:
        queue = job_queues.job_queue()
        registry = queue.failed_job_registry
        job_ids = registry.get_job_ids(0, FAILED_SHOWN - 1, desc=True)
        failed = [_failed_job_summary(job) for job in Job.fetch_many(job_ids, connection=queue.connection) if job]
        workers = sorted((_worker_summary(w) for w in Worker.all(connection=queue.connection)),
                         key=lambda worker: worker["name"])
        return {"queue": queue.name, "counts": _counts(queue), "workers": workers, "failed": failed}
    except redis.RedisError as error:
        raise QueuesUnavailable(f"Redis does not answer ({error}): no job can run until it is back.") from error


def _failed_registry():
    """The registry of failed jobs of our queue."""
    queue: Queue = job_queues.job_queue()
    return queue.failed_job_registry


def requeue_failed(job_id):
    """Put a failed job back on the queue (NotFound if it is not a failed job)."""
    try:
        registry = _failed_registry()
        if job_id not in registry:
            raise NotFound()
        registry.requeue(job_id)
    except NoSuchJobError as error:
        raise NotFound() from error
    except redis.RedisError as error:
        raise QueuesUnavailable(f"Redis does not answer ({error}).") from error


def delete_failed(job_id):
    """Forget a failed job (NotFound if it is not a failed job)."""
    try:
        registry = _failed_registry()
        if job_id not in registry:
            raise NotFound()
        registry.remove(job_id, delete_job=True)
    except redis.RedisError as error:
        raise QueuesUnavailable(f"Redis does not answer ({error}).") from error
