"""Referral: loop closing for visits, FHIR Schedule/Slot, attachments

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_visit',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('encounter_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=True),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('organization_id', sa.String(length=64), nullable=True),
    sa.Column('organization_name', sa.String(length=100), nullable=True),
    sa.Column('visit_class', sa.String(length=12), nullable=False),
    sa.Column('class_code', sa.String(length=16), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_referral_visit_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_referral_visit_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_visit')),
    sa.UniqueConstraint('encounter_id', name=op.f('uq_referral_visit_encounter_id'))
    )
    op.create_index('ix_referral_visit_pending', 'referral_visit', ['created_at'], unique=False,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_referral_visit_team_started', 'referral_visit', ['team_id', 'started_at'], unique=False)
    op.create_table('referral_attachment',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_attachment_referral_id_referral'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_attachment'))
    )
    op.create_index(op.f('ix_referral_attachment_referral_id'), 'referral_attachment', ['referral_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_referral_attachment_referral_id'), table_name='referral_attachment')
    op.drop_table('referral_attachment')
    op.drop_index('ix_referral_visit_team_started', table_name='referral_visit')
    op.drop_index('ix_referral_visit_pending', table_name='referral_visit')
    op.drop_table('referral_visit')
