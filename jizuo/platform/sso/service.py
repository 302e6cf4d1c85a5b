"""The OpenID Connect provider's flows: authorize, sign in, token, userinfo, logout. Never commits.

How authlib (synchronous) meets our async database — "load, decide, write":
  1. load: before calling authlib, each flow reads asynchronously everything authlib's callbacks may ask
     for — the client, the presented code or refresh token (locked `FOR UPDATE`, so a code cannot be
     redeemed twice concurrently), the user and SSO session behind it, whether a nonce was seen — into
     the plain objects of an `Exchange` (see protocol.py);
  2. decide: authlib runs on those objects; its callbacks only read them and record decisions (a new
     code, issued tokens, a consumed code, a rotated refresh token). The token endpoint runs authlib in a
     worker thread, as it may verify an Argon2 client secret and signs RS256 tokens (CPU work);
  3. write: the flow persists the decisions asynchronously and records the audit events.
The alternative (authlib in a thread with its own sync psycopg connection) would put the token request's
writes in a second transaction, outside the request's unit of work and its audit trail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import anyio
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oidc.core.errors import ConsentRequiredError
from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.callers import callers_changed
from jizuo.core.clock import utcnow
from jizuo.core.config import Settings
from jizuo.core.errors import JizuoError
from jizuo.core.security import SigningKeys, digest_token
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.identity import repository as identity_repository
from jizuo.platform.identity import service as identity_service
from jizuo.platform.identity.tokens import API_AUDIENCE, session_id_from_access_token
from jizuo.platform.sso import repository
from jizuo.platform.sso.adapter import ProtocolResponse
from jizuo.platform.sso.models import OAuthAuthorizationCode, OAuthClient, OAuthRefreshToken
from jizuo.platform.sso.protocol import (
    AUTH_METHODS,
    CODE_LIFETIME,
    GRANT_TYPES,
    Client,
    EndUser,
    Exchange,
    NewCode,
    Provider,
    StoredCode,
    StoredRefreshToken,
    user_claims,
)
from jizuo.platform.sso.schemas import SCOPES
from jizuo.platform.sso.sessions import SSO_SESSION_CLIENT, end_user_of_session

CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "name",
          "preferred_username", "role", "role_name", "organization_code", "organization_name"]


def discovery(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/oidc/token",
        "userinfo_endpoint": f"{issuer}/oidc/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "end_session_endpoint": f"{issuer}/oidc/logout",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["zh-CN"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def client_of(row: OAuthClient) -> Client:
    return Client(client_id=row.client_id, name=row.name, secret_hash=row.client_secret_hash,
                  redirect_uris=tuple(row.redirect_uris), post_logout_redirect_uris=tuple(
                      row.post_logout_redirect_uris or ()), scopes=tuple(row.scopes), trusted=row.trusted)


async def load_client(db: AsyncSession, client_id: str | None) -> Client | None:
    row = await repository.get_client(db, client_id[:64]) if client_id else None
    return client_of(row) if row else None


def _actor(user: EndUser | None) -> Actor | None:
    return Actor(user.user_id, user.username, user.role, user.organization_code) if user else None


# --- Authorization endpoint ------------------------------------------------------------------------

@dataclass
class AuthorizeStep:
    """What the authorization endpoint shows or does next."""

    kind: Literal["respond", "error", "sign_in", "consent"]
    response: ProtocolResponse | None = None
    client: Client | None = None
    message: str = ""
    scopes: list[str] = field(default_factory=list)


def _needs_sign_in(user: EndUser | None, data: dict[str, str], now: Any) -> bool:
    if user is None or "login" in (data.get("prompt") or "").split():
        return True
    max_age = data.get("max_age", "")
    return max_age.isdigit() and (now - user.auth_time).total_seconds() > int(max_age)


async def authorize(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings,
                    oreq: OAuth2Request, user: EndUser | None, *,
                    decision: Literal["allow", "deny"] | None = None, just_signed_in: bool = False
                    ) -> AuthorizeStep:
    """Validate an authorization request; then ask to sign in, ask for consent, or answer with a code.

    An unknown client or an unregistered redirect_uri gets an error page: redirecting there would make
    us an open redirector. Every other error goes back to the application as `?error=…&state=…`."""
    payload = oreq.payload
    client = await load_client(db, payload.client_id)
    if client is None:
        return AuthorizeStep("error", message="应用未登记或 client_id 无效，无法登录。请联系该应用的管理员。")
    if not payload.redirect_uri:
        return AuthorizeStep("error", client=client, message="请求缺少回调地址 redirect_uri。")
    if not client.check_redirect_uri(payload.redirect_uri):
        return AuthorizeStep("error", client=client,
                             message="回调地址 redirect_uri 未在该应用登记，为保护您的账号，已停止跳转。")
    nonce = payload.data.get("nonce")
    exchange = Exchange(now=utcnow(), client=client,
                        nonce_seen=bool(nonce) and await repository.nonce_seen(db, client.client_id, nonce))
    provider = Provider(exchange, keys, settings)
    try:
        grant = provider.get_consent_grant(oreq, end_user=user)
    except OAuth2Error as error:
        return _refuse(provider, oreq, error, client, trail, user)

    if user is None or (decision is None and not just_signed_in
                        and _needs_sign_in(user, payload.data, exchange.now)):
        return AuthorizeStep("sign_in", client=client)
    if not client.trusted and decision is None:
        if "none" in (payload.data.get("prompt") or "").split():
            consent = ConsentRequiredError(redirect_uri=payload.redirect_uri, state=payload.state)
            return _refuse(provider, oreq, consent, client, trail, user)
        return AuthorizeStep("consent", client=client, scopes=scope_to_list(oreq.scope) or [])

    response = provider.create_authorization_response(
        oreq, grant_user=user if decision != "deny" else None, grant=grant)
    if exchange.new_code is not None:
        _save_code(db, exchange.new_code, exchange.now)
        trail.record("sso_code_issue", "OAuthClient", client.client_id,
                     detail={"scope": exchange.new_code.scope}, actor=_actor(user))
    else:
        trail.record("sso_authorize", "OAuthClient", client.client_id, "denied",
                     {"error": "access_denied"}, actor=_actor(user))
    return AuthorizeStep("respond", response=response, client=client)


def _refuse(provider: Provider, oreq: OAuth2Request, error: OAuth2Error, client: Client, trail: AuditTrail,
            user: EndUser | None) -> AuthorizeStep:
    trail.record("sso_authorize", "OAuthClient", client.client_id, "failure",
                 {"error": error.error, "description": error.description}, actor=_actor(user))
    if error.redirect_uri:
        error.state = oreq.payload.state
        return AuthorizeStep("respond", response=provider.handle_error_response(oreq, error), client=client)
    return AuthorizeStep("error", client=client, message=f"登录请求无效（{error.error}：{error.description}）")


def _save_code(db: AsyncSession, new: NewCode, now: Any) -> None:
    repository.add_code(db, OAuthAuthorizationCode(
        id=uuid.uuid4(), code_digest=digest_token(new.code), client_id=new.client_id, user_id=new.user.user_id,
        session_id=new.user.session_id, redirect_uri=new.redirect_uri, scope=new.scope, nonce=new.nonce,
        code_challenge=new.code_challenge, code_challenge_method=new.code_challenge_method,
        auth_time=new.user.auth_time, expires_at=now + CODE_LIFETIME))


async def sign_in(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings, *,
                  username: str, password: str, user_agent: str | None
                  ) -> tuple[uuid.UUID | None, JizuoError | None]:
    """Check the password with the identity service (Argon2, lockout, audit); the session it opens
    becomes the browser's SSO session. The caller commits either way: failure counts must stick."""
    outcome = await identity_service.sign_in(db, trail, keys, settings, username=username[:64],
                                             password=password[:128], user_agent=user_agent,
                                             client_id=SSO_SESSION_CLIENT)
    if outcome.error is not None or outcome.tokens is None:
        return None, outcome.error
    return session_id_from_access_token(keys, outcome.tokens.access_token), None


