"""The data-standard catalogue as plain objects: what the YAML files in `catalogue/` say, and what the
quality engine and the tabular ingest read.

Vocabulary follows WS 363 (卫生信息数据元目录) and WS 445 / WS/T 500 (data sets):
- a *value domain* (值域) is a code list such as GB/T 2261.1 sex codes;
- a *data element* (数据元) has an identifier like DE02.01.039.00, a name, a WS 363 data type (S1/S2/S3 text,
  L boolean, N number, D date, DT date-time, T time, BY binary), a representation format (A..50, N1, D8, DT15,
  N..3, N5,1 …) and optionally a value domain;
- a *data set* (数据集) lists its fields — each field uses one data element, says whether it is required,
  and where it goes in FHIR — plus the cross-field quality rules of the set.

Rules are data, never code: `RuleSpec.type` names one of a fixed set of checks the quality engine knows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DataType = Literal["S1", "S2", "S3", "L", "N", "D", "DT", "T", "BY"]
Dimension = Literal["completeness", "conformity", "logic", "timeliness", "uniqueness", "referential"]
Severity = Literal["error", "warning"]

# WS 363 representation formats: A/N/AN + optional ".." + length(s), D8, DT15, T6, N5,1 (total digits, decimals).
FORMAT_PATTERN = re.compile(r"^(?P<kind>AN|A|N|D|DT|T|BY)(?P<range>\.\.)?(?P<min>\d+)?(?:\.\.(?P<max>\d+))?"
                            r"(?:,(?P<scale>\d+))?$")

CATALOGUE_DIR = Path(__file__).parent / "catalogue"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeSpec(Strict):
    code: str
    display: str


class ValueDomainSpec(Strict):
    """A code list. `fhir_map` maps a code to a FHIR primitive code when the target is a `code` element
    (e.g. GB/T 2261.1 "1" → "male" for Patient.gender)."""

    code: str                       # our key, e.g. "GB/T 2261.1" or "CV02.01.101"
    name: str
    standard: str | None = None     # where it comes from, e.g. "GB/T 2261.1-2003"
    system: str                     # FHIR Coding.system URI
    values: list[CodeSpec] = Field(min_length=1)
    fhir_map: dict[str, str] = Field(default_factory=dict)

    def display_of(self, code: str) -> str | None:
        return next((v.display for v in self.values if v.code == code), None)


class ElementSpec(Strict):
    """A WS 363-style data element."""

    id: str = Field(pattern=r"^DE\d{2}\.\d{2}\.\d{3}\.\d{2}$")
    name: str
    definition: str
    type: DataType
    format: str
    value_domain: str | None = None
    unit: str | None = None
    min: float | None = None        # plausible range for N elements (conformity, not clinical alarm)
    max: float | None = None

    @model_validator(mode="after")
    def _format_is_ws363(self) -> ElementSpec:
        if not FORMAT_PATTERN.match(self.format):
            raise ValueError(f"数据元 {self.id} 的表示格式 {self.format!r} 不符合 WS 363")
        return self


class FieldSpec(Strict):
    """One column of a data set.

    `fhir` is where the value goes: "<ResourceType>.<path>", list positions written explicitly
    ("Patient.name[0].text", "Observation.code.coding[0]"). The mapper converts by the element's type:
    D → FHIR date, DT → dateTime (Asia/Shanghai), N → number, L → boolean; a coded element mapped to a Coding
    ("...coding[0]") gets system/code/display from its value domain, mapped to a primitive it goes through
    the domain's `fhir_map`. `fhir_system` makes the value an Identifier ({system, value}) at that path.
    `reference` ("Organization" / "Practitioner") resolves a registry code to a FHIR reference.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")   # column key; CSV headers may also use the element id or name
    element: str                                     # ElementSpec.id
    required: bool = False
    fhir: str | None = None
    fhir_system: str | None = None
    reference: Literal["Organization", "Practitioner"] | None = None
    label: str | None = None        # column title when the data set names the element differently


class RuleSpec(Strict):
    """A cross-field or set-level quality rule. Field-level rules (required, type/format/length, value domain,
    element range) come from the fields and elements themselves and need no entry here.

    type and its parameters:
    - compare:            left, op (one of < <= > >= == !=), right (field names; numbers or dates/times)
    - range:              field, min and/or max (numbers) — a data-set specific range
    - required_if:        field, when {field, in: [codes]} — field required when the condition holds
    - forbidden_if:       field, when {field, in: [codes]} — field must be empty (or in `allowed`) when it holds
    - age_between:        birth_field, date_field, min/max years — e.g. pregnancy age 10–60
    - unit_for_code:      field (unit), code_field, units {code: [allowed units]}
    - idcard:             field — GB 11643 check digit, birth date and sex agree with birth_field/sex_field if set
    - exists:             field, target ("Organization" | "Practitioner" | "Patient") — referential
    - timeliness:         field (event time), hours — received within N hours of the event
    - unique:             fields — no two accepted records of the set share these values (duplicates)
    """

    id: str
    type: Literal["compare", "range", "required_if", "forbidden_if", "age_between", "unit_for_code", "idcard",
                  "exists", "timeliness", "unique"]
    dimension: Dimension
    severity: Severity = "error"
    message: str                    # Chinese text shown to the institution user
    params: dict[str, Any] = Field(default_factory=dict)


