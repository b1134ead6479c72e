"""A stamp that changes with every change to published content

Each app process keeps what it prepared from the published content (module pages, the
programme's rules) while this stamp stays the same.

Revision ID: c4a1e7d2b9f3
Revises: 996770db882f
Create Date: 2026-11-30 08:00:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a1e7d2b9f3'
down_revision = '996770db882f'
branch_labels = None
depends_on = None


def upgrade():
    content_state = op.create_table('content_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_state'))
    )
    op.bulk_insert(content_state, [{"id": 1, "stamp": secrets.randbits(62)}])


def downgrade():
    op.drop_table('content_state')
