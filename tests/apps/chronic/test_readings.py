"""Health-station readings as a device sends them: auth, single and batch, FHIR Observations, duplicates and
implausible values kept and flagged, urgent alerts routed to the resident's own family-doctor team only."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic.models import ChronicAlert, DeviceReading
from jizuo.platform.identity.models import User
from jizuo.platform.notifications.models import Notification
from jizuo.platform.registry.models import CareTeamMember
from tests.apps.chronic.helpers import (
    bp,
    device,
    family_doctor_of,
    glucose,
    own_resident,
    post,
    resident_of_other_team,
)
from tests.conftest import TokenFor, bearer


async def test_missing_or_wrong_key_is_401(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await device(db)
    _, id_number = await own_resident(db)
    missing = await post(client, bp(id_number, 130, 80), key=None)
    assert missing.status_code == 401 and "设备密钥" in missing.json()["detail"]
    wrong = await post(client, bp(id_number, 130, 80), key="not-the-key")
    assert wrong.status_code == 401 and wrong.json()["code"] == "device_key_invalid"
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_bad_payloads_are_422_in_chinese(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await device(db)
    _, id_number = await own_resident(db)
    no_diastolic = {k: v for k, v in bp(id_number, 130, 80).items() if k != "diastolic"}
    cases = [no_diastolic, {**bp(id_number, 130, 80), "kind": "temperature"}, glucose(id_number, 5.0) | {"value": None},
             bp("110101199001011234", 130, 80), {**bp(id_number, 130, 80), "measured_at": "2026-11-25T08:00:00"},
             {"readings": []}]
    for body in cases:
        response = await post(client, body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["status"] == 422 and any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem
    assert await db.scalar(select(func.count()).select_from(DeviceReading)) == 0


async def observation(client: httpx.AsyncClient, headers: dict[str, str], observation_id: str) -> dict[str, Any]:
    response = await client.get(f"/fhir/Observation/{observation_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_reading_becomes_observation_with_device_and_station(client: httpx.AsyncClient, db: AsyncSession,
                                                                    token_for: TokenFor) -> None:
    await device(db)
    resident, id_number = await own_resident(db)
    response = await post(client, {"readings": [bp(id_number, 132, 84), glucose(id_number, 6.1),
                                                 {**glucose(id_number, 61.5), "kind": "weight"},
                                                 {**glucose(id_number, 97), "kind": "spo2"}]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["received"] == 4 and body["accepted"] == 4 and body["alerts"] == 0
    admin = bearer(await token_for("admin"))
    obs = await observation(client, admin, body["results"][0]["observation_id"])
    assert obs["code"]["coding"][0]["code"] == "85354-9"
    assert {c["code"]["coding"][0]["code"] for c in obs["component"]} >= {"8480-6", "8462-4"}
    assert obs["subject"]["reference"] == f"Patient/{resident.id}"
    assert obs["device"]["identifier"]["value"] == "TEST-BP-1" and obs["performer"][0]["reference"].startswith(
        "Organization/")
    assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
    glucose_obs = await observation(client, admin, body["results"][1]["observation_id"])
    assert glucose_obs["code"]["coding"][0]["code"] == "1558-6"
    assert glucose_obs["category"][0]["coding"][0]["code"] == "laboratory"


async def test_duplicate_and_implausible_are_kept_and_flagged(client: httpx.AsyncClient, db: AsyncSession,
                                                                token_for: TokenFor) -> None:
    await device(db)
    _, id_number = await own_resident(db)
    reading = bp(id_number, 130, 80)
    first = (await post(client, reading)).json()["results"][0]
    again = (await post(client, {"readings": [reading, bp(id_number, 350, 80)]})).json()
    duplicate, implausible = again["results"]
    assert duplicate["flags"] == ["duplicate"] and duplicate["status"] == "flagged"
    assert duplicate["observation_id"] == first["observation_id"]
    assert implausible["flags"] == ["out_of_range"] and implausible["alerts"] == 0
    assert await db.scalar(select(func.count()).select_from(DeviceReading)) == 3
    obs = await observation(client, bearer(await token_for("admin")), implausible["observation_id"])
    assert obs["status"] == "preliminary"
    assert await db.scalar(select(func.count()).select_from(ChronicAlert)) == 0


async def test_unknown_resident_is_kept_flagged(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await device(db)
    response = await post(client, bp("11010519491231002X", 130, 80))
    assert response.status_code == 201, response.text
    result = response.json()["results"][0]
    assert result["flags"] == ["unknown_resident"] and result["observation_id"] is None


async def test_urgent_alert_goes_to_own_team_only(client: httpx.AsyncClient, db: AsyncSession,
                                                  token_for: TokenFor) -> None:
    await device(db)
    resident, id_number = await own_resident(db)
    other_resident, other_id_number = await resident_of_other_team(db, resident.signed_team_id)  # type: ignore[arg-type]
    assert other_resident.signed_team_id is not None
    await family_doctor_of(db, other_resident.signed_team_id, "fd_other")

    below = await post(client, {"readings": [bp(id_number, 179, 109), glucose(id_number, 16.6),
                                             glucose(id_number, 4.0, kind="glucose_random")]})
    assert below.json()["alerts"] == 0
    above = await post(client, {"readings": [bp(id_number, 180, 100), glucose(other_id_number, 3.9)]})
    assert above.status_code == 201 and above.json()["alerts"] == 2

    mine = (await client.get("/api/v1/chronic/alerts", headers=bearer(await token_for("family_doctor")))).json()
    assert [a["resident_id"] for a in mine["items"]] == [str(resident.id)]
    assert mine["items"][0]["kind"] == "bp_high" and "180" in mine["items"][0]["message"]
    theirs = (await client.get("/api/v1/chronic/alerts", headers=bearer(await token_for("fd_other")))).json()
    assert [a["resident_id"] for a in theirs["items"]] == [str(other_resident.id)]
    assert theirs["items"][0]["kind"] == "glucose_low"

    # The notification reached the family doctor's account and no one outside the team.
    family = await db.scalar(select(User).where(User.username == "family_doctor"))
    assert family is not None
    notes = (await db.scalars(select(Notification).where(Notification.kind == "chronic_alert"))).all()
    team_members = set((await db.scalars(select(CareTeamMember.practitioner_id).where(
        CareTeamMember.team_id == resident.signed_team_id))).all())
    own_notes = [n for n in notes if resident.name in n.title]
    assert family.id in {n.recipient_user_id for n in own_notes}
    member_users = set((await db.scalars(select(User.id).where(User.practitioner_id.in_(team_members)))).all())
    assert {n.recipient_user_id for n in own_notes if n.recipient_user_id} <= member_users
    assert {n.recipient_practitioner_id for n in own_notes if n.recipient_practitioner_id} <= team_members

    regulator = await client.get("/api/v1/chronic/alerts", headers=bearer(await token_for("weijianwei")))
    assert regulator.status_code == 403


async def test_acknowledge_and_one_click_referral(client: httpx.AsyncClient, db: AsyncSession,
                                                  token_for: TokenFor) -> None:
    await device(db)
    _, id_number = await own_resident(db)
    await post(client, bp(id_number, 190, 115))
    family = bearer(await token_for("family_doctor"))
    alert = (await client.get("/api/v1/chronic/alerts", params={"status": "open"}, headers=family)).json()["items"][0]
    referred = await client.post(f"/api/v1/chronic/alerts/{alert['id']}/refer", json={}, headers=family)
    assert referred.status_code == 201, referred.text
    referral = await client.get(f"/api/v1/referrals/{referred.json()['referral_id']}", headers=family)
    assert referral.status_code == 200 and referral.json()["status"] == "draft"
    assert referral.json()["urgency"] == "urgent"
    twice = await client.post(f"/api/v1/chronic/alerts/{alert['id']}/refer", json={}, headers=family)
    assert twice.status_code == 409

    await post(client, bp(id_number, 200, 100, at=None, pulse=90))
    second = (await client.get("/api/v1/chronic/alerts", params={"status": "open"}, headers=family)).json()["items"][0]
    done = await client.post(f"/api/v1/chronic/alerts/{second['id']}/acknowledge", headers=family)
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    other = await client.post(f"/api/v1/chronic/alerts/{second['id']}/acknowledge",
                              headers=bearer(await token_for("doctor")))
    assert other.status_code == 403  # a hospital doctor has no chronic-care role