# --- Token endpoint --------------------------------------------------------------------------------

async def exchange_token(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings,
                         oreq: OAuth2Request) -> ProtocolResponse:
    now = utcnow()
    form: dict[str, str] = oreq.form
    basic_client_id, _ = extract_basic_authorization(oreq.headers)
    client_id = basic_client_id or form.get("client_id")
    exchange = Exchange(now=now, client=await load_client(db, client_id))
    grant_type = form.get("grant_type")
    reused: StoredCode | None = None
    if grant_type == "authorization_code" and form.get("code"):
        code_row = await repository.get_code_for_update(db, digest_token(form["code"]))
        if code_row is not None:
            exchange.code = _stored_code(code_row)
            exchange.user = await end_user_of_session(db, code_row.session_id, now)
            reused = exchange.code if code_row.used_at is not None else None
    elif grant_type == "refresh_token" and form.get("refresh_token"):
        token_row = await repository.get_refresh_token_for_update(db, digest_token(form["refresh_token"]))
        if token_row is not None:
            exchange.refresh = _stored_refresh(token_row)
            exchange.user = await end_user_of_session(db, token_row.session_id, now)

    provider = Provider(exchange, keys, settings)
    response: ProtocolResponse = await anyio.to_thread.run_sync(provider.create_token_response, oreq)

    if response.status == 200 and exchange.token is not None and exchange.user is not None:
        await _save_tokens(db, exchange, settings)
        trail.record("sso_token_issue", "OAuthClient", client_id, actor=_actor(exchange.user),
                     detail={"grant_type": grant_type, "scope": exchange.token.get("scope")})
        return response
    detail: dict[str, Any] = {"grant_type": grant_type,
                              "error": response.body.get("error") if isinstance(response.body, dict) else None}
    if reused is not None and reused.client_id == client_id:
        # RFC 6749 §4.1.2: a code used twice may be stolen — revoke what was issued from it.
        detail["code_reused"] = True
        detail["revoked_refresh_tokens"] = await repository.revoke_refresh_tokens_of_code(db, reused.id, now)
    trail.record("sso_token_issue", "OAuthClient", client_id, "failure", detail, actor=_actor(exchange.user))
    return response


