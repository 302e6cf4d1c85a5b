"""Tables of two-way referral (双向转诊).

`referral` holds the request and its current state; `referral_event` every transition (who, when, from which
state to which, with its note), which is the timeline. `referral_candidate` lists the institutions a request is
addressed to: one, or several ("any 三级 hospital") of which the first to accept wins — the optimistic
`version` of `referral` makes that race have exactly one winner. `referral_followup` is a task a down-referral
gives the resident's family-doctor team. The FHIR ServiceRequest and Task are mirrors of these rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.core.db import Base, created_at_column, uuid_pk
from jizuo.platform.registry import models as _registry_tables  # noqa: F401  (foreign-key targets)


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    direction: Mapped[str] = mapped_column(String(8))   # up | down | lateral
    type: Mapped[str] = mapped_column(String(16))       # normal | palliative | emergency
    urgency: Mapped[str] = mapped_column(String(8))     # routine | urgent | asap | stat (FHIR priority)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)  # FHIR Patient id
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"), index=True)
    patient_name: Mapped[str | None] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    diagnosis_code: Mapped[str | None] = mapped_column(String(32))
    diagnosis_text: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)      # rehabilitation / follow-up plan of a down-referral
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # type-specific intake (安宁疗护)
    source_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    source_practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    source_user_id: Mapped[uuid.UUID] = mapped_column()
    target_department_code: Mapped[str | None] = mapped_column(String(32))
    target_practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    accepted_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"))
    accepted_practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    appointment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    appointment_place: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(String(300))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referral.id"))  # the up-referral it answers
    created_at: Mapped[datetime] = created_at_column()
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("ix_referral_source_created", "source_organization_id", "created_at"),
        Index("ix_referral_accepted_created", "accepted_organization_id", "created_at"),
        Index("ix_referral_expiry", "expires_at", postgresql_where="status = 'requested'"),
    )


class ReferralCandidate(Base):
    __tablename__ = "referral_candidate"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    # The referral's creation time, repeated so an institution's inbox is read in time order from one index.
    created_at: Mapped[datetime] = created_at_column()
    # Submitted and not (yet) accepted by anyone: the part of the inbox that is addressed, not owned. A partial
    # index keeps it small however long the history grows.
    open: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (Index("ix_referral_candidate_open", "organization_id", "created_at",
                            postgresql_where="open"),)


class ReferralEvent(Base):
    __tablename__ = "referral_event"

    id: Mapped[uuid.UUID] = uuid_pk()
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = created_at_column()
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_organization_id: Mapped[uuid.UUID | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ReferralFollowup(Base):
    __tablename__ = "referral_followup"

    id: Mapped[uuid.UUID] = uuid_pk()
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"))
    patient_name: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(120))
    plan: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")  # open | done
    created_at: Mapped[datetime] = created_at_column()
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReferralSlot(Base):
    """A time a hospital publishes for referred patients (FHIR Slot): a referral clinic or an expert's clinic,
    usually reserved for family doctors' referrals; one referral books it, atomically."""

    __tablename__ = "referral_slot"

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[str] = mapped_column(String(8), default="referral")  # referral | expert
    department_code: Mapped[str | None] = mapped_column(String(32))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str | None] = mapped_column(String(100))
    reserved_for_family_doctors: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(12), default="free", server_default="free")  # free | booked
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"),
                                                          unique=True)
    no_shows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (Index("ix_referral_slot_organization_start", "organization_id", "start_at"),)


class ReferralVisit(Base):
    """A hospital visit (FHIR Encounter) of a district patient, captured by the write listener: `pending` until
    the patient resolves to a register resident (directly or through the MPI person), then `matched` (signed
    with a family-doctor team, who is notified once), `unsigned`, or `unmatched` after the grace period. One
    row per Encounter id whatever its versions — the unique key is what makes the notice happen once."""

    __tablename__ = "referral_visit"

    id: Mapped[uuid.UUID] = uuid_pk()
    encounter_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_team.id"))
    organization_id: Mapped[str | None] = mapped_column(String(64))   # the serviceProvider reference's id
    organization_name: Mapped[str | None] = mapped_column(String(100))
    visit_class: Mapped[str] = mapped_column(String(12))   # outpatient | inpatient | emergency | other
    class_code: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_referral_visit_pending", "created_at", postgresql_where="status = 'pending'"),
        Index("ix_referral_visit_team_started", "team_id", "started_at"),
    )


class ReferralAttachment(Base):
    """A document attached to a referral: an uploaded file (stored as FHIR Binary + DocumentReference) or a
    link to the patient's existing DiagnosticReport / DocumentReference."""

    __tablename__ = "referral_attachment"

    id: Mapped[uuid.UUID] = uuid_pk()
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))          # upload | link
    reference: Mapped[str] = mapped_column(String(140))   # DocumentReference/<id> or DiagnosticReport/<id>
    title: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()
