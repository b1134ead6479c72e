"""Stamps of each learner's records and of the rows every learner page shows

A learner page kept by an app process (``namalms.page_memo``) is current while the content
stamp, the new site stamp (the workshops) and the learner's own stamp are unchanged. A learner
gets their row with the first change to their records; until then their stamp reads as none.

Revision ID: b3e5f7a9c1d2
Revises: 80ff47f97a01
Create Date: 2026-11-30 16:30:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e5f7a9c1d2'
down_revision = '80ff47f97a01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('learner_stamp',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_learner_stamp_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_learner_stamp'))
    )
    with op.batch_alter_table('content_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_stamp', sa.BigInteger(), nullable=True))
    op.execute(sa.text("UPDATE content_state SET site_stamp = :stamp").bindparams(stamp=secrets.randbits(62)))


def downgrade():
    with op.batch_alter_table('content_state', schema=None) as batch_op:
        batch_op.drop_column('site_stamp')
    op.drop_table('learner_stamp')
