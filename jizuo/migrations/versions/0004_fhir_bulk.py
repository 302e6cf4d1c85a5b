"""fhir bulk export jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'fhir_export_job',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('owner', sa.String(length=128), nullable=False),
        sa.Column('request_url', sa.Text(), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=True),
        sa.Column('types', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('patient_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('reveal', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('progress', sa.Text(), nullable=False),
        sa.Column('transaction_time', sa.DateTime(timezone=True), nullable=False),
        sa.Column('output', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('error', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_export_job')),
    )


def downgrade() -> None:
    op.drop_table('fhir_export_job')
