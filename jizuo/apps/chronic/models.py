"""Chronic-care tables: health-station devices, their readings (the fast trend table beside the FHIR
Observations), urgent alerts, registered chronic patients and their follow-ups (planned and done)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, Boolean, Date, DateTime, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk
from jizuo.platform.registry import models as _registry_tables  # noqa: F401  (foreign-key targets)
from jizuo.platform.residents import models as _resident_tables  # noqa: F401  (foreign-key targets)


class StationDevice(Base):
    """A measuring device at a health station (健康驿站). Only the SHA-256 digest of its key is stored."""

    __tablename__ = "station_device"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class DeviceReading(Base):
    """One measurement as received. Never deleted: duplicates, implausible values and readings of unknown
    residents are kept with `flags` saying why they were not (or not again) written to FHIR or alerted."""

    __tablename__ = "device_reading"

    id: Mapped[uuid.UUID] = uuid_pk()
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("station_device.id"))
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str] = mapped_column(String(24))
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    systolic: Mapped[float | None] = mapped_column(Float)
    diastolic: Mapped[float | None] = mapped_column(Float)
    pulse: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str]] = mapped_column(ARRAY(String(24)), default=list, server_default="{}")
    observation_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("ix_device_reading_resident_time", "resident_id", "kind", "measured_at"),
        Index("ix_device_reading_device_time", "device_id", "measured_at"),
    )


class ChronicAlert(Base):
    """An urgent-referral alert for the resident's family-doctor team (open → acknowledged / referred)."""

    __tablename__ = "chronic_alert"

    id: Mapped[uuid.UUID] = uuid_pk()
    reading_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device_reading.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"))
    kind: Mapped[str] = mapped_column(String(24))
    message: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[datetime] = created_at_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column()
    referral_id: Mapped[uuid.UUID | None] = mapped_column()

    __table_args__ = (Index("ix_chronic_alert_team_status", "team_id", "status", "created_at"),)


class ChronicPatient(Base):
    """A resident registered for management of one disease (hypertension or type 2 diabetes)."""

    __tablename__ = "chronic_patient"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resident.id"))
    disease: Mapped[str] = mapped_column(String(24))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    classification: Mapped[str | None] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16), default="api")  # resident_record | api
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (UniqueConstraint("resident_id", "disease", name="uq_chronic_patient_resident_disease"),)


class ChronicFollowup(Base):
    """A follow-up: planned (due_on, status planned) and, once done, its form (status done)."""

    __tablename__ = "chronic_followup"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chronic_patient.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planned", server_default="planned")
    reason: Mapped[str] = mapped_column(String(24), default="routine")  # routine | uncontrolled_recheck
    done_on: Mapped[date | None] = mapped_column(Date)
    way: Mapped[str | None] = mapped_column(String(16))  # clinic | home | phone
    systolic: Mapped[float | None] = mapped_column(Float)
    diastolic: Mapped[float | None] = mapped_column(Float)
    fasting_glucose: Mapped[float | None] = mapped_column(Float)
    classification: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (Index("ix_chronic_followup_patient_due", "patient_id", "status", "due_on"),)
