"""fhir store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:02:26.219309
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('fhir_history',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('resource', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('rid', 'version', name=op.f('pk_fhir_history'))
    )
    op.create_index('ix_fhir_history_type_updated', 'fhir_history', ['res_type', 'last_updated'], unique=False)
    op.create_index('ix_fhir_history_updated', 'fhir_history', ['last_updated'], unique=False)
    op.create_table('fhir_idx_date',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('low', sa.DateTime(timezone=True), nullable=False),
    sa.Column('high', sa.DateTime(timezone=True), nullable=False)
    )
    op.create_index('ix_fhir_idx_date_lookup', 'fhir_idx_date', ['res_type', 'param', 'low', 'high'], unique=False)
    op.create_index('ix_fhir_idx_date_rid', 'fhir_idx_date', ['rid', 'param'], unique=False)
    op.create_table('fhir_idx_number',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(), nullable=False)
    )
    op.create_index('ix_fhir_idx_number_lookup', 'fhir_idx_number', ['res_type', 'param', 'value'], unique=False)
    op.create_index('ix_fhir_idx_number_rid', 'fhir_idx_number', ['rid'], unique=False)
    op.create_table('fhir_idx_quantity',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(), nullable=False),
    sa.Column('system', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True)
    )
    op.create_index('ix_fhir_idx_quantity_lookup', 'fhir_idx_quantity', ['res_type', 'param', 'value'], unique=False)
    op.create_index('ix_fhir_idx_quantity_rid', 'fhir_idx_quantity', ['rid'], unique=False)
    op.create_table('fhir_idx_reference',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.Text(), nullable=False)
    )
    op.create_index('ix_fhir_idx_reference_rid', 'fhir_idx_reference', ['rid'], unique=False)
    op.create_index('ix_fhir_idx_reference_target', 'fhir_idx_reference', ['target_id', 'target_type', 'res_type', 'param'], unique=False)
    op.create_table('fhir_idx_string',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value_norm', sa.Text(), nullable=False),
    sa.Column('value_exact', sa.Text(), nullable=False)
    )
    op.create_index('ix_fhir_idx_string_lookup', 'fhir_idx_string', ['res_type', 'param', 'value_norm'], unique=False, postgresql_ops={'value_norm': 'text_pattern_ops'})
    op.create_index('ix_fhir_idx_string_rid', 'fhir_idx_string', ['rid'], unique=False)
    op.create_table('fhir_idx_token',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('display', sa.Text(), nullable=True)
    )
    op.create_index('ix_fhir_idx_token_lookup', 'fhir_idx_token', ['res_type', 'param', 'code', 'system'], unique=False)
    op.create_index('ix_fhir_idx_token_rid', 'fhir_idx_token', ['rid'], unique=False)
    op.create_table('fhir_idx_uri',
    sa.Column('rid', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False)
    )
    op.create_index('ix_fhir_idx_uri_lookup', 'fhir_idx_uri', ['res_type', 'param', 'value'], unique=False)
    op.create_index('ix_fhir_idx_uri_rid', 'fhir_idx_uri', ['rid'], unique=False)
    op.create_table('fhir_resource',
    sa.Column('rid', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('resource', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('rid', name=op.f('pk_fhir_resource'))
    )
    op.create_index('ix_fhir_resource_type_updated', 'fhir_resource', ['res_type', 'last_updated', 'rid'], unique=False)
    op.create_index('ix_fhir_resource_updated', 'fhir_resource', ['last_updated', 'rid'], unique=False)
    op.create_index('uq_fhir_resource_type_id', 'fhir_resource', ['res_type', 'id'], unique=True)



def downgrade() -> None:

    op.drop_index('uq_fhir_resource_type_id', table_name='fhir_resource')
    op.drop_index('ix_fhir_resource_updated', table_name='fhir_resource')
    op.drop_index('ix_fhir_resource_type_updated', table_name='fhir_resource')
    op.drop_table('fhir_resource')
    op.drop_index('ix_fhir_idx_uri_rid', table_name='fhir_idx_uri')
    op.drop_index('ix_fhir_idx_uri_lookup', table_name='fhir_idx_uri')
    op.drop_table('fhir_idx_uri')
    op.drop_index('ix_fhir_idx_token_rid', table_name='fhir_idx_token')
    op.drop_index('ix_fhir_idx_token_lookup', table_name='fhir_idx_token')
    op.drop_table('fhir_idx_token')
    op.drop_index('ix_fhir_idx_string_rid', table_name='fhir_idx_string')
    op.drop_index('ix_fhir_idx_string_lookup', table_name='fhir_idx_string', postgresql_ops={'value_norm': 'text_pattern_ops'})
    op.drop_table('fhir_idx_string')
    op.drop_index('ix_fhir_idx_reference_target', table_name='fhir_idx_reference')
    op.drop_index('ix_fhir_idx_reference_rid', table_name='fhir_idx_reference')
    op.drop_table('fhir_idx_reference')
    op.drop_index('ix_fhir_idx_quantity_rid', table_name='fhir_idx_quantity')
    op.drop_index('ix_fhir_idx_quantity_lookup', table_name='fhir_idx_quantity')
    op.drop_table('fhir_idx_quantity')
    op.drop_index('ix_fhir_idx_number_rid', table_name='fhir_idx_number')
    op.drop_index('ix_fhir_idx_number_lookup', table_name='fhir_idx_number')
    op.drop_table('fhir_idx_number')
    op.drop_index('ix_fhir_idx_date_rid', table_name='fhir_idx_date')
    op.drop_index('ix_fhir_idx_date_lookup', table_name='fhir_idx_date')
    op.drop_table('fhir_idx_date')
    op.drop_index('ix_fhir_history_updated', table_name='fhir_history')
    op.drop_index('ix_fhir_history_type_updated', table_name='fhir_history')
    op.drop_table('fhir_history')

