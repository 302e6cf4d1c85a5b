"""Who may see a referral: the sending institution, the candidates until one accepts, then the accepting one."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.apps.referral.helpers import API, OTHER_CENTRE, act, new_doctor, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def test_unrelated_institution_cannot_read_or_act(client: httpx.AsyncClient, db: AsyncSession,
                                                         token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family = await token_for("family_doctor")
    rid = (await up_referral(client, family, id_number))["id"]
    stranger = await new_doctor(client, token_for, OTHER_CENTRE, "other.centre.doc")

    read = await client.get(f"{API}/{rid}", headers=bearer(stranger))
    assert read.status_code == 404 and read.json()["detail"] == "转诊不存在或您无权查看"
    assert (await act(client, stranger, rid, "accept", status=404))["code"] == "referral_not_found"
    for box in ("inbox", "outbox", "all"):
        listed = (await client.get(API, params={"box": box}, headers=bearer(stranger))).json()
        assert rid not in [r["id"] for r in listed["items"]]
    elsewhere = {"box": "inbox", "organization_id": "00000000-0000-0000-0000-000000000001"}
    other_org = await client.get(API, params=elsewhere, headers=bearer(stranger))
    assert other_org.status_code == 403

    regulator = await token_for("weijianwei")
    assert (await client.get(f"{API}/{rid}", headers=bearer(regulator))).status_code == 403
    resident = await token_for("resident")
    assert (await client.get(API, headers=bearer(resident))).status_code == 403
    admin = await token_for("admin")
    assert (await client.get(f"{API}/{rid}", headers=bearer(admin))).status_code == 200
    assert (await client.get(f"{API}/{rid}")).status_code == 401
