"""Every query of the referral app. Reads are narrowed to the caller's institution (sender, candidate or
accepting institution); the district administrator sees the whole district."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.models import Referral, ReferralCandidate, ReferralEvent, ReferralFollowup
from jizuo.core.db import Q
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.mpi.models import MpiSourceRecord
from jizuo.platform.registry.models import CareTeamMember, Organization, Practitioner
from jizuo.platform.residents.models import Resident


def _candidate_of(organization_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(ReferralCandidate.referral_id == Referral.id,
                          ReferralCandidate.organization_id == organization_id)


def involving(scope: AccessScope) -> ColumnElement[bool]:
    """The one place that decides which referrals a caller may see."""
    if scope.personal_data_reach is Reach.DISTRICT:
        return Referral.id.is_not(None)
    if scope.organization_id is None or scope.personal_data_reach is Reach.NONE:
        return false()
    org = scope.organization_id
    # A candidate sees the request only until some institution accepts it: the others then lose sight of it.
    return or_(Referral.source_organization_id == org, Referral.accepted_organization_id == org,
               and_(Referral.accepted_organization_id.is_(None), _candidate_of(org)))


async def accepted_elsewhere(db: AsyncSession, scope: AccessScope, referral_id: uuid.UUID) -> bool:
    """Was the caller's institution a candidate of this request that another institution has accepted?"""
    if scope.organization_id is None:
        return False
    found = await db.scalar(select(Referral.id).where(Referral.id == referral_id,
                                                      Referral.accepted_organization_id.is_not(None),
                                                      _candidate_of(scope.organization_id)))
    return found is not None


def within_scope(query: Q, scope: AccessScope) -> Q:
    return query.where(involving(scope))


async def get(db: AsyncSession, scope: AccessScope, referral_id: uuid.UUID) -> Referral | None:
    return await db.scalar(within_scope(select(Referral).where(Referral.id == referral_id), scope))


async def candidates(db: AsyncSession, referral_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.scalars(select(ReferralCandidate.organization_id)
                            .where(ReferralCandidate.referral_id == referral_id))
    return list(rows)


async def set_candidates_open(db: AsyncSession, referral_id: uuid.UUID, is_open: bool) -> None:
    await db.execute(update(ReferralCandidate).where(ReferralCandidate.referral_id == referral_id)
                     .values(open=is_open))


async def remove_candidate(db: AsyncSession, referral_id: uuid.UUID, organization_id: uuid.UUID) -> None:
    from sqlalchemy import delete

    await db.execute(delete(ReferralCandidate).where(ReferralCandidate.referral_id == referral_id,
                                                     ReferralCandidate.organization_id == organization_id))


async def events(db: AsyncSession, referral_id: uuid.UUID) -> list[ReferralEvent]:
    rows = await db.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                            .order_by(ReferralEvent.at, ReferralEvent.id))
    return list(rows)


async def followups_of(db: AsyncSession, referral_id: uuid.UUID) -> list[ReferralFollowup]:
    rows = await db.scalars(select(ReferralFollowup).where(ReferralFollowup.referral_id == referral_id)
                            .order_by(ReferralFollowup.created_at))
    return list(rows)


