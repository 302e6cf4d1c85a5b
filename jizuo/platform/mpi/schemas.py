"""Request and response bodies of the MPI API."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class LinkOut(BaseModel):
    """The person a source record belongs to, and why."""

    source_patient_id: str
    person_id: uuid.UUID
    score: float | None = Field(None, description="匹配概率（确定性规则为 1）")
    weight: float | None = Field(None, description="Fellegi–Sunter 匹配权重（bits）")
    method: str = Field(description="deterministic:id_card | deterministic:insurance | probabilistic | manual | "
                                    "new_person")
    model_version: str | None
    matched_patient_id: str | None = Field(None, description="匹配时得分最高的对方记录")
    agreement: dict[str, Any] = Field(default_factory=dict, description="各比较字段的一致程度与权重")
    created_by: str
    linked_at: str | None
    institution_code: str | None = None
    institution_name: str | None = None
    mrn: str | None = None
    person_status: str | None = None


class RecordOut(BaseModel):
    source_patient_id: str
    institution_code: str | None
    institution_name: str | None
    institution_rank: int
    mrn: str | None
    updated_at: str
    score: float | None
    method: str | None
    linked_by: str | None = Field(None, description="关联人（system:mpi 为自动匹配）")
    linked_at: str | None = None
    name: str | None
    gender: str | None
    birth_date: str | None
    id_number: str | None = Field(None, description="按角色脱敏")
    insurance_no: str | None
    phone: str | None = Field(None, description="按角色脱敏")
    address: str | None


class GoldenOut(BaseModel):
    name: str | None
    gender: str | None
    birth_date: str | None
    id_number: str | None
    insurance_no: str | None
    phone: str | None
    address: str | None
    sources: dict[str, str] = Field(description="每个字段取自哪条源记录")
    rules: dict[str, str] = Field(description="每个字段使用的存活规则")


class PersonOut(BaseModel):
    id: uuid.UUID
    status: str
    version: int
    merged_into: uuid.UUID | None
    golden: GoldenOut
    records: list[RecordOut]
    hidden_records: int = Field(0, description="不在调用者可见范围内的其他机构记录数（机构管理员）")


class PersonSummary(BaseModel):
    """One hit of the person search: the golden record's identity fields (masked per role)."""

    id: uuid.UUID
    status: str
    name: str | None
    gender: str | None
    birth_date: str | None
    id_number: str | None = Field(None, description="按角色脱敏")
    record_count: int
    hidden_records: int = 0
    institutions: list[str]


class EventOut(BaseModel):
    seq: int
    action: str
    person_ids: list[str]
    patient_ids: list[str]
    changes: dict[str, Any]
    detail: dict[str, Any]
    actor: str
    reverts_seq: int | None
    reverted_by_seq: int | None
    created_at: str | None


class ReviewOut(BaseModel):
    id: uuid.UUID
    status: str
    score: float
    weight: float
    model_version: str
    agreement: dict[str, Any]
    source_patient_id: str
    candidate_person_id: uuid.UUID
    candidate_patient_id: str | None
    created_at: str | None
    decided_by: str | None
    decision_note: str | None
    incoming: RecordOut | None = Field(description="待判定的记录")
    candidate: RecordOut | None = Field(description="候选人员中得分最高的记录（并排比较）")


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    total: int
    page: int
    page_size: int


class Reason(BaseModel):
    reason: str | None = Field(None, max_length=500, description="操作原因（记入审计）")


class LinkIn(Reason):
    source_patient_id: str = Field(min_length=1, max_length=64)
    person_id: uuid.UUID


class MergeIn(Reason):
    into_person_id: uuid.UUID = Field(description="保留的人员；被合并人员的全部记录转入此人员")


class SplitIn(Reason):
    source_patient_ids: list[str] = Field(min_length=1, max_length=500, description="拆分到新人员的记录")


class ReviewDecisionIn(BaseModel):
    decision: Literal["link", "distinct"] = Field(description="link：同一人，关联；distinct：不是同一人")
    note: str | None = Field(None, max_length=500)


class ReviewDecisionOut(BaseModel):
    review_id: uuid.UUID
    decision: str
    event: EventOut | None = None
