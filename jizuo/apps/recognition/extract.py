"""From a stored FHIR result to the rows of the recognition projection (pure functions, no database).

A result is an Observation, a DiagnosticReport or an ImagingStudy whose code (ImagingStudy: procedureCode)
maps to a catalogue item. Its patient is `subject`, its institution the first `performer` that is an
Organization (ImagingStudy: the performers of its series), its time the clinically relevant one (effective,
else started / issued).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from jizuo.apps.recognition.catalogue import CodeMap


def _reference_id(reference: Any, res_type: str) -> str | None:
    if not isinstance(reference, dict):
        return None
    value = str(reference.get("reference") or "")
    prefix = res_type + "/"
    if value.startswith(prefix):
        return value[len(prefix):].split("/_history")[0] or None
    if "/" + prefix in value:  # absolute URL
        return value.rsplit("/" + prefix, 1)[1].split("/")[0] or None
    return None


def _when(resource: dict[str, Any]) -> datetime | None:
    period = resource.get("effectivePeriod") or {}
    for value in (resource.get("effectiveDateTime"), period.get("start"), resource.get("effectiveInstant"),
                  resource.get("started"), resource.get("issued")):
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else None
    return None


def _performers(resource: dict[str, Any]) -> list[Any]:
    if resource.get("resourceType") == "ImagingStudy":
        return [p.get("actor") for s in resource.get("series") or [] for p in s.get("performer") or []
                if isinstance(p, dict)]
    return list(resource.get("performer") or [])


def _codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    if resource.get("resourceType") == "ImagingStudy":
        return [c for concept in resource.get("procedureCode") or [] for c in concept.get("coding") or []]
    return list((resource.get("code") or {}).get("coding") or [])


def _number(value: Any) -> str | None:
    return None if value is None else f"{value}"


def value_of(resource: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(value, unit, reference range) as text, for the popup."""
    quantity = resource.get("valueQuantity")
    value: str | None = None
    unit: str | None = None
    if isinstance(quantity, dict):
        value, unit = _number(quantity.get("value")), quantity.get("unit") or quantity.get("code")
    elif isinstance(resource.get("valueString"), str):
        value = resource["valueString"]
    elif isinstance(resource.get("valueCodeableConcept"), dict):
        concept = resource["valueCodeableConcept"]
        value = concept.get("text") or next((c.get("display") for c in concept.get("coding") or []), None)
    ranges = resource.get("referenceRange") or []
    reference_range = None
    if ranges and isinstance(ranges[0], dict):
        first = ranges[0]
        low, high = (first.get("low") or {}).get("value"), (first.get("high") or {}).get("value")
        reference_range = first.get("text") or (f"{_number(low) or ''}-{_number(high) or ''}"
                                                if low is not None or high is not None else None)
    return (value[:64] if value else None), (unit[:32] if unit else None), reference_range


def projection_rows(resource: dict[str, Any], codes: CodeMap, ranks: dict[str, int]) -> list[dict[str, Any]]:
    """Rows for `recognition_result`; `ranks` maps Organization ids to their level rank (LEVEL_RANK)."""
    res_type = resource.get("resourceType")
    if res_type not in ("Observation", "DiagnosticReport", "ImagingStudy") or resource.get("status") in (
            "entered-in-error", "cancelled", "registered", "preliminary"):
        return []
    items = codes.items_of_coding(_codings(resource))
    patient_id = _reference_id(resource.get("subject"), "Patient")
    when = _when(resource)
    if not items or not patient_id or when is None:
        return []
    organization = next((o for o in (_reference_id(p, "Organization") for p in _performers(resource)) if o), None)
    value, unit, reference_range = value_of(resource) if res_type == "Observation" else (None, None, None)
    conclusion = resource.get("conclusion") if res_type == "DiagnosticReport" else resource.get("description")
    return [{
        "patient_id": patient_id, "item_code": item, "effective_at": when,
        "organization_id": uuid.UUID(organization) if organization and organization in ranks else None,
        "level_rank": ranks.get(organization or "", 0), "resource_type": res_type, "resource_id": resource["id"],
        "report_id": None, "value": value, "unit": unit, "reference_range": reference_range,
        "conclusion": conclusion,
    } for item in sorted(items)]
