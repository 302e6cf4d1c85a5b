"""Shared steps of the referral tests: the demo district's people and places, and the API calls."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.security import get_field_cipher
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.models import User
from jizuo.platform.identity.roles import Role
from jizuo.platform.residents.models import Resident
from tests.conftest import TokenFor, bearer

HOSPITAL = "JC-H001"      # 江川区中心医院, 三级甲等 (the demo `doctor`)
TCM_HOSPITAL = "JC-H002"  # 江川区中医医院, 三级甲等
SECOND_HOSPITAL = "JC-H003"
CENTRE = "JC-C001"        # the demo `family_doctor` and `nurse`
OTHER_CENTRE = "JC-C002"
API = "/api/v1/referrals"


def org_id(code: str) -> str:
    return str(stable_id("org", code))


async def signed_resident(db: AsyncSession) -> tuple[Resident, str]:
    """The demo `resident`: signed with the family doctor's team. Returns the row and the plain 身份证."""
    resident_id = await db.scalar(select(User.resident_id).where(User.username == "resident"))
    resident = await db.get(Resident, resident_id)
    assert resident is not None
    return resident, get_field_cipher().decrypt(resident.id_number_enc)


async def new_doctor(client: httpx.AsyncClient, token_for: TokenFor, code: str, username: str) -> str:
    """An extra doctor account at the institution `code` (made by the district admin); returns a token."""
    admin = await token_for("admin")
    response = await client.post("/api/v1/users", headers=bearer(admin), json={
        "username": username, "display_name": f"{username}医生", "password": "Jizuo@2026", "role": "doctor",
        "organization_id": org_id(code)})
    assert response.status_code == 201, response.text
    return await token_for(username)


async def scope_of(db: AsyncSession, username: str) -> AccessScope:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    return AccessScope(user_id=user.id, username=user.username, role=Role(user.role),
                       organization_id=user.organization_id, practitioner_id=user.practitioner_id)


async def up_referral(client: httpx.AsyncClient, token: str, id_number: str, **extra: Any) -> dict[str, Any]:
    body = {"id_number": id_number, "direction": "up", "type": "normal", "urgency": "urgent",
            "reason": "血压控制不佳，需上级医院调整用药", "diagnosis_code": "I10", "diagnosis_text": "原发性高血压",
            "target_organization_ids": [org_id(HOSPITAL)], **extra}
    response = await client.post(API, json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def act(client: httpx.AsyncClient, token: str, referral_id: str | uuid.UUID, action: str,
              status: int = 200, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/{referral_id}/{action}", json=body, headers=bearer(token))
    assert response.status_code == status, response.text
    return dict(response.json())
