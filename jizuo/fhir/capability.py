"""The CapabilityStatement: exactly what this server does — no more (special search parameters, and the
composites of types other than the clinical ones, are not listed because they are not implemented)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jizuo.fhir.search import composite
from jizuo.fhir.searchparams import get_registry

SUPPORTED_PARAM_TYPES = {"token", "string", "date", "reference", "quantity", "number", "uri"}
INTERACTIONS = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]


@lru_cache(maxsize=4)
def _resources() -> list[dict[str, Any]]:
    registry = get_registry()
    out = []
    for res_type in registry.resource_types():
        own = registry.params_for(res_type)
        params = [
            {"name": code, "type": p.type, "definition": p.url}
            for code, p in sorted(own.items())
            if (p.type in SUPPORTED_PARAM_TYPES and p.expression is not None)
            or (p.type == "composite" and composite.is_supported(res_type, p, own))
        ]
        params.insert(0, {"name": "_lastUpdated", "type": "date"})
        params.insert(0, {"name": "_id", "type": "token"})
        entry: dict[str, Any] = {
            "type": res_type,
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "conditionalRead": "not-supported",
            "referencePolicy": ["literal", "logical"],
            "interaction": [{"code": c} for c in INTERACTIONS],
            "searchParam": params,
            "searchInclude": ["*"],
            "searchRevInclude": ["*"],
        }
        if res_type == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]
        out.append(entry)
    return out


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "software": {"name": "Jizuo 基座", "version": "0.1.0"},
        "implementation": {"description": "区域全民健康信息平台 FHIR R4 数据中心", "url": base},
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer token from /api/v1/auth/token or the OpenID Connect provider (/oidc).",
                },
                "resource": _resources(),
                "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
                "searchParam": [
                    {"name": "_count", "type": "number"},
                    {"name": "_sort", "type": "string"},
                    {"name": "_include", "type": "string"},
                    {"name": "_revinclude", "type": "string"},
                    {"name": "_summary", "type": "token"},
                    {"name": "_elements", "type": "string"},
                    {"name": "_total", "type": "token"},
                ],
                "operation": [
                    {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
                    {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"},
                    {"name": "import", "definition": "https://jizuo.dev/fhir/OperationDefinition/ndjson-import"},
                ],
            }
        ],
    }
