"""Structural validation with `fhir.resources` (R4B models, pydantic 2), plus the rules a Chinese district
adds: a 身份证 identifier must be a valid GB 11643 number, and required code bindings of the common elements.

R4B (4.3) models are used for R4 (4.0.1) content: the resource types this platform stores are the same in
both, and fhir.resources ships no separate R4 package for pydantic 2.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from jizuo.core.idcard import validate_id_number
from jizuo.fhir.errors import FhirError, issue

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# 居民身份证号码 (公民身份号码) identifier system: the national OID for it, documented in docs/fhir.md.
ID_CARD_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ID_CARD_SYSTEMS = frozenset({ID_CARD_SYSTEM, "https://jizuo.dev/fhir/NamingSystem/resident-id-card"})

# Required bindings fhir.resources does not check (it types codes as strings).
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Practitioner", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    ("DiagnosticReport", "status"): frozenset(
        {
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    ("Encounter", "status"): frozenset(
        {
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
}


@lru_cache(maxsize=256)
def model_class(resource_type: str) -> type[FHIRAbstractModel] | None:
    try:
        return get_fhir_model_class(resource_type)
    except ValueError:
        return None


def is_resource_type(name: str) -> bool:
    return name[:1].isupper() and model_class(name) is not None and name not in {"Element", "BackboneElement"}


def _path(resource_type: str, loc: tuple[Any, ...]) -> str:
    parts = [resource_type]
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def _pydantic_issues(resource_type: str, exc: ValidationError) -> list[dict[str, Any]]:
    issues = []
    for error in exc.errors():
        path = _path(resource_type, tuple(error.get("loc", ())))
        kind = str(error.get("type", ""))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        chinese = {"extra_forbidden": "不是该资源类型定义的元素", "model_field_validation.missing": "缺少必填元素"}.get(
            kind, "取值不符合 FHIR R4 定义"
        )
        issues.append(
            issue(
                "error",
                "structure" if kind == "extra_forbidden" else "value",
                f"{path}：{chinese}（{message}）",
                [path],
            )
        )
    return issues


def _chinese_rules(resource: dict[str, Any]) -> list[dict[str, Any]]:
    resource_type = resource["resourceType"]
    issues = []
    for index, identifier in enumerate(resource.get("identifier") or []):
        if isinstance(identifier, dict) and identifier.get("system") in ID_CARD_SYSTEMS:
            try:
                validate_id_number(str(identifier.get("value", "")))
            except ValueError as exc:
                path = f"{resource_type}.identifier[{index}].value"
                issues.append(issue("error", "value", f"{path}：身份证号无效（{exc}）", [path]))
    for (rtype, element), allowed in REQUIRED_CODES.items():
        if rtype == resource_type and element in resource and resource[element] not in allowed:
            path = f"{resource_type}.{element}"
            issues.append(
                issue(
                    "error",
                    "code-invalid",
                    f"{path}：取值“{resource[element]}”不在必选值集中（{', '.join(sorted(allowed))}）",
                    [path],
                )
            )
    return issues


def validate_resource(resource: Any, expected_type: str | None = None) -> dict[str, Any]:
    """Return the resource unchanged when valid; otherwise raise FhirError with one issue per problem."""
    if not isinstance(resource, dict):
        raise FhirError("请求体必须是一个 FHIR 资源（JSON 对象）", issue="structure", code="not_a_resource")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not is_resource_type(resource_type):
        raise FhirError(
            f"未知的资源类型：{resource_type!r}",
            issue="not-supported",
            code="unknown_resource_type",
            expression=["resourceType"],
        )
    if expected_type and resource_type != expected_type:
        raise FhirError(
            f"资源类型 {resource_type} 与地址中的 {expected_type} 不一致",
            issue="invalid",
            code="resource_type_mismatch",
            expression=["resourceType"],
        )
    if "id" in resource and not (isinstance(resource["id"], str) and ID_PATTERN.match(resource["id"])):
        raise FhirError(
            "资源 id 只能包含字母、数字、“-”和“.”，长度 1–64", code="invalid_id", expression=[f"{resource_type}.id"]
        )
    model = model_class(resource_type)
    assert model is not None
    issues: list[dict[str, Any]] = []
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        issues.extend(_pydantic_issues(resource_type, exc))
    issues.extend(_chinese_rules(resource))
    if issues:
        raise FhirError(
            f"{resource_type} 校验未通过：{issues[0]['diagnostics']}",
            status=422,
            issue="invalid",
            code="validation_failed",
            issues=issues,
        )
    return resource
