"""Column helpers shared by the models."""
from datetime import datetime, timezone


def utcnow():
    """The current time in UTC, timezone-aware."""
    return datetime.now(timezone.utc)
