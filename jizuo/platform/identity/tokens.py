"""Access tokens (short-lived RS256 JWTs naming a session) and rotating opaque refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jizuo.core.clock import utcnow
from jizuo.core.config import Settings
from jizuo.core.errors import AuthenticationFailed
from jizuo.core.security import SigningKeys, new_opaque_token

API_AUDIENCE = "jizuo-api"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def issue_access_token(keys: SigningKeys, settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID,
                       role: str, username: str, extra_claims: Mapping[str, Any] | None = None) -> tuple[str, int]:
    now = utcnow()
    lifetime = settings.access_token_minutes * 60
    claims = {
        "iss": settings.issuer, "aud": API_AUDIENCE, "sub": str(user_id), "sid": str(session_id),
        "role": role, "preferred_username": username, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()), "jti": uuid.uuid4().hex,
        **(extra_claims or {}),
    }
    return keys.sign(claims), lifetime


def new_refresh_token() -> str:
    return new_opaque_token()


def session_id_from_access_token(keys: SigningKeys, token: str) -> uuid.UUID:
    return verified_session(keys, token)[0]


def verified_session(keys: SigningKeys, token: str) -> tuple[uuid.UUID, float | None]:
    """The session id of a valid access token and the token's expiry (epoch seconds)."""
    try:
        claims = keys.decode(token)
    except Exception as exc:  # joserfc raises several kinds; all mean the same to the caller
        expired = "expire" in type(exc).__name__.lower() or "expire" in str(exc).lower()
        raise AuthenticationFailed(
            "登录已过期，请重新登录" if expired else "访问令牌无效，请重新登录",
            code="token_expired" if expired else "invalid_token",
            headers={"WWW-Authenticate": "Bearer"}) from exc
    if claims.get("aud") != API_AUDIENCE or "sid" not in claims:
        raise AuthenticationFailed("访问令牌无效，请重新登录", code="invalid_token",
                                   headers={"WWW-Authenticate": "Bearer"})
    exp = claims.get("exp")
    return uuid.UUID(str(claims["sid"])), float(exp) if isinstance(exp, int | float) else None
