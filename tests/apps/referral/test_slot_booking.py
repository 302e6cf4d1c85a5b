"""Slots as FHIR Schedule/Slot; the family doctor books a reserved slot with the request; only community
referrals may hold a reserved slot; a free slot can be edited or withdrawn, a booked one not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.schedule_mirror import GREEN_URL, RESERVED_URL
from jizuo.core.clock import utcnow
from tests.apps.referral.helpers import API, SECOND_HOSPITAL, act, org_id, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def publish(client: httpx.AsyncClient, token: str, **extra: Any) -> list[dict[str, Any]]:
    start = (utcnow() + timedelta(days=4)).replace(microsecond=0)
    response = await client.post(f"{API}/slots", headers=bearer(token), json={
        "start_at": start.isoformat(), "minutes": 30, "count": 2, "kind": "expert", "place": "心内科专家门诊",
        **extra})
    assert response.status_code == 201, response.text
    return list(response.json())


async def fhir_slot(client: httpx.AsyncClient, token: str, slot_id: str) -> dict[str, Any]:
    response = await client.get(f"/fhir/Slot/{slot_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_family_doctor_books_a_reserved_slot_with_the_request(client: httpx.AsyncClient, db: AsyncSession,
                                                                     token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    first, _ = await publish(client, doctor, green_channel=False)
    mirrored = await fhir_slot(client, doctor, first["id"])
    assert mirrored["status"] == "free" and mirrored["comment"].startswith("家庭医生专用")
    assert {e["url"]: e["valueBoolean"] for e in mirrored["extension"]} == {RESERVED_URL: True, GREEN_URL: False}
    schedule = (await client.get(f"/fhir/{mirrored['schedule']['reference']}", headers=bearer(doctor))).json()
    assert schedule["actor"][0]["reference"].startswith("Organization/")

    created = await up_referral(client, family, id_number, slot_id=first["id"])
    assert created["status"] == "requested" and created["appointment_place"] == "心内科专家门诊"
    assert (await fhir_slot(client, doctor, first["id"]))["status"] == "busy"
    accepted = await act(client, doctor, created["id"], "accept")
    assert accepted["status"] == "scheduled"  # accepting confirms the family doctor's booking

    # The same slot again: taken. A booked slot cannot be edited or withdrawn.
    again = await client.post(API, headers=bearer(family), json={
        "id_number": id_number, "reason": "复查", "target_organization_ids": [first["organization_id"]],
        "slot_id": first["id"]})
    assert again.status_code == 409 and again.json()["code"] == "slot_taken"
    edit = await client.patch(f"{API}/slots/{first['id']}", headers=bearer(doctor), json={"place": "别处"})
    assert edit.status_code == 409 and edit.json()["code"] == "slot_booked"
    assert (await client.post(f"{API}/slots/{first['id']}/withdraw", headers=bearer(doctor))).status_code == 409

    # Rejecting frees it again (FHIR too).
    second = await up_referral(client, family, id_number)
    cancelled = await act(client, family, created["id"], "cancel")
    assert cancelled["status"] == "cancelled"
    assert (await fhir_slot(client, doctor, first["id"]))["status"] == "free"
    rebooked = await client.post(API, headers=bearer(family), json={
        "id_number": id_number, "reason": "复查", "target_organization_ids": [first["organization_id"]],
        "slot_id": first["id"]})
    assert rebooked.status_code == 201, rebooked.text
    rejected = await act(client, doctor, rebooked.json()["id"], "reject", reason="专家停诊")
    assert rejected["status"] == "rejected"
    assert (await fhir_slot(client, doctor, first["id"]))["status"] == "free"
    assert second["status"] == "requested"


async def test_reserved_slots_are_for_community_referrals_only(client: httpx.AsyncClient, db: AsyncSession,
                                                                token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    reserved, open_slot = await publish(client, doctor)
    open_edit = await client.patch(f"{API}/slots/{open_slot['id']}", headers=bearer(doctor),
                                   json={"reserved_for_family_doctors": False})
    assert open_edit.status_code == 200 and open_edit.json()["reserved_for_family_doctors"] is False
    # A hospital referring laterally to the first hospital may not take the reserved slot, may take the other.
    from tests.apps.referral.helpers import new_doctor

    other = await new_doctor(client, token_for, SECOND_HOSPITAL, "slot_lateral")
    body = {"id_number": id_number, "direction": "lateral", "reason": "会诊",
            "target_organization_ids": [reserved["organization_id"]]}
    refused = await client.post(API, headers=bearer(other), json={**body, "slot_id": reserved["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "slot_reserved"
    assert "家庭医生" in refused.json()["detail"]
    taken = await client.post(API, headers=bearer(other), json={**body, "slot_id": open_slot["id"]})
    assert taken.status_code == 201, taken.text
    # Several targets and a slot: refused. Another institution's slot id for this target: not found.
    many = await client.post(API, headers=bearer(family), json={
        "id_number": id_number, "reason": "x", "slot_id": reserved["id"],
        "target_organization_ids": [reserved["organization_id"], org_id(SECOND_HOSPITAL)]})
    assert many.status_code == 422 and many.json()["code"] == "slot_needs_one_target"
    wrong = await client.post(API, headers=bearer(family), json={
        "id_number": id_number, "reason": "x", "slot_id": reserved["id"],
        "target_organization_ids": [org_id(SECOND_HOSPITAL)]})
    assert wrong.status_code == 404 and wrong.json()["code"] == "slot_not_found"


async def test_edit_and_withdraw_a_free_slot(client: httpx.AsyncClient, db: AsyncSession,
                                             token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    slot, _ = await publish(client, doctor)
    later = (utcnow() + timedelta(days=6)).replace(microsecond=0)
    edited = await client.patch(f"{API}/slots/{slot['id']}", headers=bearer(doctor), json={
        "start_at": later.isoformat(), "minutes": 45, "place": "二楼转诊门诊", "green_channel": True})
    assert edited.status_code == 200, edited.text
    assert edited.json()["green_channel"] is True and edited.json()["place"] == "二楼转诊门诊"
    mirrored = await fhir_slot(client, doctor, slot["id"])
    assert "绿色通道" in mirrored["comment"] and mirrored["start"].startswith(later.date().isoformat())
    assert mirrored["meta"]["versionId"] == "2"

    bad = await client.patch(f"{API}/slots/{slot['id']}", headers=bearer(doctor), json={"minutes": 1})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_slots"
    past = await client.patch(f"{API}/slots/{slot['id']}", headers=bearer(doctor),
                              json={"start_at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422 and past.json()["code"] == "slot_in_past"
    foreign = await client.patch(f"{API}/slots/{slot['id']}", headers=bearer(family), json={"place": "x"})
    assert foreign.status_code == 404  # another institution's slot

    withdrawn = await client.post(f"{API}/slots/{slot['id']}/withdraw", headers=bearer(doctor))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await fhir_slot(client, doctor, slot["id"]))["status"] == "busy-unavailable"
    seen = (await client.get(f"{API}/slots", params={"organization_id": slot["organization_id"]},
                             headers=bearer(family))).json()
    assert slot["id"] not in [s["id"] for s in seen]
    gone = await client.post(API, headers=bearer(family), json={
        "id_number": id_number, "reason": "x", "slot_id": slot["id"],
        "target_organization_ids": [slot["organization_id"]]})
    assert gone.status_code == 409 and gone.json()["code"] == "slot_withdrawn"
    twice = await client.post(f"{API}/slots/{slot['id']}/withdraw", headers=bearer(doctor))
    assert twice.status_code == 409
