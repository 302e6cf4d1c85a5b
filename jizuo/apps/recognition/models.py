"""Tables of result mutual recognition.

`recognition_item` / `recognition_item_code` are the catalogue: one recognisable item (a lab panel or analyte, an
exam) and every code that means it — the district item code, LOINC, and each institution's local code.
`recognition_institution` is the list of participating institutions with their quality-control status (their
level comes from the registry). `recognition_result` is a narrow projection of the FHIR store: one row per stored
result that maps to a catalogue item, kept up to date by the FHIR write listener and rebuilt by the backfill, so
a check is one index range scan per patient record instead of a JSONB search. `recognition_check` is one call of
the check API (the prompt the doctor saw) and `recognition_prompt` one recognisable item of it with the doctor's
decision — the statistics are counted from these two.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk


class RecognitionItem(Base):
    __tablename__ = "recognition_item"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # lab | exam
    loinc: Mapped[str | None] = mapped_column(String(16))
    window_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    min_level: Mapped[str] = mapped_column(String(16), default="1", server_default="1")
    needs_qc: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0), server_default="0")
    members: Mapped[list[str]] = mapped_column(JSONB, default=list)  # analyte LOINC codes of a panel
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecognitionItemCode(Base):
    __tablename__ = "recognition_item_code"

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recognition_item.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str | None] = mapped_column(String(100))
    organization_code: Mapped[str | None] = mapped_column(String(32))  # set for an institution's local code

    __table_args__ = (UniqueConstraint("system", "code", name="uq_recognition_item_code_system_code"),)


class RecognitionInstitution(Base):
    __tablename__ = "recognition_institution"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    participating: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    qc_certified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    qc_valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecognitionResult(Base):
    __tablename__ = "recognition_result"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(32))
    effective_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    level_rank: Mapped[int] = mapped_column(SmallInteger, default=0)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[str | None] = mapped_column(String(64))  # the DiagnosticReport an Observation belongs to
    value: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32))
    reference_range: Mapped[str | None] = mapped_column(String(64))
    conclusion: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_recognition_result_lookup", "patient_id", "item_code", effective_at.desc()),
        Index("ix_recognition_result_resource", "resource_type", "resource_id"),
    )


class RecognitionCheck(Base):
    __tablename__ = "recognition_check"

    id: Mapped[uuid.UUID] = uuid_pk()
    at: Mapped[datetime] = created_at_column()
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    department_code: Mapped[str | None] = mapped_column(String(32))
    practitioner: Mapped[str | None] = mapped_column(String(64))  # practitioner id or HIS doctor code
    username: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[uuid.UUID | None] = mapped_column()
    patient_id: Mapped[str | None] = mapped_column(String(64))
    encounter: Mapped[str | None] = mapped_column(String(100))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)


class RecognitionPrompt(Base):
    __tablename__ = "recognition_prompt"

    id: Mapped[uuid.UUID] = uuid_pk()
    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recognition_check.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = created_at_column()
    organization_id: Mapped[uuid.UUID] = mapped_column()
    department_code: Mapped[str | None] = mapped_column(String(32))
    practitioner: Mapped[str | None] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    matches: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(String(16))  # recognised | retested; None: not decided yet
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    recognised_report: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_recognition_prompt_org_at", "organization_id", "at"),
                      Index("ix_recognition_prompt_at", "at"))
