"""The audit trail as FHIR AuditEvent resources (read-only): `GET /fhir/AuditEvent[?date=&agent=&entity=…]`
and `GET /fhir/AuditEvent/{id}`. Rows are mapped on the way out; nothing is stored twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from jizuo.fhir import service
from jizuo.fhir.api import FhirResponse, base_url
from jizuo.fhir.errors import FhirError
from jizuo.fhir.search.values import parse_date_range, take_prefix
from jizuo.platform.audit import repository
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.audit.repository import AuditFilter
from jizuo.platform.fhir_access import PlatformFhirRequest, fhir_request
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])

_ACTION_CODES = {"create": "C", "read": "R", "vread": "R", "search": "E", "history": "R", "everything": "R",
                 "update": "U", "delete": "D", "login": "E", "logout": "E"}
_OUTCOMES = {"success": "0", "failure": "8", "denied": "4"}
DICOM = "http://dicom.nema.org/resources/ontology/DCM"


def as_fhir(row: AuditEvent) -> dict[str, Any]:
    is_login = row.action in ("login", "logout", "token_refresh")
    event: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": str(row.id),
        "type": ({"system": DICOM, "code": "110114", "display": "User Authentication"} if is_login else
                 {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                  "display": "RESTful Operation"}),
        "subtype": [{"system": "https://jizuo.dev/fhir/CodeSystem/audit-action", "code": row.action}],
        "action": _ACTION_CODES.get(row.action, "E"), "recorded": row.at.isoformat(),
        "outcome": _OUTCOMES.get(row.outcome, "4"),
        "agent": [{"requestor": True, "who": {"identifier": {"value": row.actor_username or "anonymous"}},
                   "role": [{"text": row.actor_role or "anonymous"}],
                   **({"network": {"address": row.ip, "type": "2"}} if row.ip else {}),
                   **({"purposeOfUse": [{"text": row.purpose}]} if row.purpose else {})}],
        "source": {"observer": {"display": f"Jizuo {row.organization_code or ''}".strip()}},
    }
    if row.resource_type:
        reference = f"{row.resource_type}/{row.resource_id}" if row.resource_id else row.resource_type
        event["entity"] = [{"what": {"reference": reference}}]
    if row.detail:
        event["outcomeDesc"] = str(row.detail)[:500]
    return event


def _window(date: list[str]) -> tuple[datetime | None, datetime | None]:
    since = until = None
    for value in date:
        prefix, raw = take_prefix(value)
        low, high = parse_date_range(raw)
        if prefix in ("ge", "gt", "sa", "eq"):
            since = low if prefix != "gt" and prefix != "sa" else high
        if prefix in ("le", "lt", "eb", "eq"):
            until = high if prefix not in ("lt", "eb") else low
    return since, until


@router.get("/AuditEvent", summary="AuditEvent search (the audit trail as FHIR)")
async def search_audit_events(request: Request, scope: ScopeDep, unit: UnitDep,
                              date: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads it)
                              agent: str | None = None, entity: str | None = None, action: str | None = None,
                              outcome: str | None = None, _count: int = 50) -> FhirResponse:
    scope.require(Permission.AUDIT_READ)
    since, until = _window(date)
    entity_type, _, entity_id = (entity or "").partition("/")
    organization = scope.organization_code if scope.role is Role.INSTITUTION_ADMIN else None
    reverse_outcomes = {v: k for k, v in _OUTCOMES.items()}
    await unit.settle_audit_queue()
    rows, total = await repository.list_events(unit.db, AuditFilter(
        since=since, until=until, actor=agent, resource_type=entity_type or None, resource_id=entity_id or None,
        outcome=reverse_outcomes.get(outcome or "", outcome), organization_code=organization,
        action=action), 0, min(max(_count, 1), 500))
    unit.trail.record("search", "AuditEvent", None, detail={"returned": len(rows)})
    base = base_url(request)
    return FhirResponse({"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": total,
                         "entry": [{"fullUrl": f"{base}/AuditEvent/{r.id}", "resource": as_fhir(r),
                                    "search": {"mode": "match"}} for r in rows]})


@router.get("/AuditEvent/{event_id}", summary="AuditEvent read")
async def read_audit_event(event_id: str, fhir: Annotated[PlatformFhirRequest, Depends(fhir_request)]) -> Response:
    """The platform's own audit rows first; an AuditEvent an institution sent in is read from the store."""
    scope, unit = fhir.scope, fhir.unit
    try:
        key: uuid.UUID | None = uuid.UUID(event_id)
    except ValueError:
        key = None
    await unit.settle_audit_queue()
    row = await repository.get_event(unit.db, key) if key else None
    if row is None:
        stored = await service.read(fhir.ctx, "AuditEvent", event_id)
        return FhirResponse(service.to_client(fhir.ctx, stored), headers={"ETag": service.version_tag(stored)})
    scope.require(Permission.AUDIT_READ)
    if scope.role is Role.INSTITUTION_ADMIN and row.organization_code != scope.organization_code:
        raise FhirError(f"资源 AuditEvent/{event_id} 不存在", status=404, issue="not-found")
    unit.trail.record("read", "AuditEvent", event_id)
    return FhirResponse(as_fhir(row))
