"""What sets off a task's tick (its next pipeline step): services after they commit a change, the reconciler for
every task the database says has work pending, and a node's webhook when a task ends there.
"""
import hashlib
import hmac

from flask import current_app
from sqlalchemy import or_

from webapp import coordination, queue
from webapp.extensions import db
from webapp.models import ACTIVE_STATUSES, Task

TICK_JOB_TIMEOUT = 6 * 3600  # an upload or download of a large task may take this long in one job


def tick_job_id(task_id):
    """The job id of a task's tick, as the API queues it too."""
    return f"task-{int(task_id)}"


def enqueue_tick(task_id, job_id=None):
    """Queue the task's tick (once: a tick already waiting under that job id is not queued twice)."""
    return queue.enqueue(queue.TASK_TICK, task_id, job_id=job_id or tick_job_id(task_id), job_timeout=TICK_JOB_TIMEOUT)


def pending_task_ids():
    """The ids of the tasks with work to do, as the database says: active and complete, or with an action."""
    active = [status for status in ACTIVE_STATUSES if status is not None]
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


def webhook_token(task_id):
    """The secret part of a task's webhook URL: an HMAC of its id with the app's secret key."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"task-webhook:{int(task_id)}".encode(), hashlib.sha256).hexdigest()[:40]


def webhook_url(task_id):
    """The URL a node calls when the task ends, or None when WEBHOOK_BASE_URL is not set."""
    base = (current_app.config.get("WEBHOOK_BASE_URL") or "").rstrip("/")
    return f"{base}/api/webhooks/task/{int(task_id)}/{webhook_token(task_id)}" if base else None


def webhook_received(task_id, token):
    """A node said the task ended: wake its tick at once. False when the token is not the task's."""
    # Compared as bytes: compare_digest raises TypeError on a str with non-ASCII characters (a 500 for any caller).
    if not hmac.compare_digest(str(token).encode(), webhook_token(task_id).encode()):
        return False
    coordination.wake(task_id)
    enqueue_tick(task_id)
    return True
