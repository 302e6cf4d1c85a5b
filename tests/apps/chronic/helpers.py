"""Shared steps of the chronic-care tests: a registered device, the demo family doctor's residents, posting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import readings
from jizuo.core.security import get_field_cipher, hash_password
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.identity.models import User
from jizuo.platform.registry.models import CareTeam, CareTeamMember
from jizuo.platform.residents.models import Resident

READINGS = "/api/v1/devices/readings"
STATION = "JC-S001-01"
KEY = "test-device-key-0001"


async def device(db: AsyncSession, key: str = KEY, code: str = "TEST-BP-1") -> None:
    await readings.register_device(db, stable_id("org", STATION), code, "测试血压计", key)


async def own_resident(db: AsyncSession) -> tuple[Resident, str]:
    """The demo `resident`, signed with the demo family doctor's team; returns the row and the plain 身份证."""
    resident_id = await db.scalar(select(User.resident_id).where(User.username == "resident"))
    resident = await db.get(Resident, resident_id)
    assert resident is not None and resident.signed_team_id is not None
    return resident, get_field_cipher().decrypt(resident.id_number_enc)


async def resident_of_other_team(db: AsyncSession, team_id: uuid.UUID) -> tuple[Resident, str]:
    resident = await db.scalar(select(Resident).where(Resident.signed_team_id.is_not(None),
                                                      Resident.signed_team_id != team_id).limit(1))
    assert resident is not None
    return resident, get_field_cipher().decrypt(resident.id_number_enc)


async def family_doctor_of(db: AsyncSession, team_id: uuid.UUID, username: str) -> User:
    """A family-doctor account for a member of `team_id` (the demo has one such account, for one team)."""
    member = await db.scalar(select(CareTeamMember.practitioner_id).where(CareTeamMember.team_id == team_id)
                             .order_by(CareTeamMember.practitioner_id).limit(1))
    team = await db.get(CareTeam, team_id)
    assert member is not None and team is not None
    user = User(id=uuid.uuid4(), username=username, display_name=username, password_hash=hash_password("Jizuo@2026"),
                role="family_doctor", organization_id=team.organization_id, practitioner_id=member, active=True)
    db.add(user)
    await db.flush()
    return user


def bp(id_number: str, systolic: float, diastolic: float, at: datetime | None = None, **extra: Any
       ) -> dict[str, Any]:
    when = at or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return {"id_number": id_number, "kind": "blood_pressure", "measured_at": when.isoformat(),
            "systolic": systolic, "diastolic": diastolic, "pulse": 72, **extra}


def glucose(id_number: str, value: float, kind: str = "glucose_fasting", at: datetime | None = None
            ) -> dict[str, Any]:
    when = at or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return {"id_number": id_number, "kind": kind, "measured_at": when.isoformat(), "value": value}


async def post(client: httpx.AsyncClient, body: Any, key: str | None = KEY) -> httpx.Response:
    headers = {"X-Device-Key": key} if key is not None else {}
    return await client.post(READINGS, json=body, headers=headers)