def _stored_code(row: OAuthAuthorizationCode) -> StoredCode:
    return StoredCode(id=row.id, code_digest=row.code_digest, client_id=row.client_id, user_id=row.user_id,
                      session_id=row.session_id, redirect_uri=row.redirect_uri, scope=row.scope, nonce=row.nonce,
                      code_challenge=row.code_challenge, code_challenge_method=row.code_challenge_method,
                      auth_time=row.auth_time, expires_at=row.expires_at, used_at=row.used_at)


def _stored_refresh(row: OAuthRefreshToken) -> StoredRefreshToken:
    return StoredRefreshToken(id=row.id, token_digest=row.token_digest, client_id=row.client_id,
                              user_id=row.user_id, session_id=row.session_id, code_id=row.code_id,
                              scope=row.scope, expires_at=row.expires_at, revoked_at=row.revoked_at)


async def _save_tokens(db: AsyncSession, exchange: Exchange, settings: Settings) -> None:
    assert exchange.token is not None and exchange.user is not None and exchange.client is not None
    code_id = None
    if exchange.code is not None and exchange.code_consumed:
        await repository.mark_code_used(db, exchange.code.id, exchange.now)
        code_id = exchange.code.id
    if exchange.refresh is not None and exchange.refresh_rotated:
        await repository.revoke_refresh_token(db, exchange.refresh.id, exchange.now)
        code_id = exchange.refresh.code_id
    refresh = exchange.token.get("refresh_token")
    if refresh:
        repository.add_refresh_token(db, OAuthRefreshToken(
            id=uuid.uuid4(), token_digest=digest_token(refresh), client_id=exchange.client.client_id,
            user_id=exchange.user.user_id, session_id=exchange.user.session_id, code_id=code_id,
            scope=exchange.token.get("scope") or "",
            expires_at=exchange.now + timedelta(days=settings.refresh_token_days)))


