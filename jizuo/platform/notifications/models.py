"""Notifications for everyone on the platform: one in-app row per recipient, and an outbox of messages for
outside channels (SMS, WeChat) that a delivery loop sends after the commit.

Both are inserted in the caller's transaction (`service.notify`), so a notification exists exactly when the
change it reports was committed, and exactly once: a rolled-back change leaves neither row behind.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[uuid.UUID] = uuid_pk()
    # A recipient is a user account or a practitioner (who may sign in later, or through SSO).
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column()
    recipient_practitioner_id: Mapped[uuid.UUID | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_notification_user_created", "recipient_user_id", "created_at"),
        Index("ix_notification_practitioner_created", "recipient_practitioner_id", "created_at"),
    )


class NotificationOutbox(Base):
    __tablename__ = "notification_outbox"

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16))  # sms | wechat
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at_column()
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_notification_outbox_due", "state", "next_attempt_at"),)


class NotificationDelivery(Base):
    """What the local adapter "sent": the stand-in for a real SMS gateway or WeChat template message."""

    __tablename__ = "notification_delivery"

    id: Mapped[uuid.UUID] = uuid_pk()
    outbox_id: Mapped[uuid.UUID] = mapped_column(unique=True)  # one delivery per outbox row, never two
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    delivered_at: Mapped[datetime] = created_at_column()
