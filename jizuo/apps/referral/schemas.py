"""Referral API models. Enumerations are Literals so a wrong value is a 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Direction = Literal["up", "down", "lateral"]
Kind = Literal["normal", "palliative", "emergency"]
Urgency = Literal["routine", "urgent", "asap", "stat"]


class ReferralIn(BaseModel):
    patient_id: str | None = Field(None, description="FHIR Patient id")
    id_number: str | None = Field(None, description="身份证号（经主索引查找患者）")
    direction: Direction = "up"
    type: Kind = "normal"
    urgency: Urgency = "routine"
    reason: str = Field(min_length=1, max_length=2000)
    diagnosis_code: str | None = Field(None, max_length=32)
    diagnosis_text: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=10000)
    plan: str | None = Field(None, max_length=10000)
    details: dict[str, Any] = Field(default_factory=dict, description="安宁疗护等类型的专项评估")
    target_organization_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    target_level: str | None = Field(None, description="按等级向多家候选机构发出（如 3A），先接收者得")
    target_department_code: str | None = Field(None, max_length=32)
    target_practitioner_id: uuid.UUID | None = None
    slot_id: uuid.UUID | None = Field(None, description="家庭医生直接预约接收机构的号源（仅一家接收机构）")
    submit: bool = True


class DownReferralIn(BaseModel):
    reason: str | None = None
    plan: str | None = None
    type: Kind = "normal"
    urgency: Urgency = "routine"
    target_organization_id: uuid.UUID | None = None


class ActionIn(BaseModel):
    version: int | None = Field(None, description="客户端所见版本（乐观并发）")
    note: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=300)
    appointment_at: datetime | None = None
    appointment_place: str | None = Field(None, max_length=100)
    outcome: str | None = Field(None, max_length=10000)
    down_referral: DownReferralIn | None = None
    slot_id: uuid.UUID | None = Field(None, description="预约号源（代替 appointment_at）")


class SlotsIn(BaseModel):
    start_at: datetime
    minutes: int = 30
    count: int = 1
    kind: Literal["referral", "expert"] = "referral"
    department_code: str | None = Field(None, max_length=32)
    practitioner_id: uuid.UUID | None = None
    place: str | None = Field(None, max_length=100)
    reserved_for_family_doctors: bool = True
    green_channel: bool = False


class SlotEdit(BaseModel):
    start_at: datetime | None = None
    minutes: int | None = None
    place: str | None = Field(None, max_length=100)
    reserved_for_family_doctors: bool | None = None
    green_channel: bool | None = None


class SlotOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    kind: str
    department_code: str | None
    practitioner_id: uuid.UUID | None
    start_at: datetime
    end_at: datetime
    place: str | None
    reserved_for_family_doctors: bool
    green_channel: bool
    status: str
    referral_id: uuid.UUID | None
    no_shows: int


class OrgRef(BaseModel):
    id: uuid.UUID
    name: str
    level: str | None = None


class PersonRef(BaseModel):
    id: uuid.UUID
    name: str


class ReferralSummary(BaseModel):
    id: uuid.UUID
    status: str
    status_label: str
    version: int
    direction: str
    type: str
    urgency: str
    patient_id: str
    patient_name: str | None
    reason: str
    diagnosis_text: str | None
    source_organization: OrgRef | None
    accepted_organization: OrgRef | None
    created_at: datetime
    requested_at: datetime | None
    expires_at: datetime | None
    appointment_at: datetime | None


class EventOut(BaseModel):
    id: uuid.UUID
    action: str
    label: str
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    actor_organization: OrgRef | None
    note: str | None


class FollowupRef(BaseModel):
    id: uuid.UUID
    title: str
    status: str
    due_at: datetime
    team_id: uuid.UUID | None


class ReferralOut(ReferralSummary):
    diagnosis_code: str | None
    summary: str | None
    plan: str | None
    details: dict[str, Any]
    candidates: list[OrgRef | None]
    target_department_code: str | None
    target_practitioner: PersonRef | None
    source_practitioner: PersonRef | None
    accepted_practitioner: PersonRef | None
    appointment_place: str | None
    outcome: str | None
    reject_reason: str | None
    parent_id: uuid.UUID | None
    updated_at: datetime
    timeline: list[EventOut]
    followups: list[FollowupRef]
    actions: list[str]
    fhir: dict[str, str]


class ReferralPage(BaseModel):
    items: list[ReferralSummary]
    total: int
    total_capped: bool = Field(False, description="总数超过 10000 时只计到 10000")


class FollowupOut(BaseModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    team_id: uuid.UUID | None
    title: str
    patient_name: str | None
    plan: str | None
    due_at: datetime
    status: str
    created_at: datetime


class FollowupPage(BaseModel):
    items: list[FollowupOut]
    total: int


class PatientOut(BaseModel):
    patient_id: str
    name: str | None
    gender: str | None
    birth_date: str | None
    resident_id: uuid.UUID | None
    signed_team_id: uuid.UUID | None
    home_organization_id: uuid.UUID | None
