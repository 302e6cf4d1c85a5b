"""What the catalogue API returns. Request bodies are the spec models themselves (`DataSetSpec`, `ElementSpec`,
`ValueDomainSpec` from spec.py): what an admin posts is exactly what the YAML holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from jizuo.platform.standards.spec import CodeSpec, DataSetSpec


class DataSetSummary(BaseModel):
    code: str
    name: str
    standard: str | None
    category: str
    category_display: str
    resource: str
    description: str | None
    version: str
    status: str                     # status of the version shown: published, or draft for a new data set
    field_count: int
    rule_count: int                 # explicit cross-field rules
    check_count: int                # every check the quality engine runs: field-level ones plus the rules
    has_draft: bool
    published_at: datetime | None


class FieldOut(BaseModel):
    name: str
    label: str | None
    element: str
    element_name: str
    type: str
    type_display: str
    format: str
    required: bool
    value_domain: str | None
    value_domain_name: str | None
    unit: str | None
    min: float | None
    max: float | None
    fhir: str | None
    fhir_system: str | None
    reference: str | None


class RuleOut(BaseModel):
    id: str
    type: str
    type_display: str
    dimension: str
    dimension_display: str
    severity: str
    message: str
    params: dict[str, Any]
    fields: list[str]


class VersionOut(BaseModel):
    code: str
    version: str
    revision: int
    status: str
    name: str
    field_count: int
    rule_count: int
    created_by: str | None
    created_at: datetime
    published_at: datetime | None
    published_by: str | None
    retired_at: datetime | None


class DataSetDetail(DataSetSummary):
    revision: int
    key: list[str]
    event_field: str | None
    institution_field: str | None
    fhir_fixed: dict[str, Any]
    fields: list[FieldOut]
    rules: list[RuleOut]
    spec: DataSetSpec               # the version as stored: the starting point of a new version
    created_by: str | None
    created_at: datetime


class ElementOut(BaseModel):
    id: str
    name: str
    definition: str
    type: str
    type_display: str
    format: str
    value_domain: str | None
    value_domain_name: str | None
    unit: str | None
    min: float | None
    max: float | None
    origin: str
    created_by: str | None
    used_in: list[str]              # codes of the published data sets with a field of this element


class DomainSummary(BaseModel):
    code: str
    name: str
    standard: str | None
    system: str
    value_count: int
    origin: str
    created_by: str | None


class ElementRef(BaseModel):
    id: str
    name: str


class DomainDetail(DomainSummary):
    values: list[CodeSpec]
    fhir_map: dict[str, str]
    elements: list[ElementRef]
