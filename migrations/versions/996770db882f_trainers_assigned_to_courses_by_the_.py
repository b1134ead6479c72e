"""Trainers assigned to courses by the office

A trainer sees and changes only the content, workshops and learners of their courses;
the office (role admin) keeps seeing all of them.

Revision ID: 996770db882f
Revises: 7b7c9f1e194b
Create Date: 2026-11-30 06:08:30.882046

"""
from alembic import op
import sqlalchemy as sa

import namalms.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '996770db882f'
down_revision = '7b7c9f1e194b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trainer_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', namalms.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_trainer_assignment_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_trainer_assignment_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainer_assignment')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_trainer_assignment_user_id_course_id'))
    )
    with op.batch_alter_table('trainer_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainer_assignment_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainer_assignment_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('trainer_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainer_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_trainer_assignment_course_id'))

    op.drop_table('trainer_assignment')
