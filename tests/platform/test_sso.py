"""Single sign-on: an application signs its users in through Jizuo (OpenID Connect, code flow + PKCE).

The relying party is authlib's own OAuth client, talking to the real app over ASGI; the "browser" is a
separate cookie-keeping HTTP client that fills in the sign-in page like a person would.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.api.app import create_app
from jizuo.core.clock import utcnow
from jizuo.core.config import get_settings
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.identity.models import User
from jizuo.platform.registry.models import Organization
from jizuo.platform.sso.clients import register_client
from jizuo.platform.sso.models import OAuthAuthorizationCode
from tests.conftest import DEMO_PASSWORD, TokenFor, bearer

ISSUER = get_settings().issuer.rstrip("/")
CALLBACK = "https://rp.example.org/callback"
AFTER_LOGOUT = "https://rp.example.org/signed-out"
SCOPE = "openid profile organization roles"
RP = "rp-test"


@pytest.fixture
def transport(sessionmaker: async_sessionmaker[AsyncSession]) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(get_settings(), sessionmaker=sessionmaker),
                               client=("198.51.100.9", 40000))


@pytest.fixture
async def browser(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as browser:
        yield browser


@pytest.fixture
async def registered(db: AsyncSession) -> str:
    await register_client(db, client_id=RP, name="家庭医生工作站（测试）", redirect_uris=[CALLBACK],
                          post_logout_redirect_uris=[AFTER_LOGOUT], trusted=True)
    await register_client(db, client_id="outside-app", name="第三方健康应用", redirect_uris=[CALLBACK])
    await db.commit()
    return RP


@pytest.fixture
async def rp(transport: httpx.ASGITransport, registered: str) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(client_id=registered, redirect_uri=CALLBACK, scope=SCOPE,
                                 code_challenge_method="S256", token_endpoint_auth_method="none",
                                 transport=transport) as client:
        yield client


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in found}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_url(client_id: str = RP, **overrides: str) -> tuple[str, str]:
    """A hand-made authorization request (for the cases authlib's client would never send)."""
    verifier = generate_token(48)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "scope": SCOPE,
              "state": "st-1", "nonce": generate_token(16), "code_challenge": create_s256_code_challenge(verifier),
              "code_challenge_method": "S256", **overrides}
    return str(httpx.URL("/oidc/authorize", params={k: v for k, v in params.items() if v})), verifier


async def sign_in(browser: httpx.AsyncClient, url: str, username: str = "doctor",
                  password: str = DEMO_PASSWORD) -> httpx.Response:
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    return await browser.post("/oidc/authorize", data={**hidden_fields(page.text), "username": username,
                                                        "password": password})


async def code_for(browser: httpx.AsyncClient, url: str) -> str:
    response = await sign_in(browser, url)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"]


async def exchange(browser: httpx.AsyncClient, code: str, verifier: str, client_id: str = RP) -> httpx.Response:
    return await browser.post("/oidc/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": CALLBACK, "client_id": client_id,
                                                    "code_verifier": verifier})


# --- The whole journey ------------------------------------------------------------------------------------

