"""A request to several hospitals: one wins the race to accept; the others may decline; nobody: it expires."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jizuo.apps.referral import service
from jizuo.apps.referral.models import Referral, ReferralEvent
from jizuo.apps.referral.rules import EXPIRY_HOURS
from jizuo.core.clock import utcnow
from jizuo.core.db import Base
from jizuo.core.errors import Conflict, NotFound
from jizuo.core.security import get_field_cipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Role
from jizuo.platform.notifications.models import Notification
from tests.apps.referral.helpers import (
    HOSPITAL,
    TCM_HOSPITAL,
    act,
    new_doctor,
    org_id,
    scope_of,
    signed_resident,
    up_referral,
)
from tests.conftest import TokenFor, bearer


async def _forget(engine: AsyncEngine, referral_ids: list[uuid.UUID]) -> None:
    """Remove what the committed race left behind (its rows and FHIR resources), so other tests never see it."""
    ids = [str(r) for r in referral_ids]
    links = [f"/ui/referral/{r}" for r in ids]
    async with engine.begin() as conn:
        rids = list(await conn.scalars(text("SELECT rid FROM fhir_resource WHERE id = ANY(:ids)"), {"ids": ids}))
        tables = [t for t in Base.metadata.tables if t.startswith("fhir_idx_")] + ["fhir_history", "fhir_resource"]
        for table in tables:
            await conn.execute(text(f"DELETE FROM {table} WHERE rid = ANY(:rids)"), {"rids": rids})
        notes = list(await conn.scalars(text("SELECT id FROM notification WHERE link = ANY(:l)"), {"l": links}))
        await conn.execute(text("DELETE FROM notification_outbox WHERE notification_id = ANY(:n)"), {"n": notes})
        await conn.execute(text("DELETE FROM notification WHERE id = ANY(:n)"), {"n": notes})
        await conn.execute(text("DELETE FROM referral WHERE id = ANY(:ids)"), {"ids": referral_ids})


async def test_two_hospitals_accept_at_once_one_wins(engine: AsyncEngine) -> None:
    """Two real connections accept the same request at the same moment: exactly one succeeds."""
    factory = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    cipher = get_field_cipher()
    async with factory() as db:
        _, id_number = await signed_resident(db)
        family = await scope_of(db, "family_doctor")
        hospital = await scope_of(db, "doctor")
        created = await service.create_referral(db, AuditTrail(), family, cipher, {
            "id_number": id_number, "direction": "up", "type": "normal", "urgency": "urgent", "reason": "胸痛待查",
            "target_level": "3A"})
        await db.commit()
    rid = created["id"]
    tcm = AccessScope(user_id=uuid.uuid4(), username="tcm.racer", role=Role.DOCTOR,
                      organization_id=uuid.UUID(org_id(TCM_HOSPITAL)))
    try:
        assert {str(c["id"]) for c in created["candidates"]} == {org_id(HOSPITAL), org_id(TCM_HOSPITAL)}

        async def accept(scope: AccessScope) -> str:
            async with factory() as db:
                try:
                    result = await service.act(db, AuditTrail(), scope, cipher, rid, "accept",
                                               {"version": created["version"]})
                    await db.commit()
                    return str(result["accepted_organization"]["id"])
                except Conflict as exc:
                    await db.rollback()
                    return exc.code

        outcomes = await asyncio.gather(accept(hospital), accept(tcm))
        winners = [o for o in outcomes if o in (org_id(HOSPITAL), org_id(TCM_HOSPITAL))]
        assert len(winners) == 1, outcomes
        assert [o for o in outcomes if o not in winners] in (["referral_changed"], ["accepted_elsewhere"])
        async with factory() as db:
            ref = await db.get(Referral, rid)
            assert ref is not None and ref.status == "accepted" and str(ref.accepted_organization_id) == winners[0]
            accepts = await db.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == rid,
                                                                   ReferralEvent.action == "accept"))
            assert len(list(accepts)) == 1
            loser = tcm if winners[0] == org_id(HOSPITAL) else hospital
            # From now on the losing hospital is told it went elsewhere, and can no longer read it.
            with pytest.raises(Conflict) as late:
                await service.act(db, AuditTrail(), loser, cipher, rid, "accept", {})
            assert late.value.code == "accepted_elsewhere"
            with pytest.raises(NotFound):
                await service.read_referral(db, AuditTrail(), loser, rid)
    finally:
        await _forget(engine, [rid])


async def test_one_candidate_declines_others_still_may_accept(client: httpx.AsyncClient, db: AsyncSession,
                                                              token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    tcm = await new_doctor(client, token_for, TCM_HOSPITAL, "tcm.doc2")
    rid = (await up_referral(client, family, id_number,
                             target_organization_ids=[org_id(HOSPITAL), org_id(TCM_HOSPITAL)]))["id"]
    declined = await act(client, doctor, rid, "reject", reason="本院无床位")
    assert declined["status"] == "requested"  # still open for the other candidate
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=bearer(doctor))).status_code == 404
    final = await act(client, tcm, rid, "reject", reason="本院亦无床位")
    assert final["status"] == "rejected" and final["reject_reason"] == "本院亦无床位"


async def test_requests_nobody_accepts_expire(client: httpx.AsyncClient, db: AsyncSession,
                                              token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    stat = await up_referral(client, family, id_number, urgency="stat")
    routine = await up_referral(client, family, id_number, urgency="routine")
    taken = await up_referral(client, family, id_number, urgency="stat")
    await act(client, doctor, taken["id"], "accept")

    cipher, trail = get_field_cipher(), AuditTrail()
    assert await service.expire_overdue(db, cipher, trail, now=utcnow() + timedelta(hours=1)) == 0
    later = utcnow() + timedelta(hours=EXPIRY_HOURS["stat"], minutes=1)
    assert await service.expire_overdue(db, cipher, trail, now=later) >= 1
    await db.commit()
    rows = {r.id: r.status for r in await db.scalars(select(Referral).where(Referral.id.in_(
        [uuid.UUID(stat["id"]), uuid.UUID(routine["id"]), uuid.UUID(taken["id"])])))}
    assert rows[uuid.UUID(stat["id"])] == "expired"
    assert rows[uuid.UUID(routine["id"])] == "requested"  # 72 hours for a routine request
    assert rows[uuid.UUID(taken["id"])] == "accepted"
    assert await service.expire_overdue(db, cipher, trail, now=later) == 0  # idempotent

    detail = (await client.get(f"/api/v1/referrals/{stat['id']}", headers=bearer(family))).json()
    assert detail["status"] == "expired" and detail["timeline"][-1]["actor"] == "system"
    assert (await act(client, doctor, stat["id"], "accept", status=409))["code"] == "invalid_transition"
    told = await db.scalar(select(Notification).where(Notification.kind == "referral.expire",
                                                      Notification.link == f"/ui/referral/{stat['id']}"))
    assert told is not None
