"""Request and response shapes of the registry API.

Field validators raise ValueErrors with Chinese messages: they reach the client as 422 problem JSON with the
field's path. Rules that need the database (uniqueness, parent cycles, scope) live in the services.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from jizuo.core.idcard import is_valid_uscc, validate_id_number
from jizuo.platform.registry.codes import LEVEL_DISPLAY, PRACTITIONER_ROLE_DISPLAY, TEAM_ROLE_DISPLAY, TYPE_DISPLAY

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9.-]{1,31}$"
CODE_HINT = "2–32 位大写字母、数字、“-”或“.”，以字母或数字开头"
PHONE_PATTERN = r"^[0-9+][0-9 ()-]{4,31}$"
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
GENDERS = ("male", "female", "other", "unknown")


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
    latitude: float | None = None
    longitude: float | None = None
    active: bool
    version: int = 1
    updated_at: datetime | None = None


class DepartmentOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    version: int = 1


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
    active: bool = True
    version: int = 1


class PractitionerDetail(PractitionerOut):
    """One practitioner for an edit form: 身份证 and phone masked, never in full."""

    birth_date: date | None
    id_number_masked: str | None
    phone_masked: str | None


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
    active: bool = True
    version: int = 1


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


# --- editing --------------------------------------------------------------------------------------------

def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def strip_text(cls, value: object, info: ValidationInfo) -> object:
        """Surrounding spaces never count; an empty optional field means "none" (clears it on update)."""
        value = _strip(value)
        if value == "" and info.field_name and not cls.model_fields[info.field_name].is_required():
            return None
        return value


def _upper(value: object) -> object:
    value = _strip(value)
    return value.upper() if isinstance(value, str) else value


def _check_level(value: str | None) -> str | None:
    if value is not None and value not in LEVEL_DISPLAY:
        raise ValueError(f"机构级别无效：{value}（可选：{'、'.join(LEVEL_DISPLAY)}）")
    return value


def _check_type(value: str | None) -> str | None:
    if value is not None and value not in TYPE_DISPLAY:
        raise ValueError(f"机构类型无效：{value}（可选：{'、'.join(TYPE_DISPLAY)}）")
    return value


def _check_uscc(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.upper()
    if not is_valid_uscc(value):
        raise ValueError("统一社会信用代码无效：应为18位且校验位正确（GB 32100）")
    return value


class _OrganizationFields(_Edit):
    uscc: str | None = Field(default=None, description="统一社会信用代码（18位，校验位按 GB 32100）")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    short_name: str | None = Field(default=None, max_length=50)
    level: str | None = Field(default=None, description="机构级别：" + "、".join(LEVEL_DISPLAY))
    type: str | None = Field(default=None, description="机构类型：" + "、".join(TYPE_DISPLAY))
    parent_id: uuid.UUID | None = None
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN, max_length=32)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("level")
    @classmethod
    def known_level(cls, value: str | None) -> str | None:
        return _check_level(value)

    @field_validator("type")
    @classmethod
    def known_type(cls, value: str | None) -> str | None:
        return _check_type(value)

    @field_validator("uscc")
    @classmethod
    def valid_uscc(cls, value: str | None) -> str | None:
        return _check_uscc(value)


class OrganizationCreate(_OrganizationFields):
    code: str = Field(pattern=CODE_PATTERN, description="机构编码（" + CODE_HINT + "），创建后不可修改")
    name: str = Field(min_length=1, max_length=100)
    level: str
    type: str

    @field_validator("code", mode="before")
    @classmethod
    def upper_code(cls, value: object) -> object:
        return _upper(value)


class OrganizationUpdate(_OrganizationFields):
    """Only the fields sent are changed; `null` clears an optional field. `code` may be sent unchanged only."""

    code: str | None = None
    version: int | None = Field(default=None, ge=1, description="读取时的版本号（或用 If-Match 请求头）")


class DepartmentCreate(_Edit):
    code: str = Field(pattern=CODE_PATTERN, description="科室编码（" + CODE_HINT + "），创建后不可修改")
    name: str = Field(min_length=1, max_length=64)

    @field_validator("code", mode="before")
    @classmethod
    def upper_code(cls, value: object) -> object:
        return _upper(value)


class DepartmentUpdate(_Edit):
    code: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)


def _check_role(value: str | None) -> str | None:
    if value is not None and value not in PRACTITIONER_ROLE_DISPLAY:
        raise ValueError(f"岗位角色无效：{value}（可选：{'、'.join(PRACTITIONER_ROLE_DISPLAY)}）")
    return value


def _check_gender(value: str | None) -> str | None:
    if value is not None and value not in GENDERS:
        raise ValueError(f"性别无效：{value}（可选：{'、'.join(GENDERS)}）")
    return value


def _check_id_number(value: str | None) -> str | None:
    return validate_id_number(value) if value is not None else None  # ValueError names the wrong part


class _PractitionerFields(_Edit):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    gender: str | None = None
    birth_date: date | None = None
    id_number: str | None = Field(default=None, description="身份证号码（加密保存，只以掩码显示）")
    phone: str | None = Field(default=None, pattern=MOBILE_PATTERN, description="手机号（加密保存）")
    organization_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    title: str | None = Field(default=None, max_length=32)
    role: str | None = Field(default=None, description="岗位角色：" + "、".join(PRACTITIONER_ROLE_DISPLAY))

    @field_validator("gender")
    @classmethod
    def known_gender(cls, value: str | None) -> str | None:
        return _check_gender(value)

    @field_validator("role")
    @classmethod
    def known_role(cls, value: str | None) -> str | None:
        return _check_role(value)

    @field_validator("id_number")
    @classmethod
    def valid_id_number(cls, value: str | None) -> str | None:
        return _check_id_number(value)


class PractitionerCreate(_PractitionerFields):
    code: str = Field(pattern=CODE_PATTERN, description="人员工号（" + CODE_HINT + "），创建后不可修改")
    name: str = Field(min_length=1, max_length=50)
    gender: str
    organization_id: uuid.UUID
    role: str

    @field_validator("code", mode="before")
    @classmethod
    def upper_code(cls, value: object) -> object:
        return _upper(value)


class PractitionerUpdate(_PractitionerFields):
    code: str | None = None
    active: bool | None = None
    version: int | None = Field(default=None, ge=1)


class TeamCreate(_Edit):
    code: str = Field(pattern=CODE_PATTERN, description="团队编码（" + CODE_HINT + "），创建后不可修改")
    name: str = Field(min_length=1, max_length=64)
    organization_id: uuid.UUID
    leader_id: uuid.UUID | None = Field(default=None, description="团队长（家庭医生），自动加入团队")

    @field_validator("code", mode="before")
    @classmethod
    def upper_code(cls, value: object) -> object:
        return _upper(value)


class TeamUpdate(_Edit):
    code: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=64)
    leader_id: uuid.UUID | None = Field(default=None, description="须为团队成员")
    active: bool | None = None
    version: int | None = Field(default=None, ge=1)


class TeamMemberAdd(_Edit):
    practitioner_id: uuid.UUID
    team_role: str = Field(description="团队角色：" + "、".join(TEAM_ROLE_DISPLAY))
    version: int | None = Field(default=None, ge=1, description="团队读取时的版本号（或 If-Match）")

    @field_validator("team_role")
    @classmethod
    def known_team_role(cls, value: str) -> str:
        if value not in TEAM_ROLE_DISPLAY:
            raise ValueError(f"团队角色无效：{value}（可选：{'、'.join(TEAM_ROLE_DISPLAY)}）")
        return value


class Deactivate(_Edit):
    version: int | None = Field(default=None, ge=1)


class ChangeOut(BaseModel):
    id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    organization_id: uuid.UUID | None
    action: str
    changed: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor_username: str | None
    request_id: str | None
    at: datetime
