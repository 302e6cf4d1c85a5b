"""Sign-in (OAuth2 password flow), refresh, sign-out, "who am I", roles and account administration."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response, status

from jizuo.core.config import get_settings
from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.core.security import get_signing_keys
from jizuo.platform.identity import repository, service
from jizuo.platform.identity.models import User
from jizuo.platform.identity.roles import ROLES, Role
from jizuo.platform.identity.schemas import (
    Me,
    OrganizationRef,
    RefreshRequest,
    RoleOut,
    TokenResponse,
    UserCreate,
    UserOut,
    UserUpdate,
)
from jizuo.platform.registry import repository as registry_repository
from jizuo.platform.registry.models import Organization
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1", tags=["身份与账号 identity"])


def _token_response(pair: service.TokenPair) -> TokenResponse:
    return TokenResponse(access_token=pair.access_token, expires_in=pair.expires_in,
                         refresh_token=pair.refresh_token)


@router.post("/auth/token", response_model=TokenResponse, summary="登录（OAuth2 密码模式）")
async def issue_token(request: Request, unit: UnitDep, username: Annotated[str, Form(max_length=64)],
                      password: Annotated[str, Form(max_length=128)]) -> TokenResponse:
    outcome = await service.sign_in(unit.db, unit.trail, get_signing_keys(), get_settings(), username=username,
                                    password=password, user_agent=request.headers.get("user-agent"))
    await unit.commit()  # failure counts and lockouts must stick even though we answer with an error
    if outcome.error:
        raise outcome.error
    assert outcome.tokens
    return _token_response(outcome.tokens)


@router.post("/auth/refresh", response_model=TokenResponse, summary="刷新访问令牌")
async def refresh_token(body: RefreshRequest, unit: UnitDep) -> TokenResponse:
    pair = await service.refresh_session(unit.db, unit.trail, get_signing_keys(), get_settings(),
                                         body.refresh_token)
    await unit.commit()
    return _token_response(pair)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录（吊销本次会话）")
async def logout(scope: ScopeDep, unit: UnitDep) -> Response:
    await service.sign_out(unit.db, unit.trail, scope)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _org_ref(org: Organization | None) -> OrganizationRef | None:
    return OrganizationRef(id=org.id, code=org.code, name=org.name) if org else None


@router.get("/auth/me", response_model=Me, summary="当前用户")
async def me(scope: ScopeDep, unit: UnitDep) -> Me:
    user = await repository.get_user(unit.db, scope.user_id)
    assert user is not None
    org = await registry_repository.get_organization(unit.db, user.organization_id) if user.organization_id else None
    return Me(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
              role_display=ROLES[scope.role].name, organization=_org_ref(org),
              permissions=sorted(p.value for p in scope.permissions))


@router.get("/roles", response_model=list[RoleOut], summary="角色列表")
async def roles(scope: ScopeDep) -> list[RoleOut]:
    return [RoleOut(code=r.code.value, name=r.name, name_en=r.name_en, description=r.description)
            for r in ROLES.values()]


def _user_out(user: User, org: Organization | None) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   role_display=ROLES[Role(user.role)].name, organization=_org_ref(org), active=user.active,
                   locked_until=user.locked_until, last_login_at=user.last_login_at, created_at=user.created_at)


@router.get("/users", response_model=Page[UserOut], summary="用户列表")
async def list_users(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                     role: Role | None = None, q: Annotated[str | None, Query(max_length=64)] = None,
                     active: bool | None = None) -> Page[UserOut]:
    organization_id = service.organization_filter_for(scope)
    rows, total = await repository.list_users(unit.db, role=role.value if role else None, q=q, active=active,
                                              organization_id=organization_id, offset=paging.offset,
                                              limit=paging.page_size)
    unit.trail.record("search", "User", None, detail={"returned": len(rows)})
    return Page(items=[_user_out(u, o) for u, o in rows], total=total, page=paging.page,
                page_size=paging.page_size)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="新建用户")
async def create_user(body: UserCreate, scope: ScopeDep, unit: UnitDep) -> UserOut:
    user = await service.create_user(unit.db, unit.trail, scope, body)
    await unit.commit()
    await unit.db.refresh(user)
    org = await registry_repository.get_organization(unit.db, user.organization_id) if user.organization_id else None
    return _user_out(user, org)


@router.patch("/users/{user_id}", response_model=UserOut, summary="修改用户（停用/启用、角色、姓名）")
async def update_user(user_id: uuid.UUID, body: UserUpdate, scope: ScopeDep, unit: UnitDep) -> UserOut:
    user = await service.update_user(unit.db, unit.trail, scope, user_id, body)
    await unit.commit()
    org = await registry_repository.get_organization(unit.db, user.organization_id) if user.organization_id else None
    return _user_out(user, org)


@router.post("/users/{user_id}/unlock", status_code=status.HTTP_204_NO_CONTENT, summary="解锁账户")
async def unlock_user(user_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> Response:
    await service.unlock_user(unit.db, unit.trail, scope, user_id)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


