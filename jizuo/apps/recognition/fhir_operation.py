"""`POST /fhir/ServiceRequest/$recognition-check`: the check for HIS that speak FHIR.

Input: one ServiceRequest, a Bundle of them, or Parameters with `serviceRequest` parts. Each ServiceRequest's
`code.coding` is an ordered item; `subject` the Patient (a reference to our Patient id, or a logical
`identifier` — 身份证 or the ordering institution's MRN); `requester` an Organization reference, else the
caller's institution orders. Output: Parameters with the check id, the popup link, and one `item` part per
ordered code (its item, whether recognisable, and each match's report, date, institution and level).
"""

from __future__ import annotations

from typing import Any

from jizuo.fhir.errors import FhirError
from jizuo.platform.identity.access import AccessScope


def _requests(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise FhirError("请求体须为 ServiceRequest、Bundle 或 Parameters", code="bad_body")
    kind = body.get("resourceType")
    if kind == "ServiceRequest":
        return [body]
    if kind == "Bundle":
        return [e["resource"] for e in body.get("entry") or []
                if isinstance(e, dict) and (e.get("resource") or {}).get("resourceType") == "ServiceRequest"]
    if kind == "Parameters":
        return [p["resource"] for p in body.get("parameter") or []
                if isinstance(p, dict) and (p.get("resource") or {}).get("resourceType") == "ServiceRequest"]
    raise FhirError("请求体须为 ServiceRequest、Bundle 或 Parameters", code="bad_body")


def check_from_fhir(body: Any, scope: AccessScope) -> dict[str, Any]:
    requests = _requests(body)
    if not requests:
        raise FhirError("未提供 ServiceRequest", code="no_service_request")
    first = requests[0]
    subject = first.get("subject") or {}
    patient: dict[str, Any]
    if str(subject.get("reference", "")).startswith("Patient/"):
        patient = {"patient_id": subject["reference"].removeprefix("Patient/")}
    elif isinstance(subject.get("identifier"), dict) and subject["identifier"].get("value"):
        patient = {"identifier": {"system": subject["identifier"].get("system"),
                                  "value": subject["identifier"]["value"]}}
    else:
        raise FhirError("ServiceRequest.subject 须引用 Patient 或给出身份证/病案号标识", code="no_subject")
    requester = str((first.get("requester") or {}).get("reference", ""))
    ordering = requester if requester.startswith("Organization/") else str(scope.organization_id or "")
    items = [{"system": c.get("system"), "code": c["code"]} for r in requests
             for c in ((r.get("code") or {}).get("coding") or [])[:1] if isinstance(c, dict) and c.get("code")]
    if not items:
        raise FhirError("ServiceRequest.code 未给出项目代码", code="no_items")
    encounter = (first.get("encounter") or {}).get("reference")
    return {"patient": patient, "ordering_organization": ordering, "items": items, "encounter": encounter,
            "practitioner": None, "department": None}


def parameters_of(result: dict[str, Any]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"name": "check", "valueString": str(result["check_id"])}]
    if result.get("popup_url"):
        parts.append({"name": "popup", "valueUrl": result["popup_url"]})
    for item in result["items"]:
        item_parts: list[dict[str, Any]] = [
            {"name": "code", "valueCoding": {k: v for k, v in (("system", item["system"]), ("code", item["code"]))
                                             if v}},
            {"name": "recognisable", "valueBoolean": item["recognisable"]}]
        if item["item"]:
            item_parts.append({"name": "item", "valueString": item["item"]})
        for match in item["matches"]:
            match_parts = [{"name": "report", "valueReference": {"reference": match["report"]}},
                           {"name": "effective", "valueDateTime": match["effective"].isoformat()},
                           {"name": "organization", "valueReference": {"reference": match["organization"],
                                                                       "display": match["organization_name"]}}]
            if match["level"]:
                match_parts.append({"name": "level", "valueString": match["level"]})
            if match["value"] is not None:
                match_parts.append({"name": "value", "valueString": f"{match['value']} {match['unit'] or ''}".strip()})
            item_parts.append({"name": "match", "part": match_parts})
        parts.append({"name": "item", "part": item_parts})
    return {"resourceType": "Parameters", "parameter": parts}
