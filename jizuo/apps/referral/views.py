"""How a referral is shown: the inbox/outbox row and the detail with its timeline and the caller's actions."""

from __future__ import annotations

import uuid
from typing import Any

from jizuo.apps.referral.models import Referral, ReferralEvent, ReferralFollowup
from jizuo.apps.referral.rules import STATUS_LABELS, TRANSITIONS, Side, actions_for
from jizuo.platform.registry.models import Organization, Practitioner


def _org(orgs: dict[uuid.UUID, Organization], org_id: uuid.UUID | None) -> dict[str, Any] | None:
    if org_id is None:
        return None
    org = orgs.get(org_id)
    return {"id": org_id, "name": org.name if org else str(org_id), "level": org.level if org else None}


def _person(people: dict[uuid.UUID, Practitioner], person_id: uuid.UUID | None) -> dict[str, Any] | None:
    if person_id is None:
        return None
    person = people.get(person_id)
    return {"id": person_id, "name": person.name if person else str(person_id)}


def referral_summary(ref: Referral, orgs: dict[uuid.UUID, Organization]) -> dict[str, Any]:
    return {
        "id": ref.id, "status": ref.status, "status_label": STATUS_LABELS[ref.status], "version": ref.version,
        "direction": ref.direction, "type": ref.type, "urgency": ref.urgency, "patient_id": ref.patient_id,
        "patient_name": ref.patient_name, "reason": ref.reason, "diagnosis_text": ref.diagnosis_text,
        "source_organization": _org(orgs, ref.source_organization_id),
        "accepted_organization": _org(orgs, ref.accepted_organization_id),
        "created_at": ref.created_at, "requested_at": ref.requested_at, "expires_at": ref.expires_at,
        "appointment_at": ref.appointment_at,
    }


def _event_view(event: ReferralEvent, orgs: dict[uuid.UUID, Organization]) -> dict[str, Any]:
    transition = TRANSITIONS.get(event.action)
    return {"id": event.id, "action": event.action, "label": transition.label if transition else "创建转诊单",
            "from_status": event.from_status, "to_status": event.to_status, "at": event.at,
            "actor": event.actor_username, "actor_organization": _org(orgs, event.actor_organization_id),
            "note": event.note}


def referral_view(ref: Referral, candidates: list[uuid.UUID], events: list[ReferralEvent],
                  followups: list[ReferralFollowup], orgs: dict[uuid.UUID, Organization],
                  people: dict[uuid.UUID, Practitioner], sides: set[Side]) -> dict[str, Any]:
    actions: list[str] = []
    for side in (Side.SENDER, Side.RECEIVER):
        if side in sides:
            actions += [a for a in actions_for(ref.status, side) if a not in actions]
    return {
        **referral_summary(ref, orgs),
        "diagnosis_code": ref.diagnosis_code, "summary": ref.summary, "plan": ref.plan, "details": ref.details,
        "candidates": [_org(orgs, c) for c in candidates],
        "target_department_code": ref.target_department_code,
        "target_practitioner": _person(people, ref.target_practitioner_id),
        "source_practitioner": _person(people, ref.source_practitioner_id),
        "accepted_practitioner": _person(people, ref.accepted_practitioner_id),
        "appointment_place": ref.appointment_place, "outcome": ref.outcome, "reject_reason": ref.reject_reason,
        "parent_id": ref.parent_id, "updated_at": ref.updated_at,
        "timeline": [_event_view(e, orgs) for e in events],
        "followups": [{"id": f.id, "title": f.title, "status": f.status, "due_at": f.due_at, "team_id": f.team_id}
                      for f in followups],
        "actions": actions,
        "fhir": {"service_request": f"ServiceRequest/{ref.id}", "task": f"Task/{ref.id}"},
    }