# --- Userinfo ----------------------------------------------------------------------------------------

@dataclass
class BearerError(Exception):
    """RFC 6750 §3.1 error of a protected resource (answered with WWW-Authenticate: Bearer …)."""

    status: int
    error: str
    description: str


async def userinfo(db: AsyncSession, keys: SigningKeys, token: str | None) -> dict[str, Any]:
    if not token:
        raise BearerError(401, "invalid_token", "Missing bearer access token.")
    try:
        claims = keys.decode(token)
    except Exception as exc:
        raise BearerError(401, "invalid_token", "The access token is invalid or expired.") from exc
    if claims.get("aud") != API_AUDIENCE or "sid" not in claims:
        raise BearerError(401, "invalid_token", "The access token is not for this server.")
    scope = str(claims.get("scope") or "")
    if "openid" not in (scope_to_list(scope) or []):
        raise BearerError(403, "insufficient_scope", "The access token was not granted the openid scope.")
    user = await end_user_of_session(db, uuid.UUID(str(claims["sid"])), utcnow())
    if user is None or str(user.user_id) != claims.get("sub"):
        raise BearerError(401, "invalid_token", "The session of this access token has ended.")
    return user_claims(user, scope)


# --- End session (logout) ----------------------------------------------------------------------------

@dataclass
class LogoutStep:
    kind: Literal["confirm", "done", "respond", "error"]
    response: ProtocolResponse | None = None
    client: Client | None = None
    message: str = ""


def _hint_audience(keys: SigningKeys, hint: str | None) -> str | None:
    """The client an id_token_hint was issued to (signature checked, expiry ignored — RP logout §2)."""
    if not hint:
        return None
    try:
        aud = jwt.decode(hint, keys.private, algorithms=["RS256"]).claims.get("aud")
    except Exception:
        return None
    return aud if isinstance(aud, str) else None


async def end_session(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings,
                      oreq: OAuth2Request, user: EndUser | None, *, confirmed: bool) -> LogoutStep:
    """RP-initiated logout: revoke the SSO session (and with it every application's tokens of it), then
    go back to a registered post_logout_redirect_uri. Without a valid id_token_hint of the signed-in
    user, the user confirms first (a bare link must not sign people out)."""
    now = utcnow()
    data = oreq.payload.data
    client_id = data.get("client_id") or _hint_audience(keys, data.get("id_token_hint"))
    exchange = Exchange(now=now, client=await load_client(db, client_id))
    provider = Provider(exchange, keys, settings)
    try:
        request = provider.validate_endpoint_request("end_session", oreq)
    except OAuth2Error as error:
        return LogoutStep("error", client=exchange.client, message=f"退出登录请求无效（{error.description}）")
    hint = request.id_token_claims
    if user is not None and not confirmed and (hint is None or hint.get("sub") != str(user.user_id)):
        return LogoutStep("confirm", client=exchange.client)

    response = provider.create_endpoint_response("end_session", request)
    sessions = {user.session_id} if user else set()
    if hint and hint.get("sid"):
        sessions.add(uuid.UUID(str(hint["sid"])))
    for session_id in sessions:
        await identity_repository.revoke_session(db, session_id, now)
        await repository.revoke_refresh_tokens_of_session(db, session_id, now)
    if sessions:
        await callers_changed(db)
    actor = _actor(user) or (Actor(uuid.UUID(str(hint["sub"]))) if hint and hint.get("sub") else None)
    trail.record("sso_logout", "OAuthClient" if exchange.client else None,
                 exchange.client.client_id if exchange.client else None,
                 detail={"sessions_ended": len(sessions)}, actor=actor)
    return LogoutStep("respond" if response is not None else "done", response=response, client=exchange.client)
