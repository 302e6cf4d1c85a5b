"""AccessScope: who is asking and for what. Every repository query takes one and filters by it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from jizuo.core.errors import PermissionDenied
from jizuo.platform.identity.roles import ROLES, Permission, Role


class Reach(StrEnum):
    """How far a caller's view of personal data extends."""

    DISTRICT = "district"
    ORGANIZATION = "organization"
    TEAM = "team"
    SELF = "self"
    NONE = "none"


@dataclass(frozen=True)
class AccessScope:
    user_id: uuid.UUID
    username: str
    role: Role
    organization_id: uuid.UUID | None = None
    organization_code: str | None = None
    practitioner_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    session_id: uuid.UUID | None = None
    purpose: str = "treatment"
    ip: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLES[self.role].permissions

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(f"当前角色（{ROLES[self.role].name}）无权执行此操作", code="missing_permission")

    @property
    def personal_data_reach(self) -> Reach:
        """The regulator sees statistics only; a family doctor their team's signed residents."""
        match self.role:
            case Role.DISTRICT_ADMIN:
                return Reach.DISTRICT
            case Role.INSTITUTION_ADMIN | Role.DOCTOR | Role.NURSE | Role.PHARMACIST:
                return Reach.ORGANIZATION
            case Role.FAMILY_DOCTOR:
                return Reach.TEAM
            case Role.RESIDENT:
                return Reach.SELF
            case _:
                return Reach.NONE
