"""Result mutual recognition: item catalogue and codes, institutions, result projection, checks and prompts

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recognition_check',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('practitioner', sa.String(length=64), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('encounter', sa.String(length=100), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_check'))
    )
    op.create_index(op.f('ix_recognition_check_organization_id'), 'recognition_check', ['organization_id'], unique=False)
    op.create_table('recognition_item',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('loinc', sa.String(length=16), nullable=True),
    sa.Column('window_days', sa.Integer(), server_default='14', nullable=False),
    sa.Column('min_level', sa.String(length=16), server_default='1', nullable=False),
    sa.Column('needs_qc', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False),
    sa.Column('members', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_item')),
    sa.UniqueConstraint('code', name=op.f('uq_recognition_item_code'))
    )
    op.create_table('recognition_result',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('item_code', sa.String(length=32), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=True),
    sa.Column('level_rank', sa.SmallInteger(), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=True),
    sa.Column('value', sa.String(length=64), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('reference_range', sa.String(length=64), nullable=True),
    sa.Column('conclusion', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_result'))
    )
    op.create_index('ix_recognition_result_lookup', 'recognition_result', ['patient_id', 'item_code', sa.literal_column('effective_at DESC')], unique=False)
    op.create_index('ix_recognition_result_resource', 'recognition_result', ['resource_type', 'resource_id'], unique=False)
    op.create_table('recognition_institution',
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('participating', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('qc_certified', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('qc_valid_until', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_recognition_institution_organization_id_organization')),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_recognition_institution'))
    )
    op.create_table('recognition_item_code',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('display', sa.String(length=100), nullable=True),
    sa.Column('organization_code', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['recognition_item.id'], name=op.f('fk_recognition_item_code_item_id_recognition_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_item_code')),
    sa.UniqueConstraint('system', 'code', name='uq_recognition_item_code_system_code')
    )
    op.create_index(op.f('ix_recognition_item_code_item_id'), 'recognition_item_code', ['item_id'], unique=False)
    op.create_table('recognition_prompt',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('check_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('practitioner', sa.String(length=64), nullable=True),
    sa.Column('item_code', sa.String(length=32), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('matches', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recognised_report', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['check_id'], ['recognition_check.id'], name=op.f('fk_recognition_prompt_check_id_recognition_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_prompt'))
    )
    op.create_index('ix_recognition_prompt_at', 'recognition_prompt', ['at'], unique=False)
    op.create_index(op.f('ix_recognition_prompt_check_id'), 'recognition_prompt', ['check_id'], unique=False)
    op.create_index('ix_recognition_prompt_org_at', 'recognition_prompt', ['organization_id', 'at'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index('ix_recognition_prompt_org_at', table_name='recognition_prompt')
    op.drop_index(op.f('ix_recognition_prompt_check_id'), table_name='recognition_prompt')
    op.drop_index('ix_recognition_prompt_at', table_name='recognition_prompt')
    op.drop_table('recognition_prompt')
    op.drop_index(op.f('ix_recognition_item_code_item_id'), table_name='recognition_item_code')
    op.drop_table('recognition_item_code')
    op.drop_table('recognition_institution')
    op.drop_index('ix_recognition_result_resource', table_name='recognition_result')
    op.drop_index('ix_recognition_result_lookup', table_name='recognition_result')
    op.drop_table('recognition_result')
    op.drop_table('recognition_item')
    op.drop_index(op.f('ix_recognition_check_organization_id'), table_name='recognition_check')
    op.drop_table('recognition_check')
    # ### end Alembic commands ###
