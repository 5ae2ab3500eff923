"""The integer codes of docs/API.md, defined once."""
from enum import IntEnum


class TaskStatus(IntEnum):
    """A task's processing status, as the API and the NodeODM API number it."""

    QUEUED = 10
    RUNNING = 20
    FAILED = 30
    COMPLETED = 40
    CANCELED = 50


# The statuses of a task with processing still to do (None: not queued yet, while its images are uploaded).
ACTIVE_STATUSES = (None, TaskStatus.QUEUED, TaskStatus.RUNNING)


class PendingAction(IntEnum):
    """What a user asked to be done to a task; the worker carries it out and clears it."""

    CANCEL = 1
    REMOVE = 2
    RESTART = 3


# The permissions a user can have on a project; tasks inherit their project's.
PERMISSIONS = ("view", "add", "change", "delete")
