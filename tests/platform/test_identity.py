"""Sign-in, tokens, lockout, sign-out — the flows of a person at the login page and of an API client."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.config import get_settings
from jizuo.core.security import get_signing_keys
from jizuo.platform.identity.models import User
from tests.conftest import DEMO_PASSWORD, TokenFor, bearer


async def test_demo_admin_signs_in_and_sees_who_they_are(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["refresh_token"] and body["expires_in"] > 0
    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["role"] == "district_admin"
    assert me.json()["role_display"] == "区级管理员"
    assert "user:write" in me.json()["permissions"]


async def test_wrong_password_is_refused_in_chinese(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_credentials"
    assert "用户名或密码错误" in response.json()["detail"]


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "用户名或密码错误"


async def test_repeated_failures_lock_the_account(client: httpx.AsyncClient, db: AsyncSession) -> None:
    attempts = get_settings().login_max_failures
    for _ in range(attempts - 1):
        assert (await client.post("/api/v1/auth/token", data={"username": "nurse", "password": "x"})).status_code == 401
    locking = await client.post("/api/v1/auth/token", data={"username": "nurse", "password": "x"})
    assert locking.status_code == 423
    assert "锁定" in locking.json()["detail"]
    # Even the right password is refused while locked.
    right = await client.post("/api/v1/auth/token", data={"username": "nurse", "password": DEMO_PASSWORD})
    assert right.status_code == 423 and right.json()["code"] == "account_locked"
    user = await db.scalar(select(User).where(User.username == "nurse"))
    assert user is not None and user.locked_until is not None


async def test_admin_unlocks_a_locked_account(client: httpx.AsyncClient, db: AsyncSession,
                                              token_for: TokenFor) -> None:
    admin = await token_for("admin")
    for _ in range(get_settings().login_max_failures):
        await client.post("/api/v1/auth/token", data={"username": "pharmacist", "password": "x"})
    user = await db.scalar(select(User).where(User.username == "pharmacist"))
    assert user is not None
    assert (await client.post(f"/api/v1/users/{user.id}/unlock", headers=bearer(admin))).status_code == 204
    again = await client.post("/api/v1/auth/token", data={"username": "pharmacist", "password": DEMO_PASSWORD})
    assert again.status_code == 200


async def test_refresh_rotates_and_old_refresh_token_stops_working(client: httpx.AsyncClient) -> None:
    first = (await client.post("/api/v1/auth/token", data={"username": "doctor", "password": DEMO_PASSWORD})).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_refresh_token"


async def test_logout_revokes_the_access_token_too(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 204
    after = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert after.status_code == 401 and after.json()["code"] == "session_revoked"


async def test_missing_garbled_and_expired_tokens(client: httpx.AsyncClient, db: AsyncSession) -> None:
    missing = await client.get("/api/v1/auth/me")
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing.headers["www-authenticate"] == "Bearer"
    garbled = await client.get("/api/v1/auth/me", headers=bearer("not-a-jwt"))
    assert garbled.status_code == 401 and garbled.json()["code"] == "invalid_token"
    user = await db.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    past = utcnow() - timedelta(hours=2)
    expired = get_signing_keys().sign({"sub": str(user.id), "sid": str(user.id), "aud": "jizuo-api",
                                       "iat": int(past.timestamp()), "exp": int(past.timestamp()) + 60})
    response = await client.get("/api/v1/auth/me", headers=bearer(expired))
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    assert "过期" in response.json()["detail"]


async def test_disabled_account_cannot_sign_in(client: httpx.AsyncClient, db: AsyncSession,
                                               token_for: TokenFor) -> None:
    admin = await token_for("admin")
    user = await db.scalar(select(User).where(User.username == "nurse"))
    assert user is not None
    patched = await client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=bearer(admin))
    assert patched.status_code == 200 and patched.json()["active"] is False
    response = await client.post("/api/v1/auth/token", data={"username": "nurse", "password": DEMO_PASSWORD})
    assert response.status_code == 401 and response.json()["code"] == "account_disabled"


async def test_passwords_are_stored_as_argon2id(db: AsyncSession) -> None:
    hashes = list(await db.scalars(select(User.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
