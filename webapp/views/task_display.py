"""How a task is shown on any page: its status in words and colour, whether it is active, its elapsed time.

Registered for every template (the dashboard shows tasks too). The same words reach the scripts (taskstatus.js)
through task_vocabulary(), written into the pages as JSON, so that they are defined here only.
"""
from datetime import datetime, timezone

from webapp.models import ACTIVE_STATUSES, PendingAction, TaskStatus

STATUS_LABELS = {TaskStatus.QUEUED: "Queued", TaskStatus.RUNNING: "Running", TaskStatus.FAILED: "Failed",
                 TaskStatus.COMPLETED: "Completed", TaskStatus.CANCELED: "Canceled"}
PENDING_LABELS = {PendingAction.CANCEL: "Canceling…", PendingAction.REMOVE: "Removing…",
                  PendingAction.RESTART: "Restarting…"}
STATUS_TONES = {TaskStatus.FAILED: "danger", TaskStatus.COMPLETED: "success", TaskStatus.CANCELED: "secondary",
                TaskStatus.RUNNING: "primary"}
WORDS = {"uploading": "Uploading images", "waitingForNode": "Waiting for a node",
         "uploadingToNode": "Uploading to the node", "unknown": "Unknown", "pendingTone": "warning",
         "defaultTone": "info"}


def task_status_label(task):
    """What a task is doing, in words (the same words taskstatus.js writes, from task_vocabulary)."""
    if task.pending_action in PENDING_LABELS:
        return PENDING_LABELS[task.pending_action]
    if task.partial:
        return WORDS["uploading"]
    if task.status in (None, TaskStatus.QUEUED) and not task.uuid:
        return WORDS["waitingForNode"] if task.processing_node_id is None else WORDS["uploadingToNode"]
    return STATUS_LABELS.get(task.status, WORDS["unknown"])


def task_status_tone(task):
    """The Bootstrap colour of a task's status badge."""
    if task.pending_action:
        return WORDS["pendingTone"]
    return STATUS_TONES.get(task.status, WORDS["defaultTone"])


def task_is_active(task):
    """Whether a task may still change by itself (uploading, queued, running, or an action pending)."""
    return bool(task.partial or task.pending_action or task.status in ACTIVE_STATUSES)


def task_vocabulary():
    """The status codes, words and colours above, as the scripts read them (JSON keys are the codes)."""
    return {"codes": {status.name: int(status) for status in TaskStatus},
            "active": [None if status is None else int(status) for status in ACTIVE_STATUSES],
            "status": {int(status): label for status, label in STATUS_LABELS.items()},
            "pending": {int(action): label for action, label in PENDING_LABELS.items()},
            "tone": {int(status): tone for status, tone in STATUS_TONES.items()},
            **WORDS}


def _as_utc(moment):
    """A datetime as timezone-aware UTC (SQLite gives naive ones back)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def task_elapsed_ms(task, now=None):
    """The task's elapsed time in ms, computed here so that a reload shows the same time the page was ticking.

    The node's processing time when known (plus the time since it was measured, while running); before that,
    the time since the task was created, while it is active; None when unknown.
    """
    now = now or datetime.now(timezone.utc)
    if task.processing_time is not None and task.processing_time >= 0:
        if task.status == TaskStatus.RUNNING and task.updated_at is not None:
            since = (now - _as_utc(task.updated_at)).total_seconds() * 1000
            return int(task.processing_time + max(since, 0))
        return int(task.processing_time)
    if task_is_active(task):
        return int(max((now - _as_utc(task.created_at)).total_seconds() * 1000, 0))
    return None


def task_elapsed_ticking(task):
    """Whether the elapsed time runs on: processing time while running, time since creation while active."""
    if task.processing_time is not None and task.processing_time >= 0:
        return task.status == TaskStatus.RUNNING and not task.pending_action
    return task_is_active(task)


def duration(milliseconds):
    """Milliseconds as 1h 02m 03s / 2m 03s / 3s (the same format as the scripts write)."""
    if milliseconds is None:
        return "—"
    seconds = int(milliseconds // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def register_task_display(app):
    """Make the helpers above (and TaskStatus, for comparisons) available to every template."""
    for helper in (task_status_label, task_status_tone, task_is_active, task_elapsed_ms, task_elapsed_ticking,
                   task_vocabulary):
        app.add_template_global(helper)
    app.add_template_global(TaskStatus, "TaskStatus")
    app.add_template_filter(duration, "duration")
