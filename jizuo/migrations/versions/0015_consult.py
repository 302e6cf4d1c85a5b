"""Resident questions to their family-doctor team and reusable answers

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consult_question',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('resident_id', sa.UUID(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('asked_by', sa.UUID(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.UUID(), nullable=True),
    sa.Column('answered_by_name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_consult_question_resident_id_resident')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_consult_question_team_id_care_team')),
    sa.ForeignKeyConstraint(['asked_by'], ['app_user.id'], name=op.f('fk_consult_question_asked_by_app_user')),
    sa.ForeignKeyConstraint(['answered_by'], ['app_user.id'], name=op.f('fk_consult_question_answered_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_question'))
    )
    op.create_index(op.f('ix_consult_question_resident_id'), 'consult_question', ['resident_id'], unique=False)
    op.create_index('ix_consult_question_team_status', 'consult_question', ['team_id', 'status', 'created_at'],
                    unique=False)
    op.create_table('consult_faq',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('source_question_id', sa.UUID(), nullable=True),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['source_question_id'], ['consult_question.id'],
                            name=op.f('fk_consult_faq_source_question_id_consult_question')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_consult_faq_team_id_care_team')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_consult_faq_created_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_faq')),
    sa.UniqueConstraint('source_question_id', name=op.f('uq_consult_faq_source_question_id'))
    )


def downgrade() -> None:
    op.drop_table('consult_faq')
    op.drop_index('ix_consult_question_team_status', table_name='consult_question')
    op.drop_index(op.f('ix_consult_question_resident_id'), table_name='consult_question')
    op.drop_table('consult_question')
