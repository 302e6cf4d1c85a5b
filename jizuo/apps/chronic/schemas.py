"""Chronic-care API models. Kinds are Literals so a wrong value is a 422 naming the field; a reading missing
the values its kind needs is a 422 with a Chinese message."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ReadingKind = Literal["blood_pressure", "glucose_fasting", "glucose_random", "weight", "spo2"]
Disease = Literal["hypertension", "diabetes_t2", "copd"]


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN is no FHIR decimal

    id_number: str = Field(min_length=15, max_length=18, description="居民身份证号")
    kind: ReadingKind
    measured_at: datetime = Field(description="测量时间（ISO 8601，带时区）")
    systolic: float | None = Field(None, description="收缩压 mmHg")
    diastolic: float | None = Field(None, description="舒张压 mmHg")
    pulse: float | None = Field(None, description="脉搏 次/分")
    value: float | None = Field(None, description="血糖 mmol/L、体重 kg 或血氧 %")

    @model_validator(mode="after")
    def _values_of_kind(self) -> ReadingIn:
        if self.measured_at.tzinfo is None:
            raise ValueError("测量时间须带时区（如 2026-11-25T08:00:00+08:00）")
        if self.kind == "blood_pressure":
            if self.systolic is None or self.diastolic is None:
                raise ValueError("血压读数须包含收缩压 systolic 与舒张压 diastolic")
            if self.value is not None:
                raise ValueError("血压读数不应包含 value")
        else:
            if self.value is None:
                raise ValueError("血糖、体重、血氧读数须包含数值 value")
            if self.systolic is not None or self.diastolic is not None:
                raise ValueError("只有血压读数可包含收缩压/舒张压")
        return self


class ReadingBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(min_length=1, max_length=1000)


class ReadingResult(BaseModel):
    index: int
    id: uuid.UUID
    status: Literal["accepted", "flagged"]
    flags: list[str]
    observation_id: str | None
    alerts: int


class ReadingBatchOut(BaseModel):
    received: int
    accepted: int
    flagged: int
    alerts: int
    results: list[ReadingResult]


class ReadingOut(BaseModel):
    id: uuid.UUID
    kind: str
    measured_at: datetime
    systolic: float | None
    diastolic: float | None
    pulse: float | None
    value: float | None
    unit: str
    flags: list[str]
    station_id: uuid.UUID
    observation_id: str | None


class AlertOut(BaseModel):
    id: uuid.UUID
    kind: str
    message: str
    status: str
    created_at: datetime
    resident_id: uuid.UUID
    resident_name: str | None
    team_id: uuid.UUID | None
    reading_id: uuid.UUID
    referral_id: uuid.UUID | None
    acknowledged_at: datetime | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int


class ReferAlertIn(BaseModel):
    target_organization_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    target_level: str | None = Field(None, description="按等级发往候选机构（如 3A）；默认 3A")
    reason: str | None = Field(None, max_length=2000)


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: uuid.UUID
    disease: Disease
    registered_on: date | None = None


class PatientOut(BaseModel):
    id: uuid.UUID
    resident_id: uuid.UUID
    resident_name: str | None
    disease: str
    team_id: uuid.UUID | None
    registered_on: date
    classification: str | None
    active: bool
    next_due_on: date | None = None
    overdue: bool = False
    open_alerts: int = 0
    risk_flags: list[str] = Field(default_factory=list)


class PatientPage(BaseModel):
    items: list[PatientOut]
    total: int


class FollowupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done_on: date
    way: Literal["clinic", "home", "phone"] = "clinic"
    systolic: float | None = Field(None, ge=50, le=300)
    diastolic: float | None = Field(None, ge=30, le=200)
    fasting_glucose: float | None = Field(None, ge=1, le=35)
    adverse_reaction: bool = False
    complication: bool = False
    exacerbation: bool = Field(False, description="慢阻肺：自上次随访以来有急性加重")
    note: str | None = Field(None, max_length=2000)


class FollowupOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    due_on: date
    status: str
    reason: str
    done_on: date | None
    way: str | None
    systolic: float | None
    diastolic: float | None
    fasting_glucose: float | None
    classification: str | None
    note: str | None


class OverdueOut(BaseModel):
    followup_id: uuid.UUID
    patient_id: uuid.UUID
    resident_id: uuid.UUID
    resident_name: str | None
    disease: str
    due_on: date
    days_overdue: int


class IndicatorRow(BaseModel):
    key: str
    name: str
    disease: str
    known_patients: int
    managed: int
    standardized: int
    controlled: int
    followups_due: int
    followups_done: int
    management_rate: float | None
    standardized_rate: float | None
    control_rate: float | None
    followup_completion: float | None


class IndicatorsOut(BaseModel):
    year: int
    level: str
    rows: list[IndicatorRow]


class CopdAssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessed_on: date
    fev1_pct: float | None = Field(None, ge=5, le=150, description="FEV1 占预计值 %（支气管舒张后）")
    fev1_fvc: float | None = Field(None, gt=0, le=1.5, description="FEV1/FVC")
    mmrc: int | None = Field(None, ge=0, le=4, description="mMRC 呼吸困难分级 0–4")
    cat: int | None = Field(None, ge=0, le=40, description="CAT 评分 0–40")
    exacerbations: int = Field(0, ge=0, le=50, description="近一年中度及以上急性加重次数")
    hospitalised: int = Field(0, ge=0, le=50, description="近一年因急性加重住院次数")


# --- contracts ("1+1+1" signing) ---------------------------------------------------------------------------

class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: uuid.UUID | None = None
    id_number: str | None = Field(None, min_length=15, max_length=18, description="或以身份证号查找居民")
    team_id: uuid.UUID
    district_hospital_id: uuid.UUID | None = Field(None, description="组合内的区级医院（默认：团队专科医生的二级医院）")
    city_hospital_id: uuid.UUID | None = Field(None, description="组合内的市级医院（默认：三级医院）")
    packages: list[str] = Field(default_factory=lambda: ["basic"], min_length=1, max_length=6)
    starts_on: date | None = None
    sign: bool = Field(True, description="true：直接签约生效；false：保存为草稿")

    @model_validator(mode="after")
    def _who(self) -> ContractIn:
        if (self.resident_id is None) == (self.id_number is None):
            raise ValueError("须提供 resident_id 或 id_number 之一")
        return self


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    packages: list[str] | None = Field(None, min_length=1, max_length=6)


class TerminateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=200, description="解约原因")


# --- devices --------------------------------------------------------------------------------------------------

class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    station_id: uuid.UUID
    code: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=64)


# --- repeat prescriptions (代配药) ----------------------------------------------------------------------------

class RefillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    medication_request_id: str = Field(min_length=1, max_length=64, description="当前长期用药的 MedicationRequest id")
    days: int = Field(30, ge=7, le=90, description="配药天数（慢病长处方最多 90 天）")
    note: str | None = Field(None, max_length=200)
    proxy_name: str | None = Field(None, max_length=50, description="家属代办：代办人姓名")
    proxy_relation: str | None = Field(None, max_length=20, description="家属代办：与居民关系")

    @model_validator(mode="after")
    def _proxy(self) -> RefillIn:
        if (self.proxy_name is None) != (self.proxy_relation is None):
            raise ValueError("家属代办须同时填写代办人姓名与关系")
        return self


class RefillDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=200, description="审核意见；驳回时必填")
    days: int | None = Field(None, ge=7, le=90, description="批准时可调整配药天数")
