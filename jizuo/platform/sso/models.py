"""Tables of the OpenID Connect provider: registered applications, authorization codes, refresh tokens.

The browser's SSO session is an `auth_session` row of the identity domain (the cookie names it); codes
and refresh tokens point at that row, so signing out there ends every application's access at once.
Codes and refresh tokens are stored only as SHA-256 digests.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base, created_at_column, uuid_pk


class OAuthClient(Base):
    """A relying party (an application of the app centre). No secret hash means a public client."""

    __tablename__ = "oauth_client"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text))
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    trusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()


class OAuthAuthorizationCode(Base):
    """One authorization code: single use, short-lived, bound to client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_authorization_code"
    __table_args__ = (Index("ix_oauth_authorization_code_client_nonce", "client_id", "nonce"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="CASCADE", onupdate="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_session.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OAuthRefreshToken(Base):
    """A refresh token of one application for one SSO session; rotated on every use."""

    __tablename__ = "oauth_refresh_token"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="CASCADE", onupdate="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_session.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("oauth_authorization_code.id", ondelete="SET NULL"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
