"""Residents of the district (the population register the demo seeds; the MPI builds persons on it).

身份证 and phone are stored encrypted (SM4) with an HMAC-SM3 blind index for exact lookup.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk
from jizuo.platform.registry import models as _registry_tables  # noqa: F401  (foreign-key targets)


class Resident(Base):
    __tablename__ = "resident"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address: Mapped[str | None] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(50))
    community: Mapped[str | None] = mapped_column(String(50))
    home_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"), index=True)
    medical_insurance_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    signed_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"), index=True)
    chronic: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
