"""Receipts and quarantine records as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class RecordError(BaseModel):
    row: int
    field: str | None = None
    element: str | None = None
    rule: str
    dimension: str
    severity: str
    message: str


class Receipt(BaseModel):
    batch_id: uuid.UUID
    source: str
    dataset_code: str | None
    institution_id: uuid.UUID | None
    institution_code: str | None = None
    institution_name: str | None = None
    filename: str | None
    status: str
    received: int
    accepted: int
    quarantined: int
    duplicates: int
    errors: list[RecordError]
    errors_truncated: bool = False
    notes: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None


class BatchOut(BaseModel):
    batch_id: uuid.UUID
    source: str
    dataset_code: str | None
    institution_id: uuid.UUID | None
    institution_code: str | None = None
    institution_name: str | None = None
    filename: str | None
    submitted_by: str | None
    status: str
    received: int
    accepted: int
    quarantined: int
    duplicates: int
    created_at: datetime
    finished_at: datetime | None


class QuarantinedRecord(BaseModel):
    id: int
    batch_id: uuid.UUID
    row: int
    dataset_code: str | None
    institution_id: uuid.UUID | None
    institution_name: str | None = None
    status: str
    fields: dict[str, str]
    failures: list[dict[str, Any]]
    received_at: datetime
    resources: list[str] = Field(default_factory=list)
    resolved_by: str | None = None
    resolution_note: str | None = None


class RecordFix(BaseModel):
    fields: dict[str, str] = Field(description="要修改的字段（字段名 → 新值）；未提及的字段保持不变")


class RecordDiscard(BaseModel):
    reason: str = Field(min_length=2, max_length=200, description="作废原因")


class FrontDbSourcePatch(BaseModel):
    enabled: bool | None = None
    interval_seconds: int | None = Field(None, ge=30, le=86400)
    batch_size: int | None = Field(None, ge=100, le=100000)


class FrontDbSourceIn(BaseModel):
    institution: str | None = Field(None, max_length=32, description="机构编码（区级管理员为其他机构配置时）")
    dataset_code: str = Field(max_length=64)
    dsn: str = Field(min_length=10, max_length=500, description="前置库连接串，如 postgresql://user:pw@host/db")
    table_name: str = Field(max_length=128)
    watermark_column: str = Field(max_length=64, description="增量水位列（如更新时间或自增号）")
    interval_seconds: int = Field(300, ge=30, le=86400)
    batch_size: int = Field(5000, ge=100, le=100000)
    enabled: bool = True


class FrontDbSourceOut(BaseModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    institution_code: str | None = None
    institution_name: str | None = None
    dataset_code: str
    dsn_masked: str
    table_name: str
    watermark_column: str
    watermark: str | None
    interval_seconds: int
    batch_size: int
    enabled: bool
    last_run_at: datetime | None
    last_batch_id: uuid.UUID | None
    last_error: str | None
