"""sso: OpenID Connect provider — registered clients, authorization codes, refresh tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:57:14.881645
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_client',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('client_secret_hash', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('redirect_uris', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('post_logout_redirect_uris', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('trusted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_client_client_id'))
    )
    op.create_table('oauth_authorization_code',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('nonce', sa.String(length=255), nullable=True),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
    sa.Column('auth_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'], name=op.f('fk_oauth_authorization_code_client_id_oauth_client'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['auth_session.id'], name=op.f('fk_oauth_authorization_code_session_id_auth_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_oauth_authorization_code_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_authorization_code')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_oauth_authorization_code_code_digest'))
    )
    op.create_index('ix_oauth_authorization_code_client_nonce', 'oauth_authorization_code', ['client_id', 'nonce'], unique=False)
    op.create_index(op.f('ix_oauth_authorization_code_session_id'), 'oauth_authorization_code', ['session_id'], unique=False)
    op.create_index(op.f('ix_oauth_authorization_code_user_id'), 'oauth_authorization_code', ['user_id'], unique=False)
    op.create_table('oauth_refresh_token',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('code_id', sa.UUID(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'], name=op.f('fk_oauth_refresh_token_client_id_oauth_client'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['code_id'], ['oauth_authorization_code.id'], name=op.f('fk_oauth_refresh_token_code_id_oauth_authorization_code'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['auth_session.id'], name=op.f('fk_oauth_refresh_token_session_id_auth_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_oauth_refresh_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_refresh_token')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_oauth_refresh_token_token_digest'))
    )
    op.create_index(op.f('ix_oauth_refresh_token_client_id'), 'oauth_refresh_token', ['client_id'], unique=False)
    op.create_index(op.f('ix_oauth_refresh_token_code_id'), 'oauth_refresh_token', ['code_id'], unique=False)
    op.create_index(op.f('ix_oauth_refresh_token_session_id'), 'oauth_refresh_token', ['session_id'], unique=False)
    op.create_index(op.f('ix_oauth_refresh_token_user_id'), 'oauth_refresh_token', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_oauth_refresh_token_user_id'), table_name='oauth_refresh_token')
    op.drop_index(op.f('ix_oauth_refresh_token_session_id'), table_name='oauth_refresh_token')
    op.drop_index(op.f('ix_oauth_refresh_token_code_id'), table_name='oauth_refresh_token')
    op.drop_index(op.f('ix_oauth_refresh_token_client_id'), table_name='oauth_refresh_token')
    op.drop_table('oauth_refresh_token')
    op.drop_index(op.f('ix_oauth_authorization_code_user_id'), table_name='oauth_authorization_code')
    op.drop_index(op.f('ix_oauth_authorization_code_session_id'), table_name='oauth_authorization_code')
    op.drop_index('ix_oauth_authorization_code_client_nonce', table_name='oauth_authorization_code')
    op.drop_table('oauth_authorization_code')
    op.drop_table('oauth_client')
