"""Column helpers shared by the models."""
from datetime import datetime, timezone


def utcnow():
    """The current time in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


# The largest id a database column holds (64-bit signed): SQLite raises OverflowError (a 500) beyond it.
MAX_DATABASE_INT = 2 ** 63 - 1

# Ids are never reused, on SQLite as on PostgreSQL (whose sequences never go back): without AUTOINCREMENT, SQLite
# gives a new row the id of the newest deleted one, and a bookmark, an API client's stored id or a public link
# would then point at another object. Every table with an integer id has these table arguments.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
