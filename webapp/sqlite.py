"""SQLite, the default database, set up for a web server's many threads and processes (issue 19).

- WAL journal: readers never wait for a writer, nor a writer for readers; only writers queue for each other.
- A busy timeout: a writer that finds another one writing waits for it (up to BUSY_TIMEOUT_MS) instead of failing
  at once with "database is locked".
- synchronous=NORMAL: with WAL, a commit writes to the log without waiting for the disk (fsync happens at
  checkpoints); the database stays consistent after a crash, and a power cut loses at most the last commits.
  In the default journal a commit waits for two fsyncs with the whole database locked, readers included, which
  on a busy disk can outlast the 5 s Python's sqlite3 waits on a lock by default.
- Write transactions begin with BEGIN IMMEDIATE: the write lock is taken when the transaction starts (waiting on
  the busy timeout), never upgraded from a read transaction, which SQLite refuses at once (SQLITE_BUSY, without
  waiting) when another connection wrote meanwhile. Python's sqlite3 (its legacy transaction control, which
  SQLAlchemy keeps) runs SELECTs outside transactions and opens one only before the first INSERT, UPDATE or
  DELETE; isolation_level names the BEGIN it uses there.
"""
from sqlalchemy import event

BUSY_TIMEOUT_MS = 30_000  # longer than any write transaction of ours takes even on a loaded machine


def tune_sqlite(engine):
    """Set every new connection of a SQLite engine up as the module docstring says; other databases are left alone."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_connect)


def _on_connect(dbapi_connection, connection_record):
    """Pragmas of a new SQLite connection (the busy timeout first: switching to WAL may have to wait)."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if _is_file(dbapi_connection):
        cursor.execute("PRAGMA journal_mode = WAL")  # kept in the file: later connections find it set
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
    dbapi_connection.isolation_level = "IMMEDIATE"


def _is_file(dbapi_connection):
    """Whether the connection is to a database file (an in-memory one has no WAL)."""
    rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    return any(name == "main" and path for _, name, path in rows)
