"""Two-way referral (referral, candidates, events, follow-up tasks) and the platform's notifications
(in-app notification, outbox, local delivery record)

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('recipient_user_id', sa.Uuid(), nullable=True),
    sa.Column('recipient_practitioner_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    op.create_index('ix_notification_practitioner_created', 'notification', ['recipient_practitioner_id', 'created_at'], unique=False)
    op.create_index('ix_notification_user_created', 'notification', ['recipient_user_id', 'created_at'], unique=False)
    op.create_table('notification_delivery',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('outbox_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_notification_delivery_outbox_id'))
    )
    op.create_table('notification_outbox',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox'))
    )
    op.create_index('ix_notification_outbox_due', 'notification_outbox', ['state', 'next_attempt_at'], unique=False)
    op.create_table('referral',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=True),
    sa.Column('patient_name', sa.String(length=50), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('diagnosis_code', sa.String(length=32), nullable=True),
    sa.Column('diagnosis_text', sa.String(length=200), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source_organization_id', sa.UUID(), nullable=False),
    sa.Column('source_practitioner_id', sa.UUID(), nullable=True),
    sa.Column('source_user_id', sa.Uuid(), nullable=False),
    sa.Column('target_department_code', sa.String(length=32), nullable=True),
    sa.Column('target_practitioner_id', sa.UUID(), nullable=True),
    sa.Column('accepted_organization_id', sa.UUID(), nullable=True),
    sa.Column('accepted_practitioner_id', sa.UUID(), nullable=True),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appointment_place', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('reject_reason', sa.String(length=300), nullable=True),
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['accepted_organization_id'], ['organization.id'], name=op.f('fk_referral_accepted_organization_id_organization')),
    sa.ForeignKeyConstraint(['accepted_practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_accepted_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['parent_id'], ['referral.id'], name=op.f('fk_referral_parent_id_referral')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_referral_resident_id_resident')),
    sa.ForeignKeyConstraint(['source_organization_id'], ['organization.id'], name=op.f('fk_referral_source_organization_id_organization')),
    sa.ForeignKeyConstraint(['source_practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_source_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['target_practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_target_practitioner_id_practitioner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    op.create_index('ix_referral_accepted_created', 'referral', ['accepted_organization_id', 'created_at'], unique=False)
    op.create_index('ix_referral_expiry', 'referral', ['expires_at'], unique=False, postgresql_where="status = 'requested'")
    op.create_index(op.f('ix_referral_patient_id'), 'referral', ['patient_id'], unique=False)
    op.create_index(op.f('ix_referral_resident_id'), 'referral', ['resident_id'], unique=False)
    op.create_index('ix_referral_source_created', 'referral', ['source_organization_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_referral_status'), 'referral', ['status'], unique=False)
    op.create_table('referral_candidate',
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('open', sa.Boolean(), server_default='false', nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_referral_candidate_organization_id_organization')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_candidate_referral_id_referral'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('referral_id', 'organization_id', name=op.f('pk_referral_candidate'))
    )
    op.create_index('ix_referral_candidate_open', 'referral_candidate', ['organization_id', 'created_at'], unique=False, postgresql_where='open')
    op.create_table('referral_event',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user_id', sa.Uuid(), nullable=True),
    sa.Column('actor_username', sa.String(length=64), nullable=False),
    sa.Column('actor_organization_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    op.create_index(op.f('ix_referral_event_referral_id'), 'referral_event', ['referral_id'], unique=False)
    op.create_table('referral_followup',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=True),
    sa.Column('patient_name', sa.String(length=50), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_referral_followup_organization_id_organization')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_followup_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_referral_followup_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_referral_followup_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_followup'))
    )
    op.create_index(op.f('ix_referral_followup_organization_id'), 'referral_followup', ['organization_id'], unique=False)
    op.create_index(op.f('ix_referral_followup_referral_id'), 'referral_followup', ['referral_id'], unique=False)
    op.create_index(op.f('ix_referral_followup_team_id'), 'referral_followup', ['team_id'], unique=False)
    op.create_table('referral_slot',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('practitioner_id', sa.UUID(), nullable=True),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('reserved_for_family_doctors', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('green_channel', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('status', sa.String(length=12), server_default='free', nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=True),
    sa.Column('no_shows', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_referral_slot_organization_id_organization')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_slot_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_slot_referral_id_referral'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_slot')),
    sa.UniqueConstraint('referral_id', name=op.f('uq_referral_slot_referral_id'))
    )
    op.create_index('ix_referral_slot_organization_start', 'referral_slot', ['organization_id', 'start_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_referral_slot_organization_start', table_name='referral_slot')
    op.drop_table('referral_slot')
    op.drop_index(op.f('ix_referral_followup_team_id'), table_name='referral_followup')
    op.drop_index(op.f('ix_referral_followup_referral_id'), table_name='referral_followup')
    op.drop_index(op.f('ix_referral_followup_organization_id'), table_name='referral_followup')
    op.drop_table('referral_followup')
    op.drop_index(op.f('ix_referral_event_referral_id'), table_name='referral_event')
    op.drop_table('referral_event')
    op.drop_index('ix_referral_candidate_open', table_name='referral_candidate', postgresql_where='open')
    op.drop_table('referral_candidate')
    op.drop_index(op.f('ix_referral_status'), table_name='referral')
    op.drop_index('ix_referral_source_created', table_name='referral')
    op.drop_index(op.f('ix_referral_resident_id'), table_name='referral')
    op.drop_index(op.f('ix_referral_patient_id'), table_name='referral')
    op.drop_index('ix_referral_expiry', table_name='referral', postgresql_where="status = 'requested'")
    op.drop_index('ix_referral_accepted_created', table_name='referral')
    op.drop_table('referral')
    op.drop_index('ix_notification_outbox_due', table_name='notification_outbox')
    op.drop_table('notification_outbox')
    op.drop_table('notification_delivery')
    op.drop_index('ix_notification_user_created', table_name='notification')
    op.drop_index('ix_notification_practitioner_created', table_name='notification')
    op.drop_table('notification')
