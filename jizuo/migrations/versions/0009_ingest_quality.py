"""Ingestion batches and records, quality rules, quarantine, scores, front-end DB sources, city upload

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('city_upload_batch',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('dataset_code', sa.String(length=64), nullable=False),
    sa.Column('from_record_id', sa.BigInteger(), nullable=False),
    sa.Column('to_record_id', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_city_upload_batch'))
    )
    op.create_index('ix_city_upload_batch_dataset', 'city_upload_batch', ['dataset_code', 'to_record_id'], unique=False)
    op.create_table('ingest_batch',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('dataset_code', sa.String(length=64), nullable=True),
    sa.Column('institution_id', sa.UUID(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('submitted_by', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('notes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['organization.id'], name=op.f('fk_ingest_batch_institution_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_batch'))
    )
    op.create_index(op.f('ix_ingest_batch_dataset_code'), 'ingest_batch', ['dataset_code'], unique=False)
    op.create_index(op.f('ix_ingest_batch_institution_id'), 'ingest_batch', ['institution_id'], unique=False)
    op.create_table('ingest_frontdb_source',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('institution_id', sa.UUID(), nullable=False),
    sa.Column('dataset_code', sa.String(length=64), nullable=False),
    sa.Column('dsn_enc', sa.LargeBinary(), nullable=False),
    sa.Column('table_name', sa.String(length=128), nullable=False),
    sa.Column('watermark_column', sa.String(length=64), nullable=False),
    sa.Column('watermark', sa.String(length=64), nullable=True),
    sa.Column('interval_seconds', sa.Integer(), nullable=False),
    sa.Column('batch_size', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_batch_id', sa.Uuid(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['organization.id'], name=op.f('fk_ingest_frontdb_source_institution_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_frontdb_source'))
    )
    op.create_index(op.f('ix_ingest_frontdb_source_institution_id'), 'ingest_frontdb_source', ['institution_id'], unique=False)
    op.create_table('ingest_record',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('dataset_code', sa.String(length=64), nullable=True),
    sa.Column('institution_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=64), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('data_enc', sa.LargeBinary(), nullable=True),
    sa.Column('failures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dimensions', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('required_total', sa.SmallInteger(), nullable=False),
    sa.Column('required_filled', sa.SmallInteger(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resources', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batch.id'], name=op.f('fk_ingest_record_batch_id_ingest_batch')),
    sa.ForeignKeyConstraint(['institution_id'], ['organization.id'], name=op.f('fk_ingest_record_institution_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_record'))
    )
    op.create_index('ix_ingest_record_key', 'ingest_record', ['dataset_code', 'institution_id', 'record_key'], unique=False)
    op.create_index('ix_ingest_record_quarantine', 'ingest_record', ['institution_id', 'dataset_code', 'id'], unique=False, postgresql_where=sa.text("status = 'quarantined'"))
    op.create_index('ix_ingest_record_score', 'ingest_record', ['institution_id', 'dataset_code', 'received_at'], unique=False)
    op.create_index('ux_ingest_record_batch_seq', 'ingest_record', ['batch_id', 'seq'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_ingest_record_batch_seq', table_name='ingest_record')
    op.drop_index('ix_ingest_record_score', table_name='ingest_record')
    op.drop_index('ix_ingest_record_quarantine', table_name='ingest_record', postgresql_where=sa.text("status = 'quarantined'"))
    op.drop_index('ix_ingest_record_key', table_name='ingest_record')
    op.drop_table('ingest_record')
    op.drop_index(op.f('ix_ingest_frontdb_source_institution_id'), table_name='ingest_frontdb_source')
    op.drop_table('ingest_frontdb_source')
    op.drop_index(op.f('ix_ingest_batch_institution_id'), table_name='ingest_batch')
    op.drop_index(op.f('ix_ingest_batch_dataset_code'), table_name='ingest_batch')
    op.drop_table('ingest_batch')
    op.drop_index('ix_city_upload_batch_dataset', table_name='city_upload_batch')
    op.drop_table('city_upload_batch')
