"""Tables of the master patient index.

`mpi_source_record` is one institution's Patient as the MPI sees it: comparison features and blocking keys,
with 身份证/医保卡/phone only as keyed hashes (the encrypted values stay in the FHIR store and in the
snapshot, which keeps the FHIR layer's `enc:` form). `mpi_link` is the history of which person each record
belongs to (one active row per record). `mpi_event` is the append-only log of every change, detailed
enough to reverse it, and the outbox downstream subscribers read (also announced by NOTIFY jizuo_mpi).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk


class MpiPerson(Base):
    __tablename__ = "mpi_person"

    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | merged | retired
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mpi_person.id"))
    golden: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MpiSourceRecord(Base):
    __tablename__ = "mpi_source_record"

    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    institution_id: Mapped[str | None] = mapped_column(String(64))
    institution_code: Mapped[str | None] = mapped_column(String(64))
    institution_name: Mapped[str | None] = mapped_column(String(100))
    institution_rank: Mapped[int] = mapped_column(Integer, default=0)
    mrn: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    record_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # comparison features (see normalise.Features)
    name: Mapped[str | None] = mapped_column(String(64))
    surname: Mapped[str | None] = mapped_column(String(16))
    name_pinyin: Mapped[str | None] = mapped_column(String(128))
    surname_pinyin: Mapped[str | None] = mapped_column(String(32))
    given_pinyin: Mapped[str | None] = mapped_column(String(96))
    name_fuzzy: Mapped[str | None] = mapped_column(String(128))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth: Mapped[str | None] = mapped_column(String(8), index=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    id_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    id_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    id_fuzzy: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    insurance_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(50))
    locality: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_mpi_source_record_name_fuzzy_birth_year", "name_fuzzy", "birth_year"),
        Index("ix_mpi_source_record_id_fuzzy", "id_fuzzy", postgresql_using="gin"),
    )


class MpiLink(Base):
    __tablename__ = "mpi_link"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[str] = mapped_column(ForeignKey("mpi_source_record.patient_id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retired
    method: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)
    agreement: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(64))
    matched_patient_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_at_column()
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_by: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_mpi_link_active_patient", "patient_id", unique=True, postgresql_where=text("status = 'active'")),
    )


class MpiReview(Base):
    __tablename__ = "mpi_review"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[str] = mapped_column(ForeignKey("mpi_source_record.patient_id"), index=True)
    candidate_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    candidate_patient_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    agreement: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    model_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | linked | distinct | obsolete
    created_at: Mapped[datetime] = created_at_column()
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)


class MpiEvent(Base):
    __tablename__ = "mpi_event"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    person_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    patient_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor: Mapped[str] = mapped_column(String(128))
    reverts_seq: Mapped[int | None] = mapped_column(BigInteger)
    reverted_by_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()
