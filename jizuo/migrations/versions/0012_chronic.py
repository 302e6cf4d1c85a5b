"""Chronic disease management fed by health-station devices: station devices, device readings, urgent alerts,
registered chronic patients and their follow-ups

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('station_device',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('station_id', sa.UUID(), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['organization.id'], name=op.f('fk_station_device_station_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_device')),
    sa.UniqueConstraint('code', name=op.f('uq_station_device_code')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_station_device_key_digest'))
    )
    op.create_index(op.f('ix_station_device_station_id'), 'station_device', ['station_id'], unique=False)
    op.create_table('chronic_patient',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=False),
    sa.Column('disease', sa.String(length=24), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('classification', sa.String(length=24), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_chronic_patient_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_chronic_patient_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chronic_patient')),
    sa.UniqueConstraint('resident_id', 'disease', name='uq_chronic_patient_resident_disease')
    )
    op.create_index(op.f('ix_chronic_patient_team_id'), 'chronic_patient', ['team_id'], unique=False)
    op.create_table('device_reading',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('device_id', sa.UUID(), nullable=False),
    sa.Column('station_id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('systolic', sa.Float(), nullable=True),
    sa.Column('diastolic', sa.Float(), nullable=True),
    sa.Column('pulse', sa.Float(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('flags', sa.ARRAY(sa.String(length=24)), server_default='{}', nullable=False),
    sa.Column('observation_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['station_device.id'], name=op.f('fk_device_reading_device_id_station_device')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_device_reading_resident_id_resident')),
    sa.ForeignKeyConstraint(['station_id'], ['organization.id'], name=op.f('fk_device_reading_station_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_reading'))
    )
    op.create_index('ix_device_reading_device_time', 'device_reading', ['device_id', 'measured_at'], unique=False)
    op.create_index('ix_device_reading_resident_time', 'device_reading', ['resident_id', 'kind', 'measured_at'], unique=False)
    op.create_table('chronic_alert',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('reading_id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Uuid(), nullable=True),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['reading_id'], ['device_reading.id'], name=op.f('fk_chronic_alert_reading_id_device_reading')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_chronic_alert_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_chronic_alert_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chronic_alert'))
    )
    op.create_index(op.f('ix_chronic_alert_resident_id'), 'chronic_alert', ['resident_id'], unique=False)
    op.create_index('ix_chronic_alert_team_status', 'chronic_alert', ['team_id', 'status', 'created_at'], unique=False)
    op.create_table('chronic_followup',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('patient_id', sa.UUID(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='planned', nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('way', sa.String(length=16), nullable=True),
    sa.Column('systolic', sa.Float(), nullable=True),
    sa.Column('diastolic', sa.Float(), nullable=True),
    sa.Column('fasting_glucose', sa.Float(), nullable=True),
    sa.Column('classification', sa.String(length=24), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('practitioner_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['chronic_patient.id'], name=op.f('fk_chronic_followup_patient_id_chronic_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chronic_followup'))
    )
    op.create_index('ix_chronic_followup_patient_due', 'chronic_followup', ['patient_id', 'status', 'due_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_chronic_followup_patient_due', table_name='chronic_followup')
    op.drop_table('chronic_followup')
    op.drop_index('ix_chronic_alert_team_status', table_name='chronic_alert')
    op.drop_index(op.f('ix_chronic_alert_resident_id'), table_name='chronic_alert')
    op.drop_table('chronic_alert')
    op.drop_index('ix_device_reading_resident_time', table_name='device_reading')
    op.drop_index('ix_device_reading_device_time', table_name='device_reading')
    op.drop_table('device_reading')
    op.drop_index(op.f('ix_chronic_patient_team_id'), table_name='chronic_patient')
    op.drop_table('chronic_patient')
    op.drop_index(op.f('ix_station_device_station_id'), table_name='station_device')
    op.drop_table('station_device')