class DataSetSpec(Strict):
    code: str                       # e.g. "HDSD00.03" style or our own "EMR-LAB"
    name: str                       # e.g. 检验记录
    standard: str | None = None     # e.g. "WS 445.4-2014 电子病历基本数据集 第4部分：检查检验记录"
    category: Literal["clinical", "public_health", "management"] = "clinical"
    version: str = "1.0"
    description: str | None = None
    resource: str                   # main FHIR resource type of one record
    key: list[str] = Field(min_length=1)   # fields that identify a record at its institution (duplicates, upsert)
    event_field: str | None = None  # field with the event time (timeliness, scorecards by day)
    institution_field: str | None = None   # field with the reporting institution's code
    fields: list[FieldSpec] = Field(min_length=1)
    rules: list[RuleSpec] = Field(default_factory=list)
    # Constant FHIR values every record of the set gets, same path syntax as FieldSpec.fhir (added by the
    # catalogue work): what a tabular row never carries but FHIR requires, e.g. {"Observation.status": "final",
    # "Observation.category[0].coding[0]": {"system": …, "code": "laboratory"}}. A field mapped to the same path
    # wins over the constant.
    fhir_fixed: dict[str, Any] = Field(default_factory=dict)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


class CatalogueSpec(Strict):
    value_domains: dict[str, ValueDomainSpec]
    elements: dict[str, ElementSpec]
    data_sets: dict[str, DataSetSpec]

    @model_validator(mode="after")
    def _references_resolve(self) -> CatalogueSpec:
        problems = []
        for element in self.elements.values():
            if element.value_domain and element.value_domain not in self.value_domains:
                problems.append(f"{element.id}: 值域 {element.value_domain} 不存在")
        for data_set in self.data_sets.values():
            names = {f.name for f in data_set.fields}
            for f in data_set.fields:
                if f.element not in self.elements:
                    problems.append(f"{data_set.code}.{f.name}: 数据元 {f.element} 不存在")
            for key in data_set.key:
                if key not in names:
                    problems.append(f"{data_set.code}: 主键字段 {key} 不存在")
            for optional in (data_set.event_field, data_set.institution_field):
                if optional and optional not in names:
                    problems.append(f"{data_set.code}: 字段 {optional} 不存在")
            for rule in data_set.rules:
                problems.extend(f"{data_set.code}/{rule.id}: 字段 {n} 不存在"
                                for n in rule_fields(rule) if n not in names)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def rule_fields(rule: RuleSpec) -> list[str]:
    """Field names a rule refers to (for validation of the catalogue and for quarantine display)."""
    p = rule.params
    names = [p[k] for k in ("left", "right", "field", "birth_field", "date_field", "code_field", "sex_field")
             if isinstance(p.get(k), str)]
    if isinstance(p.get("when"), dict) and "field" in p["when"]:
        names.append(p["when"]["field"])
    names.extend(p.get("fields", []))
    return names


def load_catalogue(directory: Path = CATALOGUE_DIR) -> CatalogueSpec:
    """Read `value_domains*.yaml`, `elements*.yaml` and `datasets/*.yaml` from a directory."""
    domains: dict[str, ValueDomainSpec] = {}
    elements: dict[str, ElementSpec] = {}
    data_sets: dict[str, DataSetSpec] = {}
    for path in sorted(directory.glob("value_domains*.yaml")):
        for raw in _read(path).get("value_domains", []):
            domain = ValueDomainSpec.model_validate(raw)
            domains[domain.code] = domain
    for path in sorted(directory.glob("elements*.yaml")):
        for raw in _read(path).get("elements", []):
            element = ElementSpec.model_validate(raw)
            elements[element.id] = element
    for path in sorted((directory / "datasets").glob("*.yaml")):
        data_set = DataSetSpec.model_validate(_read(path))
        data_sets[data_set.code] = data_set
    return CatalogueSpec(value_domains=domains, elements=elements, data_sets=data_sets)


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    return loaded if isinstance(loaded, dict) else {}
