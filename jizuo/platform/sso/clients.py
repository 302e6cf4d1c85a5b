"""The registry of applications allowed to sign users in through Jizuo. Managed by district admins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import hash_password, new_opaque_token
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.sso import repository
from jizuo.platform.sso.models import OAuthClient
from jizuo.platform.sso.schemas import SCOPES, ClientCreate


@dataclass(frozen=True)
class RegisteredClient:
    client: OAuthClient
    client_secret: str | None  # shown once; only its Argon2 hash is stored


async def register_client(db: AsyncSession, *, client_id: str, name: str, redirect_uris: Sequence[str],
                          post_logout_redirect_uris: Sequence[str] = (), scopes: Sequence[str] = SCOPES,
                          trusted: bool = False, confidential: bool = False,
                          created_by: uuid.UUID | None = None) -> RegisteredClient:
    """Register a relying party. Public clients (the default) get no secret and must use PKCE (S256);
    confidential ones get a generated client_secret, returned here once. Raises Conflict when the
    client_id is taken and ValidationFailed on a malformed URI or scope. Does not commit."""
    try:
        data = ClientCreate(client_id=client_id, name=name, redirect_uris=list(redirect_uris),
                            post_logout_redirect_uris=list(post_logout_redirect_uris), scopes=list(scopes),
                            trusted=trusted, confidential=confidential)
    except ValidationError as exc:
        errors = [FieldError(".".join(str(p) for p in e["loc"]), str(e["msg"]).removeprefix("Value error, "))
                  for e in exc.errors()]
        raise ValidationFailed("应用登记信息有误：" + "；".join(e.message for e in errors[:3]),
                               code="invalid_client_metadata", errors=errors) from exc
    if await repository.get_client(db, data.client_id):
        raise Conflict(f"应用标识“{data.client_id}”已被登记", code="client_id_taken")
    secret = new_opaque_token() if data.confidential else None
    client = OAuthClient(
        id=uuid.uuid4(), client_id=data.client_id, client_secret_hash=hash_password(secret) if secret else None,
        name=data.name, redirect_uris=data.redirect_uris, post_logout_redirect_uris=data.post_logout_redirect_uris,
        scopes=data.scopes, trusted=data.trusted, created_by=created_by)
    db.add(client)
    return RegisteredClient(client, secret)


def _require_district_admin(scope: AccessScope, permission: Permission) -> None:
    scope.require(permission)
    if scope.role is not Role.DISTRICT_ADMIN:
        raise PermissionDenied("仅区级管理员可以管理单点登录接入应用", code="district_admin_only")


async def create_client(db: AsyncSession, trail: AuditTrail, scope: AccessScope, data: ClientCreate
                        ) -> RegisteredClient:
    _require_district_admin(scope, Permission.USER_WRITE)
    registered = await register_client(db, **data.model_dump(), created_by=scope.user_id)
    trail.record("create", "OAuthClient", data.client_id, detail={
        "name": data.name, "trusted": data.trusted, "confidential": data.confidential,
        "redirect_uris": data.redirect_uris})
    return registered


async def list_clients(db: AsyncSession, trail: AuditTrail, scope: AccessScope) -> list[OAuthClient]:
    _require_district_admin(scope, Permission.USER_READ)
    clients = await repository.list_clients(db)
    trail.record("search", "OAuthClient", None, detail={"returned": len(clients)})
    return clients


async def delete_client(db: AsyncSession, trail: AuditTrail, scope: AccessScope, client_id: str) -> None:
    """Remove an application; its codes and refresh tokens go with it (access tokens lapse in minutes)."""
    _require_district_admin(scope, Permission.USER_WRITE)
    if not await repository.delete_client(db, client_id):
        raise NotFound(f"应用“{client_id}”不存在", code="client_not_found")
    trail.record("delete", "OAuthClient", client_id)
