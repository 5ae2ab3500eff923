"""task ids never reused: AUTOINCREMENT on SQLite

A pipeline step still running for a deleted task must not find its id (hence its folder and row) given to a new
task. PostgreSQL's sequences never reuse ids; SQLite reuses the highest one unless the table is AUTOINCREMENT,
which only a rebuilt table can become.

Revision ID: e5a1c0d4b7f2
Revises: c3ed76037866
Create Date: 2026-12-02 06:18:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5a1c0d4b7f2'
down_revision = 'c3ed76037866'
branch_labels = None
depends_on = None


def _rebuild_task_table(autoincrement):
    """Copy the task table into a new one with or without AUTOINCREMENT (SQLite only; nothing to do elsewhere)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('task', recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


def upgrade():
    _rebuild_task_table(True)


def downgrade():
    _rebuild_task_table(False)
