"""Bulk $export jobs: their state is a table, so a status request reaches the job from any worker process
and after a restart (when a job that stopped making progress is reported failed, with the reason)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base, created_at_column, uuid_pk


class FhirExportJob(Base):
    __tablename__ = "fhir_export_job"

    id: Mapped[uuid.UUID] = uuid_pk()
    owner: Mapped[str] = mapped_column(String(128))  # FhirAccess.actor of the kick-off: only they may fetch
    request_url: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))  # system | patient | group
    group_id: Mapped[str | None] = mapped_column(String(64))
    types: Mapped[list[str] | None] = mapped_column(JSONB)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    patient_ids: Mapped[list[str] | None] = mapped_column(JSONB)  # the caller's patient restriction, if any
    reveal: Mapped[bool] = mapped_column(Boolean, default=False)  # may the caller see 身份证/phone unmasked
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued running completed failed cancelled
    progress: Mapped[str] = mapped_column(Text, default="")  # ASCII: sent as the X-Progress header
    transaction_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    output: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    error: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = created_at_column()
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
