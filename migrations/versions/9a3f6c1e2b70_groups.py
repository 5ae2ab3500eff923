"""groups of users, their members, and projects shared with groups

Revision ID: 9a3f6c1e2b70
Revises: 7d4e2a91c3b5
Create Date: 2026-12-02 09:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a3f6c1e2b70'
down_revision = '7d4e2a91c3b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group')),
    sa.UniqueConstraint('name', name=op.f('uq_group_name')),
    sqlite_autoincrement=True
    )
    op.create_table('group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['group.id'], name=op.f('fk_group_member_group_id_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_group_member_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_member'))
    )
    with op.batch_alter_table('group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_member_user_id'), ['user_id'], unique=False)

    op.create_table('project_group_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('can_view', sa.Boolean(), nullable=False),
    sa.Column('can_add', sa.Boolean(), nullable=False),
    sa.Column('can_change', sa.Boolean(), nullable=False),
    sa.Column('can_delete', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['group.id'], name=op.f('fk_project_group_share_group_id_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_group_share_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_group_share')),
    sa.UniqueConstraint('project_id', 'group_id', name=op.f('uq_project_group_share_project_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('project_group_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_group_share_group_id'), ['group_id'], unique=False)


def downgrade():
    with op.batch_alter_table('project_group_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_group_share_group_id'))
    op.drop_table('project_group_share')
    with op.batch_alter_table('group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_member_user_id'))
    op.drop_table('group_member')
    op.drop_table('group')
