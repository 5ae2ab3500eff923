"""project tags (WebODM's space-separated words)

Revision ID: 7d4e2a91c3b5
Revises: 5b1e7c2d9a40
Create Date: 2026-12-02 07:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d4e2a91c3b5'
down_revision = '5b1e7c2d9a40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('tags')