async def test_an_application_signs_a_doctor_in_and_out(browser: httpx.AsyncClient, rp: AsyncOAuth2Client,
                                                        client: httpx.AsyncClient, db: AsyncSession) -> None:
    metadata = (await rp.request("GET", f"{ISSUER}/.well-known/openid-configuration", withhold_token=True)).json()
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == ISSUER and metadata["code_challenge_methods_supported"] == ["S256"]

    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier,
                                             nonce=nonce)
    page = await browser.get(url)
    assert page.status_code == 200
    assert "基座 · 统一身份认证" in page.text and "家庭医生工作站（测试）" in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    signed_in = await browser.post("/oidc/authorize", data={**hidden_fields(page.text), "username": "doctor",
                                                             "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    location = signed_in.headers["location"]
    assert location.startswith(CALLBACK + "?") and query_of(location)["state"] == state
    sso_cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith("jizuo_sso="))
    assert "httponly" in sso_cookie.lower() and "samesite=lax" in sso_cookie.lower()

    token = await rp.fetch_token(metadata["token_endpoint"], authorization_response=location,
                                 code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"] and token["id_token"]

    jwks = KeySet.import_key_set((await rp.request("GET", metadata["jwks_uri"], withhold_token=True)).json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    assert id_token.header["kid"] == jwks.keys[0].kid
    claims = id_token.claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": RP},
                          nonce={"essential": True, "value": nonce}, sub={"essential": True},
                          exp={"essential": True}, iat={"essential": True},
                          auth_time={"essential": True}).validate(claims)
    doctor = await db.scalar(select(User).where(User.username == "doctor"))
    assert doctor is not None and doctor.organization_id is not None
    organization = await db.get(Organization, doctor.organization_id)
    assert organization is not None
    assert claims["sub"] == str(doctor.id) and claims["preferred_username"] == "doctor"
    assert claims["name"] == doctor.display_name and claims["role"] == "doctor"
    assert claims["organization_code"] == organization.code
    assert claims["organization_name"] == organization.name

    userinfo = await rp.get(metadata["userinfo_endpoint"])
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"] and userinfo.json()["organization_name"] == organization.name

    # The access token is the platform's own: the application may call the Jizuo API for its user.
    me = await client.get("/api/v1/auth/me", headers=bearer(token["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "doctor"

    # Single sign-on: the next authorization needs no password.
    again_url, _ = rp.create_authorization_url(metadata["authorization_endpoint"],
                                               code_verifier=generate_token(48), nonce=generate_token(20))
    again = await browser.get(again_url)
    assert again.status_code == 302 and "code" in query_of(again.headers["location"])

    # Refresh rotates: the new token works, the old refresh token no longer does.
    old_refresh = token["refresh_token"]
    refreshed = await rp.refresh_token(metadata["token_endpoint"])
    assert refreshed["refresh_token"] != old_refresh
    assert (await client.get("/api/v1/auth/me", headers=bearer(refreshed["access_token"]))).status_code == 200
    replay = await browser.post("/oidc/token", data={"grant_type": "refresh_token", "refresh_token": old_refresh,
                                                      "client_id": RP})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    bye = await browser.get(metadata["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT, "state": "bye-1"})
    assert bye.status_code == 302 and bye.headers["location"] == f"{AFTER_LOGOUT}?state=bye-1"
    assert any(c.startswith('jizuo_sso=""') for c in bye.headers.get_list("set-cookie"))
    # Signing out of Jizuo ends every application's access of that session.
    assert (await client.get("/api/v1/auth/me", headers=bearer(refreshed["access_token"]))).status_code == 401
    assert (await rp.get(metadata["userinfo_endpoint"])).status_code == 401
    dead = await browser.post("/oidc/token", data={"grant_type": "refresh_token", "client_id": RP,
                                                    "refresh_token": refreshed["refresh_token"]})
    assert dead.json()["error"] == "invalid_grant"
    replayed = await browser.get(again_url)  # the same nonce twice is a replay
    assert query_of(replayed.headers["location"])["error"] == "invalid_request"
    fresh_url, _ = rp.create_authorization_url(metadata["authorization_endpoint"],
                                               code_verifier=generate_token(48), nonce=generate_token(20))
    assert (await browser.get(fresh_url)).status_code == 200  # the sign-in page again

    actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.actor_username == "doctor")))
    assert {"login", "sso_code_issue", "sso_token_issue", "sso_logout"} <= actions


async def test_discovery_and_keys_agree_with_the_platform(browser: httpx.AsyncClient) -> None:
    metadata = (await browser.get("/.well-known/openid-configuration")).json()
    assert metadata["authorization_endpoint"] == f"{ISSUER}/oidc/authorize"
    assert metadata["end_session_endpoint"] == f"{ISSUER}/oidc/logout"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "profile", "organization", "roles"} <= set(metadata["scopes_supported"])
    keys = (await browser.get("/oidc/jwks")).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]


# --- Codes and PKCE ------------------------------------------------------------------------------------

async def test_wrong_pkce_verifier_is_refused(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url()
    code = await code_for(browser, url)
    response = await exchange(browser, code, generate_token(48))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_public_client_cannot_skip_the_verifier(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url()
    code = await code_for(browser, url)
    response = await browser.post("/oidc/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": CALLBACK, "client_id": RP})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(browser: httpx.AsyncClient,
                                                                     registered: str) -> None:
    url, verifier = authorize_url()
    code = await code_for(browser, url)
    first = await exchange(browser, code, verifier)
    assert first.status_code == 200
    second = await exchange(browser, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    refresh = await browser.post("/oidc/token", data={"grant_type": "refresh_token", "client_id": RP,
                                                       "refresh_token": first.json()["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


async def test_an_expired_code_is_refused(browser: httpx.AsyncClient, registered: str, db: AsyncSession) -> None:
    url, verifier = authorize_url()
    code = await code_for(browser, url)
    await db.execute(update(OAuthAuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    response = await exchange(browser, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(browser: httpx.AsyncClient, registered: str) -> None:
    url, verifier = authorize_url()
    code = await code_for(browser, url)
    response = await browser.post("/oidc/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.org/other",
        "client_id": RP, "code_verifier": verifier})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_public_client_must_send_an_s256_challenge(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url(code_challenge="", code_challenge_method="")
    response = await browser.get(url)
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_request"
    plain, _ = authorize_url(code_challenge="x" * 43, code_challenge_method="plain")
    assert query_of((await browser.get(plain)).headers["location"])["error"] == "invalid_request"


# --- Requests that must not redirect -------------------------------------------------------------------

async def test_unknown_client_gets_an_error_page(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url(client_id="no-such-app")
    response = await browser.get(url)
    assert response.status_code == 400 and "location" not in response.headers
    assert "应用未登记" in response.text


async def test_unregistered_redirect_uri_gets_an_error_page(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url(redirect_uri="https://evil.example.com/steal")
    response = await browser.get(url)
    assert response.status_code == 400 and "location" not in response.headers
    assert "未在该应用登记" in response.text and "evil.example.com" not in response.headers.get("location", "")


async def test_prompt_none_without_a_session_answers_login_required(browser: httpx.AsyncClient,
                                                                    registered: str) -> None:
    url, _ = authorize_url(prompt="none")
    response = await browser.get(url)
    assert response.status_code == 302
    assert {"error": "login_required", "state": "st-1"}.items() <= query_of(response.headers["location"]).items()


# --- The sign-in page ----------------------------------------------------------------------------------

async def test_wrong_password_shows_the_chinese_error(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url()
    response = await sign_in(browser, url, password="wrong-password")
    assert response.status_code == 401 and "location" not in response.headers
    assert "用户名或密码错误" in response.text and 'value="doctor"' in response.text
    assert "jizuo_sso=" not in response.headers.get("set-cookie", "")


async def test_sign_in_without_the_csrf_token_is_refused(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url()
    page = await browser.get(url)
    fields = {k: v for k, v in hidden_fields(page.text).items() if k != "csrf_token"}
    response = await browser.post("/oidc/authorize", data={**fields, "username": "doctor",
                                                            "password": DEMO_PASSWORD})
    assert response.status_code == 400 and "location" not in response.headers


async def test_an_outside_application_asks_for_consent(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url(client_id="outside-app")
    consent = await sign_in(browser, url)
    assert consent.status_code == 200 and "第三方健康应用" in consent.text and "同意并继续" in consent.text
    fields = hidden_fields(consent.text)
    allowed = await browser.post("/oidc/authorize", data={**fields, "action": "allow"})
    assert allowed.status_code == 302 and "code" in query_of(allowed.headers["location"])
    again, _ = authorize_url(client_id="outside-app")
    page = await browser.get(again)  # signed in already: only the consent question
    denied = await browser.post("/oidc/authorize", data={**hidden_fields(page.text), "action": "deny"})
    assert denied.status_code == 302 and query_of(denied.headers["location"])["error"] == "access_denied"


async def test_logout_without_an_id_token_asks_first(browser: httpx.AsyncClient, registered: str) -> None:
    url, _ = authorize_url()
    await code_for(browser, url)
    page = await browser.get("/oidc/logout")
    assert page.status_code == 200 and "确认退出" in page.text
    done = await browser.post("/oidc/logout", data=hidden_fields(page.text))
    assert done.status_code == 200 and "已安全退出" in done.text
    fresh, _ = authorize_url()
    assert (await browser.get(fresh)).status_code == 200  # the sign-in page: the session is over


# --- The client registry ---------------------------------------------------------------------------------

async def test_only_district_admins_register_applications(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    body = {"client_id": "referral-app", "name": "双向转诊", "redirect_uris": [CALLBACK]}
    doctor = await token_for("doctor")
    refused = await client.post("/api/v1/sso/clients", json=body, headers=bearer(doctor))
    assert refused.status_code == 403
    assert (await client.get("/api/v1/sso/clients", headers=bearer(doctor))).status_code == 403

    admin = await token_for("admin")
    created = await client.post("/api/v1/sso/clients", json={**body, "confidential": True}, headers=bearer(admin))
    assert created.status_code == 201, created.text
    assert created.json()["confidential"] is True and created.json()["client_secret"]
    listed = (await client.get("/api/v1/sso/clients", headers=bearer(admin))).json()
    assert "referral-app" in [c["client_id"] for c in listed] and "client_secret" not in listed[0]
    taken = await client.post("/api/v1/sso/clients", json=body, headers=bearer(admin))
    assert taken.status_code == 409
    bad = await client.post("/api/v1/sso/clients", json={**body, "client_id": "x-app",
                                                          "redirect_uris": ["https://a.example/cb#frag"]},
                            headers=bearer(admin))
    assert bad.status_code == 422
    deleted = await client.delete("/api/v1/sso/clients/referral-app", headers=bearer(admin))
    assert deleted.status_code == 204
    assert (await client.delete("/api/v1/sso/clients/referral-app", headers=bearer(admin))).status_code == 404


async def test_a_confidential_client_authenticates_with_its_secret(
        browser: httpx.AsyncClient, client: httpx.AsyncClient, token_for: TokenFor,
        transport: httpx.ASGITransport) -> None:
    admin = await token_for("admin")
    created = await client.post("/api/v1/sso/clients", headers=bearer(admin), json={
        "client_id": "chronic-app", "name": "慢病管理", "redirect_uris": [CALLBACK], "confidential": True,
        "trusted": True})
    secret = created.json()["client_secret"]
    url, verifier = authorize_url(client_id="chronic-app", code_challenge="", code_challenge_method="")
    code = await code_for(browser, url)
    wrong = await browser.post("/oidc/token", auth=("chronic-app", "not-the-secret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    async with AsyncOAuth2Client(client_id="chronic-app", client_secret=secret, redirect_uri=CALLBACK,
                                 token_endpoint_auth_method="client_secret_basic", transport=transport) as rp:
        token = await rp.fetch_token(f"{ISSUER}/oidc/token", grant_type="authorization_code", code=code)
    assert token["id_token"] and token["access_token"]
