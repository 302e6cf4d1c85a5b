"""Sign-in, tokens, sign-out and who the caller is. Services record audit events and never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.callers import CALLERS, callers_changed
from jizuo.core.clock import utcnow
from jizuo.core.config import Settings
from jizuo.core.errors import (
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    FieldError,
    JizuoError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from jizuo.core.security import DUMMY_PASSWORD_HASH, SigningKeys, digest_token, hash_password, verify_password
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.identity import repository
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.models import AuthSession, User
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.identity.schemas import UserCreate, UserUpdate
from jizuo.platform.identity.tokens import TokenPair, issue_access_token, new_refresh_token, verified_session
from jizuo.platform.registry import repository as registry_repository

WRONG_CREDENTIALS = "用户名或密码错误"
STAFF_NEEDING_ORGANIZATION = {Role.INSTITUTION_ADMIN, Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE,
                              Role.PHARMACIST}


@dataclass(frozen=True)
class SignInOutcome:
    """Either tokens or the error to raise — raised only after the failure count is committed."""

    tokens: TokenPair | None = None
    error: JizuoError | None = None


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username, user.role, None)


async def sign_in(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings, *,
                  username: str, password: str, user_agent: str | None, client_id: str | None = None
                  ) -> SignInOutcome:
    user = await repository.get_user_for_update(db, username)
    if user is None:
        verify_password(DUMMY_PASSWORD_HASH, password)
        trail.record("login", "User", None, "failure", {"username": username[:64], "reason": "unknown_user"},
                     actor=Actor(username=username[:64]))
        return SignInOutcome(error=AuthenticationFailed(WRONG_CREDENTIALS, code="invalid_credentials"))
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        trail.record("login", "User", user.id, "denied", {"reason": "locked"}, actor=_actor(user))
        return SignInOutcome(error=AccountLocked(f"账户已锁定，请{minutes}分钟后再试", code="account_locked"))
    if not user.active:
        verify_password(DUMMY_PASSWORD_HASH, password)
        trail.record("login", "User", user.id, "denied", {"reason": "inactive"}, actor=_actor(user))
        return SignInOutcome(error=AuthenticationFailed("账户已停用，请联系管理员", code="account_disabled"))
    if not verify_password(user.password_hash, password):
        return _count_failure(user, trail, settings)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    tokens = await _open_session(db, keys, settings, user, user_agent, client_id)
    trail.record("login", "User", user.id, "success", actor=_actor(user))
    return SignInOutcome(tokens=tokens)


def _count_failure(user: User, trail: AuditTrail, settings: Settings) -> SignInOutcome:
    user.failed_logins += 1
    detail = {"reason": "wrong_password", "failures": user.failed_logins}
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lock_minutes)
        user.failed_logins = 0
        trail.record("login", "User", user.id, "failure", {**detail, "locked": True}, actor=_actor(user))
        return SignInOutcome(error=AccountLocked(
            f"密码连续错误{settings.login_max_failures}次，账户已锁定{settings.login_lock_minutes}分钟",
            code="account_locked"))
    trail.record("login", "User", user.id, "failure", detail, actor=_actor(user))
    left = settings.login_max_failures - user.failed_logins
    return SignInOutcome(error=AuthenticationFailed(f"{WRONG_CREDENTIALS}，再错{left}次将锁定账户",
                                                    code="invalid_credentials"))


async def _open_session(db: AsyncSession, keys: SigningKeys, settings: Settings, user: User,
                        user_agent: str | None, client_id: str | None) -> TokenPair:
    refresh = new_refresh_token()
    auth_session = AuthSession(
        id=uuid.uuid4(), user_id=user.id, refresh_digest=digest_token(refresh), client_id=client_id,
        user_agent=(user_agent or "")[:300] or None,
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days))
    db.add(auth_session)
    access, lifetime = issue_access_token(keys, settings, user_id=user.id, session_id=auth_session.id,
                                          role=user.role, username=user.username)
    return TokenPair(access, refresh, lifetime)


async def refresh_session(db: AsyncSession, trail: AuditTrail, keys: SigningKeys, settings: Settings,
                          refresh_token: str) -> TokenPair:
    auth_session = await repository.get_session_by_refresh_digest(db, digest_token(refresh_token))
    now = utcnow()
    if auth_session is None or auth_session.revoked_at or auth_session.expires_at <= now:
        raise AuthenticationFailed("刷新令牌无效或已过期，请重新登录", code="invalid_refresh_token")
    user = await repository.get_user(db, auth_session.user_id)
    if user is None or not user.active:
        raise AuthenticationFailed("账户已停用，请联系管理员", code="account_disabled")
    refresh = new_refresh_token()
    auth_session.refresh_digest = digest_token(refresh)
    auth_session.expires_at = now + timedelta(days=settings.refresh_token_days)
    access, lifetime = issue_access_token(keys, settings, user_id=user.id, session_id=auth_session.id,
                                          role=user.role, username=user.username)
    trail.record("token_refresh", "User", user.id, actor=_actor(user))
    return TokenPair(access, refresh, lifetime)


async def sign_out(db: AsyncSession, trail: AuditTrail, scope: AccessScope) -> None:
    if scope.session_id:
        await repository.revoke_session(db, scope.session_id, utcnow())
        await callers_changed(db)
    trail.record("logout", "User", scope.user_id)


async def scope_from_access_token(db: AsyncSession, keys: SigningKeys, token: str,
                                  ip: str | None = None) -> AccessScope:
    cached = CALLERS.get(token)
    if cached is not None:
        return replace(cached, ip=ip)
    session_id, expires_at = verified_session(keys, token)
    caller = await repository.get_session_caller(db, session_id)
    if caller is None or caller.revoked:
        raise AuthenticationFailed("登录已退出或失效，请重新登录", code="session_revoked",
                                   headers={"WWW-Authenticate": "Bearer"})
    if not caller.active:
        raise AuthenticationFailed("账户已停用，请联系管理员", code="account_disabled")
    scope = AccessScope(
        user_id=caller.user_id, username=caller.username, role=Role(caller.role),
        organization_id=caller.organization_id, organization_code=caller.organization_code,
        practitioner_id=caller.practitioner_id, resident_id=caller.resident_id,
        team_ids=frozenset(caller.team_ids), session_id=session_id, ip=ip)
    CALLERS.put(token, scope, expires_at)
    return scope


# --- Account administration ---------------------------------------------------------------------------

_ORG_ADMIN_GRANTABLE = {Role.INSTITUTION_ADMIN, Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE, Role.PHARMACIST}


def _check_may_manage(scope: AccessScope, organization_id: uuid.UUID | None, role: Role | None) -> None:
    """District admins manage everyone; an institution admin only staff accounts of their institution."""
    scope.require(Permission.USER_WRITE)
    if scope.role is Role.DISTRICT_ADMIN:
        return
    if organization_id != scope.organization_id or (role is not None and role not in _ORG_ADMIN_GRANTABLE):
        raise PermissionDenied("机构管理员只能管理本机构的医务人员账号", code="outside_scope")


def organization_filter_for(scope: AccessScope) -> uuid.UUID | None:
    scope.require(Permission.USER_READ)
    return None if scope.role is Role.DISTRICT_ADMIN else scope.organization_id


async def create_user(db: AsyncSession, trail: AuditTrail, scope: AccessScope, data: UserCreate) -> User:
    _check_may_manage(scope, data.organization_id, data.role)
    if data.role in STAFF_NEEDING_ORGANIZATION and data.organization_id is None:
        raise ValidationFailed("该角色必须指定所属机构", code="organization_required",
                               errors=[FieldError("organization_id", "该角色必须指定所属机构")])
    if data.organization_id and not await registry_repository.organization_exists(db, data.organization_id):
        raise NotFound("所属机构不存在", code="organization_not_found")
    if await repository.get_user_by_username(db, data.username):
        raise Conflict(f"用户名“{data.username}”已存在", code="username_taken")
    user = User(id=uuid.uuid4(), username=data.username, display_name=data.display_name,
                password_hash=hash_password(data.password), role=data.role.value,
                organization_id=data.organization_id, active=True, failed_logins=0)
    db.add(user)
    trail.record("create", "User", user.id, detail={"username": user.username, "role": user.role})
    return user


async def _managed_user(db: AsyncSession, scope: AccessScope, user_id: uuid.UUID) -> User:
    user = await repository.get_user(db, user_id)
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    _check_may_manage(scope, user.organization_id, None)
    return user


async def update_user(db: AsyncSession, trail: AuditTrail, scope: AccessScope, user_id: uuid.UUID,
                      data: UserUpdate) -> User:
    user = await _managed_user(db, scope, user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "role" in changes:
        _check_may_manage(scope, user.organization_id, data.role)
        changes["role"] = data.role.value if data.role else user.role
    if user.id == scope.user_id and (changes.get("active") is False or "role" in changes):
        raise Conflict("不能停用自己或修改自己的角色", code="self_change")
    for key, value in changes.items():
        setattr(user, key, value)
    await callers_changed(db)
    trail.record("update", "User", user.id, detail={"changed": sorted(changes)})
    return user


async def unlock_user(db: AsyncSession, trail: AuditTrail, scope: AccessScope, user_id: uuid.UUID) -> None:
    user = await _managed_user(db, scope, user_id)
    user.locked_until = None
    user.failed_logins = 0
    trail.record("unlock", "User", user.id)


async def create_user_for_operator(db: AsyncSession, *, username: str, password: str, role: Role,
                                   display_name: str | None, organization_code: str | None) -> User:
    """`jizuo create-user`: the operator at the console of the server, trusted like a district admin."""
    organization_id = None
    if organization_code:
        organization = await registry_repository.get_organization_by_code(db, organization_code)
        if organization is None:
            raise NotFound(f"机构编码 {organization_code} 不存在", code="organization_not_found")
        organization_id = organization.id
    data = UserCreate(username=username, password=password, role=role, organization_id=organization_id,
                      display_name=display_name or username)
    system = AccessScope(user_id=uuid.UUID(int=0), username="system", role=Role.DISTRICT_ADMIN)
    trail = AuditTrail()
    trail.identify(system)
    user = await create_user(db, trail, system, data)
    await trail.flush(db)
    return user
