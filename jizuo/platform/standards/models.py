"""Tables of the data-standard catalogue: value domains, data elements and the versions of each data set.

The YAML in `catalogue/` seeds these tables; at run time the database is the truth (admins extend it).
Each row keeps the whole spec as JSONB — exactly what `spec.py` validates — beside the columns the console
lists and searches by. Elements and value domains are append-only (a published data set may depend on any of
them); data sets change only by new versions: one `published` per code, earlier ones `retired`, new ones
`draft` until published.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk


class StdValueDomain(Base):
    __tablename__ = "std_value_domain"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    standard: Mapped[str | None] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    origin: Mapped[str] = mapped_column(String(16))  # seed | admin
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class StdDataElement(Base):
    __tablename__ = "std_data_element"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # DE02.01.039.00
    name: Mapped[str] = mapped_column(String(100), index=True)
    type: Mapped[str] = mapped_column(String(4))
    format: Mapped[str] = mapped_column(String(16))
    value_domain: Mapped[str | None] = mapped_column(ForeignKey("std_value_domain.code"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class StdDataSetVersion(Base):
    __tablename__ = "std_data_set_version"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … in creation order, for listing
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("code", "version"),
        UniqueConstraint("code", "revision", name="uq_std_data_set_version_code_revision"),
        # At most one current version per data set.
        Index("uq_std_data_set_version_published", "code", unique=True,
              postgresql_where=text("status = 'published'")),
    )
