"""The one place that enqueues RQ jobs. Jobs are named by strings so that webapp never imports jobs.

Call enqueue only after the database commit that the job will read: the worker may run it at once.
"""
import logging

import redis
from flask import current_app
from rq import Queue

log = logging.getLogger(__name__)

# Job names (functions in the jobs package).
RECONCILE = "jobs.maintenance.reconcile"
REFRESH_NODE = "jobs.nodes.refresh_node"
TASK_TICK = "jobs.tasks.tick"  # (task_id): advance one task by one short step
REMOVE_FROM_NODE = "jobs.tasks.remove_from_node"  # (node_id, uuid): forget a deleted task's copy on its node
MEASURE_VOLUME = "jobs.maptools.measure_volume"  # (project_id, task_id, ring, method, base_height)
EXPORT_ASSET = "jobs.maptools.export_asset"  # (project_id, task_id, export request, file name)
MAKE_CONTOURS = "jobs.maptools.make_contours"  # (project_id, task_id, contours request, file name)


def redis_connection():
    """The Redis connection of the current app (one client per app, from REDIS_URL)."""
    conn = current_app.extensions.get("aerie_redis")
    if conn is None:
        url = current_app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError("REDIS_URL is not set: start Aerie with `make run`, or set REDIS_URL")
        conn = redis.Redis.from_url(url)
        current_app.extensions["aerie_redis"] = conn
    return conn


def job_queue():
    """The RQ queue that workers listen on."""
    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())


def enqueue(job_name, *args, job_id=None, **kwargs):
    """Queue job_name(*args); with job_id, a job already waiting under that id is not queued twice.

    A Redis outage is logged, not raised: the database is the truth, and the reconciler finds the work again.
    """
    try:
        queue = job_queue()
        if job_id is not None:
            existing = queue.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=True) in ("queued", "scheduled", "deferred"):
                return existing
        return queue.enqueue(job_name, *args, job_id=job_id, **kwargs)
    except redis.RedisError as error:
        log.warning("could not enqueue %s%s: %s (the reconciler will retry)", job_name, args, error)
        return None
