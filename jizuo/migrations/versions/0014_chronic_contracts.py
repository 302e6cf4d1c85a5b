"""Family-doctor contracts (1+1+1), devices registry, COPD, medication requests

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False)


def upgrade() -> None:
    op.add_column('station_device', sa.Column('key_rotated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('station_device', sa.Column('registered_by', sa.UUID(), nullable=True))

    op.create_table('family_contract',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=False),
    sa.Column('centre_id', sa.UUID(), nullable=False),
    sa.Column('district_hospital_id', sa.UUID(), nullable=False),
    sa.Column('city_hospital_id', sa.UUID(), nullable=False),
    sa.Column('packages', postgresql.ARRAY(sa.String(length=24)), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('renewed_from_id', sa.UUID(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.UUID(), nullable=True),
    sa.Column('terminated_on', sa.Date(), nullable=True),
    sa.Column('termination_reason', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    _created_at(),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_family_contract_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_family_contract_team_id_care_team')),
    sa.ForeignKeyConstraint(['centre_id'], ['organization.id'], name=op.f('fk_family_contract_centre_id_organization')),
    sa.ForeignKeyConstraint(['district_hospital_id'], ['organization.id'],
                            name=op.f('fk_family_contract_district_hospital_id_organization')),
    sa.ForeignKeyConstraint(['city_hospital_id'], ['organization.id'],
                            name=op.f('fk_family_contract_city_hospital_id_organization')),
    sa.ForeignKeyConstraint(['renewed_from_id'], ['family_contract.id'],
                            name=op.f('fk_family_contract_renewed_from_id_family_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_contract'))
    )
    op.create_index(op.f('ix_family_contract_resident_id'), 'family_contract', ['resident_id'], unique=False)
    op.create_index(op.f('ix_family_contract_team_id'), 'family_contract', ['team_id'], unique=False)
    op.create_index(op.f('ix_family_contract_renewed_from_id'), 'family_contract', ['renewed_from_id'], unique=False)
    op.create_index('uq_family_contract_one_active', 'family_contract', ['resident_id'], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_family_contract_status_period', 'family_contract', ['status', 'starts_on', 'ends_on'],
                    unique=False)

    op.create_table('copd_assessment',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('patient_id', sa.UUID(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('fev1_pct', sa.Float(), nullable=True),
    sa.Column('fev1_fvc', sa.Float(), nullable=True),
    sa.Column('mmrc', sa.Integer(), nullable=True),
    sa.Column('cat', sa.Integer(), nullable=True),
    sa.Column('exacerbations', sa.Integer(), nullable=False),
    sa.Column('hospitalised', sa.Integer(), nullable=False),
    sa.Column('gold_grade', sa.Integer(), nullable=True),
    sa.Column('gold_group', sa.String(length=2), nullable=True),
    sa.Column('practitioner_id', sa.UUID(), nullable=True),
    _created_at(),
    sa.ForeignKeyConstraint(['patient_id'], ['chronic_patient.id'], ondelete='CASCADE',
                            name=op.f('fk_copd_assessment_patient_id_chronic_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copd_assessment'))
    )
    op.create_index(op.f('ix_copd_assessment_patient_id'), 'copd_assessment', ['patient_id'], unique=False)

    op.create_table('medication_refill',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('source_request_id', sa.String(length=64), nullable=False),
    sa.Column('medication_code', sa.String(length=32), nullable=True),
    sa.Column('medication_display', sa.String(length=200), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('proxy_name', sa.String(length=50), nullable=True),
    sa.Column('proxy_relation', sa.String(length=20), nullable=True),
    sa.Column('requested_by', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.UUID(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=True),
    sa.Column('new_request_id', sa.String(length=64), nullable=True),
    _created_at(),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_medication_refill_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_medication_refill_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medication_refill'))
    )
    op.create_index(op.f('ix_medication_refill_resident_id'), 'medication_refill', ['resident_id'], unique=False)
    op.create_index('ix_medication_refill_team_status', 'medication_refill', ['team_id', 'status', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('medication_refill')
    op.drop_table('copd_assessment')
    op.drop_index('ix_family_contract_status_period', table_name='family_contract')
    op.drop_index('uq_family_contract_one_active', table_name='family_contract')
    op.drop_table('family_contract')
    op.drop_column('station_device', 'registered_by')
    op.drop_column('station_device', 'key_rotated_at')
