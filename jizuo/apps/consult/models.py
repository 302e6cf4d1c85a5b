"""Consultation tables: a resident's question to their family-doctor team (with its answer), and the published
FAQ — an edited, de-personalised version of an answer that every resident can search."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk
from jizuo.platform.identity import models as _identity_tables  # noqa: F401  (foreign-key targets)
from jizuo.platform.registry import models as _registry_tables  # noqa: F401  (foreign-key targets)
from jizuo.platform.residents import models as _resident_tables  # noqa: F401  (foreign-key targets)


class ConsultQuestion(Base):
    """A question of a signed resident to the team they are signed with (open → answered)."""

    __tablename__ = "consult_question"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_team.id"))
    category: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[datetime] = created_at_column()
    asked_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    answered_by_name: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_consult_question_team_status", "team_id", "status", "created_at"),)


class ConsultFaq(Base):
    """A published question and answer, edited by the team from an answered question so that it carries no
    personal data. Searchable by every signed-in user; `published` false hides it."""

    __tablename__ = "consult_faq"

    id: Mapped[uuid.UUID] = uuid_pk()
    source_question_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consult_question.id"), unique=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"))
    category: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
