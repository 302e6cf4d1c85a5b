"""Rules every registry edit shares: who may edit which institution's rows, and optimistic concurrency.

A district administrator (`org:write`) edits the whole registry. An institution administrator
(`registry:write_own`) edits the departments, practitioners and teams of their own institution and the
address, phone and short name of the institution itself. Everyone else is refused with a 403.

Every edit of an existing row names the version the client read (`version` in the body, or an `If-Match`
header such as `W/"3"`); when the row has moved on since, the edit is refused with 412 instead of silently
overwriting someone else's change.
"""

from __future__ import annotations

import uuid
from typing import Any

from jizuo.core.errors import FieldError, JizuoError, PermissionDenied, PreconditionFailed, ValidationFailed
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission

# What an institution administrator may change of their own institution (nothing that places or grades it).
OWN_ORGANIZATION_FIELDS = frozenset({"address", "phone", "short_name"})


def may_edit_whole_registry(scope: AccessScope) -> bool:
    return scope.can(Permission.ORG_WRITE)


def require_district_editor(scope: AccessScope, what: str) -> None:
    if not may_edit_whole_registry(scope):
        raise PermissionDenied(f"只有区级管理员可以{what}", code="registry_district_only")


def require_institution_editor(scope: AccessScope, organization_id: uuid.UUID) -> None:
    """Departments, practitioners and teams: the district, or the administrator of that institution."""
    if may_edit_whole_registry(scope):
        return
    if scope.can(Permission.REGISTRY_WRITE_OWN):
        if scope.organization_id == organization_id:
            return
        raise PermissionDenied("只能维护本机构的科室、人员和团队", code="registry_outside_institution")
    raise PermissionDenied("当前角色无权维护机构、人员与团队信息", code="missing_permission")


def require_own_organization_fields(scope: AccessScope, organization_id: uuid.UUID, fields: set[str]) -> None:
    if may_edit_whole_registry(scope):
        return
    require_institution_editor(scope, organization_id)
    structural = sorted(fields - OWN_ORGANIZATION_FIELDS)
    if structural:
        raise PermissionDenied(f"机构管理员只能修改本机构的地址、电话和简称，不能修改：{'、'.join(structural)}",
                               code="registry_structural_field")


class VersionRequired(JizuoError):
    def __init__(self) -> None:
        message = "请提供读取时的版本号（请求体 version 字段或 If-Match 请求头），以免覆盖他人的修改"
        super().__init__(detail=message, code="version_required", status=428, title="Precondition Required",
                         errors=[FieldError("version", message)])


def expected_version(if_match: str | None, body_version: int | None) -> int:
    """The version the client based its edit on: from If-Match (`W/"3"`, `"3"` or `3`) or the body."""
    if if_match is not None:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise ValidationFailed(f"If-Match 请求头格式无效：{if_match}", code="invalid_if_match",
                                   errors=[FieldError("If-Match", "应为版本号，如 W/\"3\"")])
        if body_version is not None and body_version != int(tag):
            raise ValidationFailed("If-Match 与请求体中的 version 不一致", code="version_mismatch",
                                   errors=[FieldError("version", "与 If-Match 不一致")])
        return int(tag)
    if body_version is None:
        raise VersionRequired()
    return body_version


def check_version(current: int, expected: int, what: str) -> None:
    if current != expected:
        raise PreconditionFailed(f"{what}已被他人修改（当前版本 {current}，您读取的是版本 {expected}），请刷新后重试",
                                 code="stale_version", headers={"ETag": etag(current)})


def etag(version: int) -> str:
    return f'W/"{version}"'


def refuse_code_change(current: str, sent: str | None, what: str) -> None:
    if sent is not None and sent.strip().upper() != current:
        message = f"{what}编码一经创建不可修改（当前为 {current}）"
        raise ValidationFailed(message, code="code_immutable", errors=[FieldError("code", message)])


def refuse_clearing(changes: dict[str, Any], required: tuple[str, ...]) -> None:
    """`null` clears optional fields only."""
    cleared = [name for name in required if name in changes and changes[name] is None]
    if cleared:
        raise ValidationFailed("必填项不能清空：" + "、".join(cleared), code="required_field",
                               errors=[FieldError(name, "必填项不能清空") for name in cleared])


def invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError(field, message)])
