"""Chronic-care API models. Kinds are Literals so a wrong value is a 422 naming the field; a reading missing
the values its kind needs is a 422 with a Chinese message."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ReadingKind = Literal["blood_pressure", "glucose_fasting", "glucose_random", "weight", "spo2"]
Disease = Literal["hypertension", "diabetes_t2"]


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
