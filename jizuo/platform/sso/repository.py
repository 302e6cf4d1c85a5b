"""Every query of the OpenID Connect provider."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.sso.models import OAuthAuthorizationCode, OAuthClient, OAuthRefreshToken

# --- Clients ---------------------------------------------------------------------------------------


async def get_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


async def list_clients(session: AsyncSession) -> list[OAuthClient]:
    return list(await session.scalars(select(OAuthClient).order_by(OAuthClient.created_at, OAuthClient.client_id)))


async def delete_client(session: AsyncSession, client_id: str) -> bool:
    result = await session.execute(delete(OAuthClient).where(OAuthClient.client_id == client_id)
                                   .returning(OAuthClient.id))
    return result.first() is not None


# --- Authorization codes --------------------------------------------------------------------------


async def nonce_seen(session: AsyncSession, client_id: str, nonce: str) -> bool:
    return bool(await session.scalar(select(exists().where(
        OAuthAuthorizationCode.client_id == client_id, OAuthAuthorizationCode.nonce == nonce))))


def add_code(session: AsyncSession, code: OAuthAuthorizationCode) -> None:
    session.add(code)


async def get_code_for_update(session: AsyncSession, digest: str) -> OAuthAuthorizationCode | None:
    """Lock the row: two concurrent exchanges of one code must not both succeed."""
    return await session.scalar(
        select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_digest == digest).with_for_update())


async def mark_code_used(session: AsyncSession, code_id: uuid.UUID, at: datetime) -> bool:
    result = await session.execute(
        update(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.id == code_id, OAuthAuthorizationCode.used_at.is_(None))
        .values(used_at=at).returning(OAuthAuthorizationCode.id))
    return result.first() is not None


# --- Refresh tokens -------------------------------------------------------------------------------


def add_refresh_token(session: AsyncSession, token: OAuthRefreshToken) -> None:
    session.add(token)


async def get_refresh_token_for_update(session: AsyncSession, digest: str) -> OAuthRefreshToken | None:
    return await session.scalar(
        select(OAuthRefreshToken).where(OAuthRefreshToken.token_digest == digest).with_for_update())


async def revoke_refresh_token(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(OAuthRefreshToken)
                          .where(OAuthRefreshToken.id == token_id, OAuthRefreshToken.revoked_at.is_(None))
                          .values(revoked_at=at))


async def revoke_refresh_tokens_of_code(session: AsyncSession, code_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.code_id == code_id, OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=at).returning(OAuthRefreshToken.id))
    return len(result.all())


async def revoke_refresh_tokens_of_session(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(OAuthRefreshToken)
                          .where(OAuthRefreshToken.session_id == session_id,
                                 OAuthRefreshToken.revoked_at.is_(None))
                          .values(revoked_at=at))

