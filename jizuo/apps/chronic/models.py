"""Chronic-care tables: health-station devices, their readings (the fast trend table beside the FHIR
Observations), urgent alerts, registered chronic patients and their follow-ups (planned and done)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, Boolean, Date, DateTime, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
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
    key_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[uuid.UUID | None] = mapped_column()


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


class FamilyContract(Base):
    """A family-doctor contract (家庭医生签约, "1+1+1"): a resident, the team, the institution combination
    (community centre + district hospital + city hospital), service packages and a one-year period.

    draft → active → expired (period over) / terminated (reason); a renewal is a new contract pointing at the
    old one (`renewed_from_id`). At most one active contract per resident (partial unique index); the active
    contract is what `resident.signed_team_id` mirrors, so the "family doctor sees their signed residents"
    rule follows the contract (docs/chronic.md)."""

    __tablename__ = "family_contract"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_team.id"), index=True)
    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    district_hospital_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    city_hospital_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    packages: Mapped[list[str]] = mapped_column(ARRAY(String(24)), default=list)
    price: Mapped[float] = mapped_column(Float, default=0)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | active | expired | terminated
    renewed_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("family_contract.id"), index=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[uuid.UUID | None] = mapped_column()
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("uq_family_contract_one_active", "resident_id", unique=True,
              postgresql_where=text("status = 'active'")),
        Index("ix_family_contract_status_period", "status", "starts_on", "ends_on"),
    )


class CopdAssessment(Base):
    """A COPD assessment: spirometry (FEV1 % predicted, FEV1/FVC), symptoms (mMRC, CAT) and exacerbations in
    the last year, with the GOLD grade (1–4, from FEV1) and group (A/B/E) they give."""

    __tablename__ = "copd_assessment"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chronic_patient.id", ondelete="CASCADE"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    fev1_pct: Mapped[float | None] = mapped_column(Float)
    fev1_fvc: Mapped[float | None] = mapped_column(Float)
    mmrc: Mapped[int | None] = mapped_column()
    cat: Mapped[int | None] = mapped_column()
    exacerbations: Mapped[int] = mapped_column(default=0)
    hospitalised: Mapped[int] = mapped_column(default=0)
    gold_grade: Mapped[int | None] = mapped_column()
    gold_group: Mapped[str | None] = mapped_column(String(2))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()


class MedicationRefill(Base):
    """A repeat-prescription request (代配药) of a signed resident for one of their current long-term
    MedicationRequests: pending → approved (a new MedicationRequest, the doctor as requester) / rejected /
    cancelled. `proxy_name`/`proxy_relation` when a family member asks on the resident's behalf."""

    __tablename__ = "medication_refill"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"))
    source_request_id: Mapped[str] = mapped_column(String(64))
    medication_code: Mapped[str | None] = mapped_column(String(32))
    medication_display: Mapped[str] = mapped_column(String(200))
    days: Mapped[int] = mapped_column(default=30)
    note: Mapped[str | None] = mapped_column(String(200))
    proxy_name: Mapped[str | None] = mapped_column(String(50))
    proxy_relation: Mapped[str | None] = mapped_column(String(20))
    requested_by: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(String(200))
    new_request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (Index("ix_medication_refill_team_status", "team_id", "status", "created_at"),)
