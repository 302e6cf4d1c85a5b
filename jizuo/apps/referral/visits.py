"""The family doctor's list of their signed residents' hospital visits (captured by `loop.py`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.loop import CLASS_LABELS
from jizuo.apps.referral.models import ReferralVisit
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry.models import CareTeam
from jizuo.platform.residents.models import Resident


def visit_view(visit: ReferralVisit, name: str | None) -> dict[str, Any]:
    return {"id": visit.id, "encounter_id": visit.encounter_id, "patient_id": visit.patient_id,
            "resident_id": visit.resident_id, "patient_name": name, "team_id": visit.team_id,
            "organization_name": visit.organization_name, "visit_class": visit.visit_class,
            "class_label": CLASS_LABELS.get(visit.visit_class, "就诊"), "started_at": visit.started_at,
            "reason": visit.reason, "notified_at": visit.notified_at,
            "fhir": f"Encounter/{visit.encounter_id}"}


async def list_visits(db: AsyncSession, trail: AuditSink, scope: AccessScope, *, visit_class: str | None,
                      offset: int, limit: int) -> dict[str, Any]:
    """Family doctor: visits of residents signed with their teams; staff of a community centre: of the
    residents signed with its teams; the district administrator: all. Newest visit first."""
    scope.require(Permission.REFERRAL_READ)
    query = select(ReferralVisit, Resident.name).join(Resident, Resident.id == ReferralVisit.resident_id) \
        .where(ReferralVisit.status == "matched")
    match scope.personal_data_reach:
        case Reach.DISTRICT:
            pass
        case Reach.TEAM:
            query = query.where(ReferralVisit.team_id.in_(list(scope.team_ids)))
        case Reach.ORGANIZATION if scope.organization_id is not None:
            teams = select(CareTeam.id).where(CareTeam.organization_id == scope.organization_id)
            query = query.where(ReferralVisit.team_id.in_(teams))
        case _:
            query = query.where(false())
    if visit_class:
        query = query.where(ReferralVisit.visit_class == visit_class)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await db.execute(query.order_by(ReferralVisit.started_at.desc().nulls_last(), ReferralVisit.id)
                             .offset(offset).limit(limit))).all()
    trail.record("read", "Encounter", None, detail={"via": "referral.visits", "count": len(rows)})
    return {"items": [visit_view(v, name) for v, name in rows], "total": int(total or 0)}
