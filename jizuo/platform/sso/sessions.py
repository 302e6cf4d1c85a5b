"""The browser side of single sign-on: the SSO session cookie and the sign-in form's CSRF token.

The SSO cookie is a short JWT signed with the platform's RS256 key, audience `jizuo-sso` (so it can never
pass as an API access token), naming an `auth_session` row. The row is checked on every use: signing out
anywhere (here, or `/api/v1/auth/logout` with an access token of that session) ends the SSO session.

CSRF: double-submit with a keyed MAC — a random cookie value (SameSite=Strict) and, in the form, its
HMAC-SHA256 under a server secret, so a value planted in the cookie from a sibling host does not help.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.config import Settings, load_or_create_secret
from jizuo.core.security import SigningKeys
from jizuo.platform.identity import repository as identity_repository
from jizuo.platform.sso.protocol import EndUser

SSO_COOKIE = "jizuo_sso"
CSRF_COOKIE = "jizuo_sso_csrf"
COOKIE_PATH = "/oidc"
COOKIE_AUDIENCE = "jizuo-sso"
# `auth_session.client_id` of sessions opened by the SSO sign-in page; only those may back the cookie.
SSO_SESSION_CLIENT = "sso"


def session_cookie(keys: SigningKeys, settings: Settings, user: EndUser) -> str:
    now = int(time.time())
    return keys.sign({"iss": settings.issuer, "aud": COOKIE_AUDIENCE, "sub": str(user.user_id),
                      "sid": str(user.session_id), "iat": now,
                      "exp": now + settings.refresh_token_days * 86400})


def session_id_from_cookie(keys: SigningKeys, value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        claims = keys.decode(value)
        if claims.get("aud") != COOKIE_AUDIENCE:
            return None
        return uuid.UUID(str(claims["sid"]))
    except Exception:  # any bad, expired or foreign cookie simply means "not signed in"
        return None


async def end_user_of_session(db: AsyncSession, session_id: uuid.UUID, now: datetime,
                              *, browser_only: bool = False) -> EndUser | None:
    """The person behind a live session, or None when it was revoked, expired or the account disabled."""
    found = await identity_repository.get_session_with_user(db, session_id)
    if found is None:
        return None
    auth_session, user, organization = found
    if auth_session.revoked_at is not None or auth_session.expires_at <= now or not user.active:
        return None
    if browser_only and auth_session.client_id != SSO_SESSION_CLIENT:
        return None
    return EndUser(user_id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   organization_code=organization.code if organization else None,
                   organization_name=organization.name if organization else None,
                   session_id=auth_session.id, auth_time=auth_session.created_at or now)


async def user_from_cookie(db: AsyncSession, keys: SigningKeys, value: str | None, now: datetime
                           ) -> EndUser | None:
    session_id = session_id_from_cookie(keys, value)
    if session_id is None:
        return None
    return await end_user_of_session(db, session_id, now, browser_only=True)


@lru_cache
def _csrf_key(keys_dir: Path) -> bytes:
    return bytes.fromhex(load_or_create_secret(keys_dir / "sso-csrf.key"))


def _mac(settings: Settings, value: str) -> str:
    return hmac.new(_csrf_key(settings.keys_dir), value.encode(), hashlib.sha256).hexdigest()


def new_csrf(settings: Settings) -> tuple[str, str]:
    """(cookie value, form token)."""
    cookie = secrets.token_urlsafe(32)
    return cookie, _mac(settings, cookie)


def form_token_for(settings: Settings, cookie: str) -> str:
    return _mac(settings, cookie)


def csrf_ok(settings: Settings, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(_mac(settings, cookie), token)
