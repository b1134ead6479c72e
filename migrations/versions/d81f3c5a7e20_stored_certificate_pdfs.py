"""Stored certificate PDFs with the state they were built from

Revision ID: d81f3c5a7e20
Revises: c4a1e7d2b9f3
Create Date: 2026-11-30 08:10:00

"""
from alembic import op
import sqlalchemy as sa

import namalms.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = 'd81f3c5a7e20'
down_revision = 'c4a1e7d2b9f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_pdf',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', namalms.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_pdf_certificate_id_certificate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('certificate_id', name=op.f('pk_certificate_pdf'))
    )


def downgrade():
    op.drop_table('certificate_pdf')
