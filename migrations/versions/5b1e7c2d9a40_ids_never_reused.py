"""ids never reused: SQLite tables rebuilt with AUTOINCREMENT, keeping every id

Without AUTOINCREMENT, SQLite gives a new row the id of the newest deleted one (see webapp/models/base.py).
SQLite cannot add it to a table, so each table is rebuilt (copied into a new one, ids and all); its
sqlite_sequence then starts after the largest id. PostgreSQL's sequences never reuse ids: nothing to do there.
The app never turns SQLite's foreign keys on, so dropping the old tables deletes no rows that refer to them.

Revision ID: 5b1e7c2d9a40
Revises: c3ed76037866
Create Date: 2026-12-02 06:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b1e7c2d9a40'
down_revision = 'c3ed76037866'
branch_labels = None
depends_on = None

TABLES = ["user", "api_token", "processing_node", "preset", "project", "project_share", "task"]


def _rebuild(autoincrement):
    """Rebuild every table on SQLite with or without AUTOINCREMENT; nothing elsewhere."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass  # no change: the rebuild itself is the point


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
