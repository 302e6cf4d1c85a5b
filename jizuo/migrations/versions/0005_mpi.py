"""mpi: persons, source records, links, review queue, event log (issue #5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:42:07.422138
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mpi_event',
    sa.Column('seq', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('person_ids', postgresql.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('patient_ids', postgresql.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('reverts_seq', sa.BigInteger(), nullable=True),
    sa.Column('reverted_by_seq', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_mpi_event'))
    )
    op.create_index(op.f('ix_mpi_event_action'), 'mpi_event', ['action'], unique=False)
    op.create_table('mpi_person',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merged_into', sa.UUID(), nullable=True),
    sa.Column('golden', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['merged_into'], ['mpi_person.id'], name=op.f('fk_mpi_person_merged_into_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_person'))
    )
    op.create_table('mpi_source_record',
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=True),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('institution_code', sa.String(length=64), nullable=True),
    sa.Column('institution_name', sa.String(length=100), nullable=True),
    sa.Column('institution_rank', sa.Integer(), nullable=False),
    sa.Column('mrn', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('record_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('surname', sa.String(length=16), nullable=True),
    sa.Column('name_pinyin', sa.String(length=128), nullable=True),
    sa.Column('surname_pinyin', sa.String(length=32), nullable=True),
    sa.Column('given_pinyin', sa.String(length=96), nullable=True),
    sa.Column('name_fuzzy', sa.String(length=128), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('birth', sa.String(length=8), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('id_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('id_valid', sa.Boolean(), nullable=False),
    sa.Column('id_fuzzy', postgresql.ARRAY(sa.BigInteger()), nullable=True),
    sa.Column('insurance_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('phone_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('street', sa.String(length=50), nullable=True),
    sa.Column('locality', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_mpi_source_record_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_mpi_source_record'))
    )
    op.create_index(op.f('ix_mpi_source_record_birth'), 'mpi_source_record', ['birth'], unique=False)
    op.create_index(op.f('ix_mpi_source_record_id_bidx'), 'mpi_source_record', ['id_bidx'], unique=False)
    op.create_index('ix_mpi_source_record_id_fuzzy', 'mpi_source_record', ['id_fuzzy'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_mpi_source_record_insurance_bidx'), 'mpi_source_record', ['insurance_bidx'], unique=False)
    op.create_index('ix_mpi_source_record_name_fuzzy_birth_year', 'mpi_source_record', ['name_fuzzy', 'birth_year'], unique=False)
    op.create_index(op.f('ix_mpi_source_record_person_id'), 'mpi_source_record', ['person_id'], unique=False)
    op.create_index(op.f('ix_mpi_source_record_phone_bidx'), 'mpi_source_record', ['phone_bidx'], unique=False)
    op.create_table('mpi_link',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('weight', sa.Float(), nullable=True),
    sa.Column('agreement', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('matched_patient_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_by', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['mpi_source_record.patient_id'], name=op.f('fk_mpi_link_patient_id_mpi_source_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_mpi_link_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_link'))
    )
    op.create_index(op.f('ix_mpi_link_patient_id'), 'mpi_link', ['patient_id'], unique=False)
    op.create_index(op.f('ix_mpi_link_person_id'), 'mpi_link', ['person_id'], unique=False)
    op.create_index('uq_mpi_link_active_patient', 'mpi_link', ['patient_id'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('mpi_review',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('candidate_person_id', sa.UUID(), nullable=False),
    sa.Column('candidate_patient_id', sa.String(length=64), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('agreement', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_person_id'], ['mpi_person.id'], name=op.f('fk_mpi_review_candidate_person_id_mpi_person')),
    sa.ForeignKeyConstraint(['patient_id'], ['mpi_source_record.patient_id'], name=op.f('fk_mpi_review_patient_id_mpi_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_review'))
    )
    op.create_index(op.f('ix_mpi_review_candidate_person_id'), 'mpi_review', ['candidate_person_id'], unique=False)
    op.create_index(op.f('ix_mpi_review_patient_id'), 'mpi_review', ['patient_id'], unique=False)
    op.create_index(op.f('ix_mpi_review_status'), 'mpi_review', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mpi_review_status'), table_name='mpi_review')
    op.drop_index(op.f('ix_mpi_review_patient_id'), table_name='mpi_review')
    op.drop_index(op.f('ix_mpi_review_candidate_person_id'), table_name='mpi_review')
    op.drop_table('mpi_review')
    op.drop_index('uq_mpi_link_active_patient', table_name='mpi_link', postgresql_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_mpi_link_person_id'), table_name='mpi_link')
    op.drop_index(op.f('ix_mpi_link_patient_id'), table_name='mpi_link')
    op.drop_table('mpi_link')
    op.drop_index(op.f('ix_mpi_source_record_phone_bidx'), table_name='mpi_source_record')
    op.drop_index(op.f('ix_mpi_source_record_person_id'), table_name='mpi_source_record')
    op.drop_index('ix_mpi_source_record_name_fuzzy_birth_year', table_name='mpi_source_record')
    op.drop_index(op.f('ix_mpi_source_record_insurance_bidx'), table_name='mpi_source_record')
    op.drop_index('ix_mpi_source_record_id_fuzzy', table_name='mpi_source_record', postgresql_using='gin')
    op.drop_index(op.f('ix_mpi_source_record_id_bidx'), table_name='mpi_source_record')
    op.drop_index(op.f('ix_mpi_source_record_birth'), table_name='mpi_source_record')
    op.drop_table('mpi_source_record')
    op.drop_table('mpi_person')
    op.drop_index(op.f('ix_mpi_event_action'), table_name='mpi_event')
    op.drop_table('mpi_event')
