"""Response shapes of the registry API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class Ref(BaseModel):
    id: uuid.UUID
    name: str


class OrganizationOut(BaseModel):
    id: uuid.UUID
    code: str
    uscc: str | None
    name: str
    short_name: str | None
    level: str
    level_display: str
    type: str
    type_display: str
    parent_id: uuid.UUID | None
    parent_name: str | None
    address: str | None
    phone: str | None
    active: bool


class DepartmentOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class OrganizationDetail(OrganizationOut):
    departments: list[DepartmentOut]
    children: list[OrganizationOut]
    practitioner_count: int


class TreeNode(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    type_display: str
    children: list[TreeNode]


class LevelGroup(BaseModel):
    level: str
    level_display: str
    organizations: list[TreeNode]


class PractitionerOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    gender: str
    title: str | None
    role: str
    role_display: str
    organization: Ref
    department: Ref | None
    team: Ref | None


class TeamMemberOut(BaseModel):
    practitioner_id: uuid.UUID
    name: str
    team_role: str
    team_role_display: str
    organization_name: str


class TeamOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    organization: Ref
    leader: Ref | None
    members: list[TeamMemberOut]
    signed_count: int


class LevelCount(BaseModel):
    level: str
    level_display: str
    count: int


class Overview(BaseModel):
    organizations: int
    practitioners: int
    teams: int
    residents: int
    signed_residents: int
    users: int
    by_level: list[LevelCount]
