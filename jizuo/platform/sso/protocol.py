"""The OpenID Connect provider as authlib sees it: grants, PKCE, ID tokens, logout — on plain objects.

Nothing here touches the database. The service loads what a request may need into an `Exchange`
(the client, the code or refresh token presented, the user behind it), hands it to a `Provider` built for
that one request, and afterwards writes what the `Exchange` records authlib decided (a new code, issued
tokens, a consumed code, a rotated refresh token, a logout). That keeps authlib's synchronous callbacks
off the event loop's database connection and lets the token endpoint run in a worker thread.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, TokenMixin, list_to_scope, scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc.jwk import KeySet

from jizuo.core.config import Settings
from jizuo.core.security import SigningKeys, digest_token, new_opaque_token, verify_password
from jizuo.platform.identity.roles import ROLES, Role
from jizuo.platform.identity.tokens import issue_access_token
from jizuo.platform.sso.adapter import StarletteAuthorizationServer
from jizuo.platform.sso.schemas import SCOPES

CODE_LIFETIME = timedelta(minutes=5)
ID_TOKEN_SECONDS = 3600
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
GRANT_TYPES = ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    name: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    trusted: bool

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OpenID Connect requires redirect_uri in every authorization request

    def get_allowed_scope(self, scope: str | None) -> str:
        return list_to_scope([s for s in scope_to_list(scope or "") or [] if s in self.scopes])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, RFC 9700 §4.1.3

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and verify_password(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return True
        return method == "none" if self.public else method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class EndUser:
    """The signed-in person and the SSO session (an `auth_session` row) they signed in with."""

    user_id: uuid.UUID
    username: str
    display_name: str
    role: str
    organization_code: str | None
    organization_name: str | None
    session_id: uuid.UUID
    auth_time: datetime


@dataclass(frozen=True)
class StoredCode(AuthorizationCodeMixin):
    id: uuid.UUID
    code_digest: str
    client_id: str
    user_id: uuid.UUID
    session_id: uuid.UUID
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: datetime
    expires_at: datetime
    used_at: datetime | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())


@dataclass(frozen=True)
class StoredRefreshToken(TokenMixin):
    id: uuid.UUID
    token_digest: str
    client_id: str
    user_id: uuid.UUID
    session_id: uuid.UUID
    code_id: uuid.UUID | None
    scope: str
    expires_at: datetime
    revoked_at: datetime | None

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at.timestamp() - time.time())

    def is_expired(self) -> bool:
        return self.get_expires_in() <= 0

    def is_revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class NewCode:
    code: str
    client_id: str
    user: EndUser
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class Exchange:
    """In: what was loaded for this request. Out: what authlib decided, for the service to write."""

    now: datetime
    client: Client | None = None
    user: EndUser | None = None
    code: StoredCode | None = None
    refresh: StoredRefreshToken | None = None
    nonce_seen: bool = False
    new_code: NewCode | None = None
    token: dict[str, Any] | None = None
    code_consumed: bool = False
    refresh_rotated: bool = False
    logout: EndSessionRequest | None = field(default=None, repr=False)


def user_claims(user: EndUser, scope: str) -> dict[str, Any]:
    """Claims of the ID token and the userinfo endpoint, by granted scope."""
    scopes = set(scope_to_list(scope) or [])
    claims: dict[str, Any] = {"sub": str(user.user_id)}
    if "profile" in scopes:
        claims.update(name=user.display_name, preferred_username=user.username)
    if "roles" in scopes:
        claims.update(role=user.role, role_name=ROLES[Role(user.role)].name)
    if "organization" in scopes:
        claims.update(organization_code=user.organization_code, organization_name=user.organization_name)
    return claims


def access_token_for(keys: SigningKeys, settings: Settings, user: EndUser, client_id: str, scope: str
                     ) -> tuple[str, int]:
    """The platform's own access token (audience `jizuo-api`, `sid` = the SSO session), plus RFC 9068's
    `client_id` and `scope` so userinfo knows what was granted."""
    return issue_access_token(keys, settings, user_id=user.user_id, session_id=user.session_id, role=user.role,
                              username=user.username, extra_claims={"client_id": client_id, "scope": scope})


class S256Challenge(CodeChallenge):
    """PKCE, S256 only; required of public clients already at the authorization endpoint."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if grant.request.client.public and not challenge:
            raise InvalidRequestError("Public clients must use PKCE: 'code_challenge' is required.")
        if challenge and method != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")


class IdTokens(OpenIDCode):
    """ID tokens signed with the platform's RS256 key (the key of /oidc/jwks)."""

    DEFAULT_EXPIRES_IN = ID_TOKEN_SECONDS

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.provider.exchange.nonce_seen

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.provider.keys.private

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.keys.kid, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.settings.issuer, "aud": client.client_id}

    def get_authorization_code_claims(self, authorization_code: StoredCode) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = str(authorization_code.session_id)
        return claims

    def generate_user_info(self, user: EndUser, scope: str) -> dict[str, Any]:
        return user_claims(user, scope)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @property
    def exchange(self) -> Exchange:
        return self.server.exchange

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.exchange.new_code = NewCode(
            code=code, client_id=request.client.client_id, user=request.user,
            redirect_uri=request.payload.redirect_uri, scope=request.scope or "", nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"))

    def query_authorization_code(self, code: str, client: Client) -> StoredCode | None:
        stored = self.exchange.code
        if (stored is None or stored.code_digest != digest_token(code) or stored.client_id != client.client_id
                or stored.used_at is not None or stored.expires_at <= self.exchange.now):
            return None
        return stored

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        self.exchange.code_consumed = True

    def authenticate_user(self, authorization_code: StoredCode) -> EndUser | None:
        user = self.exchange.user
        return user if user is not None and user.user_id == authorization_code.user_id else None


class RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate on every use

    @property
    def exchange(self) -> Exchange:
        return self.server.exchange

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        stored = self.exchange.refresh
        if (stored is None or stored.token_digest != digest_token(refresh_token) or stored.is_revoked()
                or stored.expires_at <= self.exchange.now):
            return None
        return stored

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> EndUser | None:
        user = self.exchange.user
        return user if user is not None and user.user_id == refresh_token.user_id else None

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        self.exchange.refresh_rotated = True


class Logout(EndSessionEndpoint):
    """RP-initiated logout; the id_token_hint is checked against our own public key."""

    def get_server_jwks(self) -> KeySet:
        return KeySet([self.server.keys.private])

    def get_algorithms(self) -> list[str]:
        return ["RS256"]

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        self.server.exchange.logout = end_session_request


class Provider(StarletteAuthorizationServer):
    """An authorization server for one request, over the objects in its `Exchange`."""

    def __init__(self, exchange: Exchange, keys: SigningKeys, settings: Settings) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.exchange = exchange
        self.keys = keys
        self.settings = settings
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdTokens(self)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Logout)

    def query_client(self, client_id: str) -> Client | None:
        client = self.exchange.client
        return client if client is not None and client.client_id == client_id else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self.exchange.token = dict(token)

    def _generate_token(self, grant_type: str, client: Client, user: EndUser, scope: str | None = None,
                        expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        access, lifetime = access_token_for(self.keys, self.settings, user, client.client_id, scope or "")
        token: dict[str, Any] = {"token_type": "Bearer", "access_token": access, "expires_in": lifetime,
                                 "scope": scope or ""}
        if include_refresh_token:
            token["refresh_token"] = new_opaque_token()
        return token
