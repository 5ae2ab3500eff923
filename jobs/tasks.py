"""Jobs that drive processing tasks: the per-task tick, and removing a deleted task's copy from its node."""
import enum
import logging
import time

from rq import get_current_job

from jobs.runtime import app_job
from webapp import coordination
from webapp.services import pipeline, removals, ticks
from webapp.services.pipeline import Step

log = logging.getLogger(__name__)

TICK_SECONDS = 10.0  # a tick steps a task for about this long, then queues the next tick and frees its worker
POLL_FIRST = 0.1  # the first wait between two polls of a running task
POLL_GROWTH = 1.5  # each further wait is this much longer, up to:
POLL_MAX = 0.4  # without a webhook: a finished task is seen within this much
POLL_MAX_WITH_WEBHOOK = 2.0  # with one, the node's call wakes the tick at once; polls only refresh the progress


class Outcome(enum.Enum):
    """How a tick ended."""

    DONE = "done"  # the task needs nothing more
    AGAIN = "again"  # more to do soon: the next tick is queued
    LATER = "later"  # a longer wait (a fault, a lost lock): the reconciler comes back
    BUSY = "busy"  # another tick holds the task's lock; it was woken instead


@app_job
def tick(task_id):
    """Advance one task for a few seconds under its lock; queue the next tick while it still has work."""
    lock = coordination.TaskLock(task_id)
    if not lock.acquire():
        coordination.wake(task_id)  # the tick that holds the lock steps again at once and sees what changed
        return Outcome.BUSY
    try:
        outcome = _step_for_a_while(task_id, lock)
    finally:
        lock.release()
    if outcome is Outcome.AGAIN:
        _queue_next_tick(task_id)
    return outcome


def _queue_next_tick(task_id):
    """Queue the tick that continues this one, under another job id than this job's own.

    RQ keeps one record per job id: a job queued under the id of the job running now would have its record
    overwritten when the running one finishes (its status and timeout), so two ids take turns.
    """
    job = get_current_job()
    own_id = ticks.tick_job_id(task_id)
    ticks.enqueue_tick(task_id, job_id=f"{own_id}-next" if job is not None and job.id == own_id else own_id)


def _step_for_a_while(task_id, lock):
    """Run steps until the task needs nothing, TICK_SECONDS pass, or a fault asks for a longer wait.

    Outcome.DONE: nothing to do; AGAIN: more polling to do (queue the next tick); LATER: the reconciler comes back.
    """
    deadline = time.monotonic() + TICK_SECONDS
    interval = POLL_FIRST
    poll_max = POLL_MAX_WITH_WEBHOOK if ticks.webhook_url(task_id) else POLL_MAX
    while not lock.lost.is_set():
        step = pipeline.advance(task_id)
        if step.kind is Step.DONE:
            if coordination.take_wake(task_id):
                continue  # something changed while this step ran (a user's action): look again
            return Outcome.DONE
        if step.kind is Step.NOW:
            if time.monotonic() < deadline:
                continue
            return Outcome.AGAIN
        if step.kind is Step.POLL:
            wait, interval = interval, min(interval * POLL_GROWTH, poll_max)
        else:
            wait, interval = step.wait, POLL_FIRST
        if time.monotonic() + wait > deadline:
            return Outcome.AGAIN if step.kind is Step.POLL else Outcome.LATER
        coordination.wait_for_wake(task_id, wait)
    log.warning("task %s: lock lost, stopping this tick", task_id)
    return Outcome.LATER


@app_job
def remove_from_node(node_id, node_uuid):
    """Remove a deleted task's copy from its processing node."""
    return removals.remove_from_node(node_id, node_uuid)
