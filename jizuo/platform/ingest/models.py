"""Ingestion tables: every batch or message that arrives, and every record in it with its outcome.

Nothing is dropped: a record that fails a rule stays here (quarantined) with every failure until it is fixed
and released, or discarded by a person with a reason. Record contents hold personal data (身份证, names), so
they are stored SM4-encrypted (`data_enc`), never as plain JSON.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base, created_at_column, uuid_pk


class IngestBatch(Base):
    __tablename__ = "ingest_batch"

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(String(16))          # csv | xlsx | hl7v2 | mllp | frontdb | fhir
    dataset_code: Mapped[str | None] = mapped_column(String(64), index=True)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"), index=True)
    filename: Mapped[str | None] = mapped_column(String(200))
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="received")   # received | processing | done | failed
    # The raw upload, kept until the batch is done so a restart resumes it from `cursor` (rows done).
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # What the reader noticed about the file: encoding, columns it did not know, required columns missing.
    notes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IngestRecord(Base):
    __tablename__ = "ingest_record"
    __table_args__ = (
        Index("ux_ingest_record_batch_seq", "batch_id", "seq", unique=True),
        Index("ix_ingest_record_key", "dataset_code", "institution_id", "record_key"),
        Index("ix_ingest_record_quarantine", "institution_id", "dataset_code", "id",
              postgresql_where=text("status = 'quarantined'")),
        Index("ix_ingest_record_score", "institution_id", "dataset_code", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ingest_batch.id"))
    seq: Mapped[int] = mapped_column(Integer)                  # row number in the file / message number
    dataset_code: Mapped[str | None] = mapped_column(String(64))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"))
    # accepted | quarantined | duplicate | released (fixed, then accepted) | superseded | discarded
    status: Mapped[str] = mapped_column(String(16))
    record_key: Mapped[str | None] = mapped_column(String(64))      # keyed hash of the data set key fields
    content_hash: Mapped[str | None] = mapped_column(String(64))
    data_enc: Mapped[bytes | None] = mapped_column(LargeBinary)     # SM4(JSON of the raw fields)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)   # failed dimensions
    required_total: Mapped[int] = mapped_column(SmallInteger, default=0)
    required_filled: Mapped[int] = mapped_column(SmallInteger, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resources: Mapped[list[str]] = mapped_column(JSONB, default=list)   # FHIR "Type/id" written for it
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(String(200))


class FrontDbSource(Base):
    """An institution's 前置库 (front-end database) table feeding one data set, pulled incrementally."""

    __tablename__ = "ingest_frontdb_source"

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    dataset_code: Mapped[str] = mapped_column(String(64))
    dsn_enc: Mapped[bytes] = mapped_column(LargeBinary)              # connection string holds a password
    table_name: Mapped[str] = mapped_column(String(128))
    watermark_column: Mapped[str] = mapped_column(String(64))
    watermark: Mapped[str | None] = mapped_column(String(64))       # last value pulled (text form)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    batch_size: Mapped[int] = mapped_column(Integer, default=5000)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_batch_id: Mapped[uuid.UUID | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
