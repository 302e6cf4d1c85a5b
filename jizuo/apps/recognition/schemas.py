"""Request and response models of the recognition API (the check request/response as issue #7 specifies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Identifier(BaseModel):
    system: str | None = Field(None, max_length=200,
                               description="身份证 urn:oid:2.16.156.10011.1.3；其他视为本机构病案号")
    value: str = Field(min_length=1, max_length=64)


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: Identifier | None = None
    person_id: uuid.UUID | None = None
    patient_id: str | None = Field(None, max_length=64, description="FHIR Patient id")


class CodeIn(BaseModel):
    system: str | None = Field(None, max_length=200)
    code: str = Field(min_length=1, max_length=64)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patient: PatientIn
    ordering_organization: str = Field(min_length=1, max_length=100, description="Organization id（注册库 UUID）")
    practitioner: str | None = Field(None, max_length=64, description="开单医生（Practitioner id 或 HIS 工号）")
    department: str | None = Field(None, max_length=32, description="开单科室代码")
    encounter: str | None = Field(None, max_length=100, description="本次就诊 Encounter 引用")
    items: list[CodeIn] = Field(min_length=1, max_length=50)


class ObservationOut(BaseModel):
    reference: str
    code: str | None = None
    display: str | None = None
    value: str | None = None
    unit: str | None = None
    reference_range: str | None = None


class MatchOut(BaseModel):
    report: str
    observations: list[ObservationOut]
    effective: datetime
    organization: str | None
    organization_name: str | None
    level: str | None
    value: str | None
    unit: str | None
    reference_range: str | None = None
    conclusion: str | None = None


class ItemResult(BaseModel):
    system: str | None
    code: str
    item: str | None
    item_name: str | None = None
    recognisable: bool
    window_days: int | None = None
    prompt_id: uuid.UUID | None = None
    matches: list[MatchOut]
    note: str | None = None


class CheckOut(BaseModel):
    check_id: uuid.UUID
    person_id: uuid.UUID | None
    popup_url: str | None
    items: list[ItemResult]


class PromptOut(BaseModel):
    id: uuid.UUID
    item_code: str
    decision: str | None
    reason: str | None
    note: str | None
    recognised_report: str | None
    decided_at: datetime | None
    decided_by: str | None


class CheckView(CheckOut):
    at: datetime
    organization_id: uuid.UUID
    prompts: list[PromptOut]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["recognised", "retested"]
    reason: str | None = Field(None, max_length=32, description="复查理由代码（国卫医发〔2022〕6号），复查时必填")
    note: str | None = Field(None, max_length=500)
    report: str | None = Field(None, max_length=100, description="采纳的报告引用（互认时）")


class ReasonOut(BaseModel):
    code: str
    name: str
    name_en: str


class ItemCodeOut(BaseModel):
    system: str
    code: str
    display: str | None
    organization_code: str | None


class ItemOut(BaseModel):
    code: str
    name: str
    kind: str
    loinc: str | None
    window_days: int
    min_level: str
    needs_qc: bool
    price: float
    active: bool
    version: int
    codes: list[ItemCodeOut]


class ItemCodeIn(BaseModel):
    system: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=64)
    display: str | None = Field(None, max_length=100)
    organization_code: str | None = Field(None, max_length=32)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_days: int | None = Field(None, ge=1, le=365)
    min_level: str | None = None
    needs_qc: bool | None = None
    price: float | None = Field(None, ge=0, le=100000)
    active: bool | None = None
    codes: list[ItemCodeIn] | None = None


class InstitutionOut(BaseModel):
    organization_id: uuid.UUID
    code: str
    name: str
    level: str
    participating: bool
    qc_certified: bool
    qc_valid_until: date | None = None


class StatsRow(BaseModel):
    key: str | None
    label: str | None
    prompts: int
    recognised: int
    retested: int
    saved: float


class StatsOut(BaseModel):
    group: str
    start: date
    end: date
    totals: StatsRow
    rows: list[StatsRow]
