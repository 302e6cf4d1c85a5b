"""Uploads to the city platform's 前置库: which accepted records went out in which batch, and how it went."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base, created_at_column, uuid_pk


class UploadBatch(Base):
    __tablename__ = "city_upload_batch"
    __table_args__ = (Index("ix_city_upload_batch_dataset", "dataset_code", "to_record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    dataset_code: Mapped[str] = mapped_column(String(64))
    # The batch is the accepted ingest records of the data set with from_record_id ≤ id ≤ to_record_id.
    from_record_id: Mapped[int] = mapped_column(BigInteger)
    to_record_id: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")   # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
