"""Capacity: a hospital publishes slots; the accepting doctor books one for a referral; one slot, one patient;
a no-show frees it and counts; green-channel slots are for urgent referrals only."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from tests.apps.referral.helpers import API, HOSPITAL, act, org_id, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def test_publish_book_no_show_and_rebook(client: httpx.AsyncClient, db: AsyncSession,
                                               token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    published = await client.post(f"{API}/slots", headers=bearer(doctor), json={
        "start_at": start.isoformat(), "minutes": 20, "count": 3, "kind": "expert", "place": "心内科专家门诊"})
    assert published.status_code == 201, published.text
    first, second, _ = published.json()
    assert first["status"] == "free" and first["reserved_for_family_doctors"] is True

    seen = (await client.get(f"{API}/slots", params={"organization_id": org_id(HOSPITAL), "free": True},
                             headers=bearer(family))).json()
    assert first["id"] in [s["id"] for s in seen]

    one = (await up_referral(client, family, id_number))["id"]
    two = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, one, "accept")
    await act(client, doctor, two, "accept")
    booked = await act(client, doctor, one, "schedule", slot_id=first["id"])
    assert booked["status"] == "scheduled" and booked["appointment_place"] == "心内科专家门诊"
    taken = await act(client, doctor, two, "schedule", status=409, slot_id=first["id"])
    assert taken["code"] == "slot_taken" and "已被预约" in taken["detail"]
    others = (await client.get(f"{API}/slots", params={"organization_id": org_id(HOSPITAL)},
                               headers=bearer(family))).json()
    assert first["id"] not in [s["id"] for s in others]  # another institution sees free slots only

    missed = await act(client, doctor, one, "no_show")
    assert missed["status"] == "accepted" and missed["appointment_at"] is None
    mine = {s["id"]: s for s in (await client.get(f"{API}/slots", headers=bearer(doctor))).json()}
    assert mine[first["id"]]["status"] == "free" and mine[first["id"]]["no_shows"] == 1
    rebooked = await act(client, doctor, one, "schedule", slot_id=second["id"])
    assert rebooked["status"] == "scheduled"
    await act(client, family, one, "cancel")
    mine = {s["id"]: s for s in (await client.get(f"{API}/slots", headers=bearer(doctor))).json()}
    assert mine[second["id"]]["status"] == "free"  # a cancelled referral gives its slot back


async def test_slot_rules(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    start = (utcnow() + timedelta(days=2)).isoformat()
    green = (await client.post(f"{API}/slots", headers=bearer(doctor),
                               json={"start_at": start, "green_channel": True})).json()[0]
    normal = (await client.post(f"{API}/slots", headers=bearer(family), json={"start_at": start})).json()[0]
    rid = (await up_referral(client, family, id_number, urgency="routine"))["id"]
    await act(client, doctor, rid, "accept")
    assert (await act(client, doctor, rid, "schedule", status=409, slot_id=green["id"]))["code"] == \
        "green_channel_only"
    assert (await act(client, doctor, rid, "schedule", status=404, slot_id=normal["id"]))["code"] == \
        "slot_not_found"  # the community centre's slot, not the accepting hospital's
    urgent = (await up_referral(client, family, id_number, type="emergency"))["id"]
    await act(client, doctor, urgent, "accept")
    assert (await act(client, doctor, urgent, "schedule", slot_id=green["id"]))["status"] == "scheduled"

    past = await client.post(f"{API}/slots", headers=bearer(doctor),
                             json={"start_at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422 and past.json()["code"] == "slot_in_past"
    many = await client.post(f"{API}/slots", headers=bearer(doctor), json={"start_at": start, "count": 1000})
    assert many.status_code == 422 and many.json()["code"] == "invalid_slots"
    nurse = await token_for("nurse")
    assert (await client.post(f"{API}/slots", headers=bearer(nurse), json={"start_at": start})).status_code == 403
    assert (await act(client, doctor, rid, "no_show", status=409))["code"] == "invalid_transition"