async def advance(db: AsyncSession, referral_id: uuid.UUID, expected_version: int, values: dict[str, Any]
                  ) -> bool:
    """Move the referral on if nobody else did since it was read: the optimistic version check. Under READ
    COMMITTED a competing UPDATE waits for the first to commit, then re-checks the version and finds it
    changed, so of two hospitals accepting at once exactly one succeeds."""
    result = await db.execute(update(Referral)
                              .where(Referral.id == referral_id, Referral.version == expected_version)
                              .values(**values, version=Referral.version + 1)
                              .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


COUNT_CAP = 10_000  # a list's total is exact up to here; beyond, "10,000+" (counting 100k rows per page is waste)


def _filtered(query: Q, status: Sequence[str], direction: str | None, type_: str | None, q: str | None) -> Q:
    if status:
        query = query.where(Referral.status.in_(list(status)))
    if direction:
        query = query.where(Referral.direction == direction)
    if type_:
        query = query.where(Referral.type == type_)
    if q:
        query = query.where(Referral.patient_name.like(f"%{q.strip()}%"))
    return query


async def _capped_count(db: AsyncSession, queries: Sequence[Select[*tuple[Any, ...]]]) -> tuple[int, bool]:
    total = 0
    for query in queries:
        total += int(await db.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0)
    return min(total, COUNT_CAP), total > COUNT_CAP


async def list_referrals(db: AsyncSession, scope: AccessScope, *, box: str, organization_id: uuid.UUID | None,
                         mine: bool, status: Sequence[str], direction: str | None, type_: str | None,
                         q: str | None, offset: int, limit: int) -> tuple[list[Referral], int, bool]:
    """Newest first. The inbox is two index walks — requests this institution accepted (by accepted
    institution and time) and open requests addressed to it (by candidate institution and time) — merged, so
    a page costs the same with a million historical referrals as with a hundred."""
    org = organization_id or scope.organization_id
    window = offset + limit
    if box == "inbox" and org is not None:
        accepted = _filtered(select(Referral.id, Referral.created_at)
                             .where(Referral.accepted_organization_id == org), status, direction, type_, q)
        addressed = _filtered(select(Referral.id, ReferralCandidate.created_at)
                              .join(ReferralCandidate, ReferralCandidate.referral_id == Referral.id)
                              .where(ReferralCandidate.organization_id == org, ReferralCandidate.open.is_(True)),
                              status, direction, type_, q)
        narrowed = bool(status or direction or type_ or q or mine)
        if mine and scope.practitioner_id is not None:
            accepted = accepted.where(Referral.accepted_practitioner_id == scope.practitioner_id)
            addressed = addressed.where(Referral.target_practitioner_id == scope.practitioner_id)
        branches = [accepted.order_by(Referral.created_at.desc()).limit(window),
                    addressed.order_by(ReferralCandidate.created_at.desc()).limit(window)]
        ids = union_all(*branches).subquery()
        page = select(Referral).where(Referral.id.in_(select(ids.c.id)))
        # Unfiltered, the open part is counted from the partial index alone (no join to referral).
        open_only = select(ReferralCandidate.referral_id).where(ReferralCandidate.organization_id == org,
                                                                ReferralCandidate.open.is_(True))
        total, capped = await _capped_count(db, [accepted, addressed if narrowed else open_only])
    else:
        page = within_scope(_filtered(select(Referral), status, direction, type_, q), scope)
        if box == "outbox" and org is not None:
            page = page.where(Referral.source_organization_id == org)
            if mine:
                page = page.where(Referral.source_user_id == scope.user_id)
        total, capped = await _capped_count(db, [page])
    rows = await db.scalars(page.order_by(Referral.created_at.desc(), Referral.id.desc()).offset(offset)
                            .limit(limit))
    return list(rows), total, capped


async def organizations(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    rows = await db.scalars(select(Organization).where(Organization.id.in_(list(set(ids)))))
    return {o.id: o for o in rows}


async def practitioners(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Practitioner]:
    if not ids:
        return {}
    rows = await db.scalars(select(Practitioner).where(Practitioner.id.in_(list(set(ids)))))
    return {p.id: p for p in rows}


async def active_organizations_of_level(db: AsyncSession, level: str) -> list[uuid.UUID]:
    rows = await db.scalars(select(Organization.id).where(Organization.level == level,
                                                          Organization.active.is_(True)))
    return list(rows)


async def resident_by_id_number(db: AsyncSession, bidx: bytes) -> Resident | None:
    return await db.scalar(select(Resident).where(Resident.id_number_bidx == bidx))


async def resident(db: AsyncSession, resident_id: uuid.UUID) -> Resident | None:
    return await db.get(Resident, resident_id)


async def mpi_records_by_id_number(db: AsyncSession, bidx: bytes) -> list[MpiSourceRecord]:
    """Patient records the master patient index holds under this 身份证 (its blind index), read-only."""
    rows = await db.scalars(select(MpiSourceRecord).where(MpiSourceRecord.id_bidx == bidx,
                                                          MpiSourceRecord.deleted.is_(False)))
    return list(rows)


async def mpi_record(db: AsyncSession, patient_id: str) -> MpiSourceRecord | None:
    return await db.get(MpiSourceRecord, patient_id)


async def mpi_records_of_person(db: AsyncSession, person_id: uuid.UUID) -> list[MpiSourceRecord]:
    rows = await db.scalars(select(MpiSourceRecord).where(MpiSourceRecord.person_id == person_id,
                                                          MpiSourceRecord.deleted.is_(False)))
    return list(rows)


async def team_practitioners(db: AsyncSession, team_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.scalars(select(CareTeamMember.practitioner_id).where(CareTeamMember.team_id == team_id))
    return list(rows)


async def organization_practitioners(db: AsyncSession, organization_id: uuid.UUID, roles: Sequence[str]
                                     ) -> list[uuid.UUID]:
    rows = await db.scalars(select(Practitioner.id).where(Practitioner.organization_id == organization_id,
                                                          Practitioner.role.in_(list(roles)),
                                                          Practitioner.active.is_(True)))
    return list(rows)


async def due_for_expiry(db: AsyncSession, now: datetime, limit: int) -> list[Referral]:
    rows = await db.scalars(select(Referral).where(Referral.status == "requested", Referral.expires_at <= now)
                            .order_by(Referral.expires_at).limit(limit).with_for_update(skip_locked=True))
    return list(rows)


async def followups_for(db: AsyncSession, scope: AccessScope, status: str | None, offset: int, limit: int,
                        followup_id: uuid.UUID | None = None) -> tuple[list[ReferralFollowup], int]:
    """A family doctor sees the tasks of their teams; other staff those of their institution."""
    query = select(ReferralFollowup)
    if followup_id is not None:
        query = query.where(ReferralFollowup.id == followup_id)
    if scope.personal_data_reach is Reach.DISTRICT:
        pass
    elif scope.personal_data_reach is Reach.TEAM:
        query = query.where(ReferralFollowup.team_id.in_(list(scope.team_ids)))
    elif scope.organization_id is not None and scope.personal_data_reach is Reach.ORGANIZATION:
        query = query.where(ReferralFollowup.organization_id == scope.organization_id)
    else:
        query = query.where(false())
    if status:
        query = query.where(ReferralFollowup.status == status)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(query.order_by(ReferralFollowup.due_at, ReferralFollowup.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)
