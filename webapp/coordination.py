"""Redis coordination of the pipeline's ticks: the per-task lock that lets one tick at a time step a task, and the
wake-ups that interrupt a tick's wait when something changed (a user's action, a node's webhook).

Only coordination lives in Redis: the database stays the truth, so a flushed Redis only delays a task.
"""
import logging
import threading

from flask import current_app
from redis.exceptions import LockError, RedisError

from webapp import queue

log = logging.getLogger(__name__)

WAKE_KEY = "aerie:task-wake:{}"
LOCK_KEY = "aerie:task-lock:{}"


def wake(task_id):
    """Interrupt the wait of a tick running for this task, so that it steps at once."""
    try:
        conn = queue.redis_connection()
        key = WAKE_KEY.format(int(task_id))
        conn.rpush(key, 1)
        conn.expire(key, 60)
    except RedisError as error:
        log.warning("could not wake task %s: %s", task_id, error)


def wait_for_wake(task_id, seconds):
    """Wait up to seconds, returning early (True) when the task is woken."""
    key = WAKE_KEY.format(int(task_id))
    conn = queue.redis_connection()
    woken = conn.blpop([key], timeout=max(seconds, 0.01)) is not None
    if woken:
        conn.delete(key)
    return woken


def take_wake(task_id):
    """Whether the task was woken since the last wait (and forget it)."""
    return bool(queue.redis_connection().delete(WAKE_KEY.format(int(task_id))))


class TaskLock:
    """A per-task Redis lock with a TTL, kept alive by a heartbeat thread while its holder works.

    A worker that dies stops its heartbeat, so the lock frees itself after TASK_LOCK_SECONDS.
    """

    def __init__(self, task_id):
        self.ttl = current_app.config["TASK_LOCK_SECONDS"]
        self.lock = queue.redis_connection().lock(LOCK_KEY.format(int(task_id)), timeout=self.ttl,
                                                  blocking=False, thread_local=False)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def acquire(self):
        """Take the lock if it is free; start the heartbeat."""
        if not self.lock.acquire(blocking=False):
            return False
        self._thread = threading.Thread(target=self._beat, name="task-lock-heartbeat", daemon=True)
        self._thread.start()
        return True

    def _beat(self):
        """Renew the TTL every third of it; note a lock lost (expired, taken) so the holder can stop."""
        while not self._stop.wait(self.ttl / 3):
            try:
                self.lock.extend(self.ttl, replace_ttl=True)
            except (LockError, RedisError) as error:
                log.warning("task lock %s lost: %s", self.lock.name, error)
                self.lost.set()
                return

    def release(self):
        """Stop the heartbeat and free the lock."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.lock.release()
        except (LockError, RedisError):
            pass  # expired or lost: nothing to free
