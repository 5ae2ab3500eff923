"""Queueing a task's tick (its next pipeline step), and the ticks of every task the database says has work pending.

Services queue a tick after they commit a change the pipeline must act on; the reconciler queues the pending ones.
"""
from sqlalchemy import or_

from webapp import queue
from webapp.extensions import db
from webapp.models import Task, TaskStatus

TICK_JOB_TIMEOUT = 6 * 3600  # an upload or download of a large task may take this long in one job


def tick_job_id(task_id):
    """The job id of a task's tick, as the API queues it too."""
    return f"task-{int(task_id)}"


def enqueue_tick(task_id, job_id=None):
    """Queue the task's tick (once: a tick already waiting under that job id is not queued twice)."""
    return queue.enqueue(queue.TASK_TICK, task_id, job_id=job_id or tick_job_id(task_id), job_timeout=TICK_JOB_TIMEOUT)


def pending_task_ids():
    """The ids of the tasks with work to do, as the database says: active and complete, or with an action."""
    active = [TaskStatus.QUEUED, TaskStatus.RUNNING]
    query = db.session.query(Task.id).filter(or_(
        Task.pending_action.isnot(None),
        (or_(Task.status.in_(active), Task.status.is_(None)) & Task.partial.is_(False))))
    ids = [task_id for (task_id,) in query.order_by(Task.id)]
    db.session.commit()
    return ids


def enqueue_pending_ticks():
    """Queue a tick for every task with pending work (the reconciler's share of the pipeline)."""
    ids = pending_task_ids()
    for task_id in ids:
        enqueue_tick(task_id)
    return len(ids)
