"""Two-way referral as the people use it: a community doctor refers up, the hospital accepts, books, sees the
patient and refers them back down; the family doctor gets the follow-up task. Then every refusal."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.fhir.models import FhirResource
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.notifications.models import Notification
from tests.apps.referral.helpers import API, CENTRE, HOSPITAL, act, org_id, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def test_up_then_down_referral_closes_the_loop(client: httpx.AsyncClient, db: AsyncSession,
                                                      token_for: TokenFor) -> None:
    resident, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")

    lookup = await client.get(f"{API}/patient-lookup", params={"id_number": id_number}, headers=bearer(family))
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["patient_id"] == str(resident.id) and lookup.json()["name"] == resident.name

    created = await up_referral(client, family, id_number)
    assert created["status"] == "requested" and created["patient_name"] == resident.name
    assert created["source_organization"]["id"] == org_id(CENTRE) and created["actions"] == ["cancel"]
    assert created["expires_at"] is not None
    rid = created["id"]

    outbox = (await client.get(API, params={"box": "outbox"}, headers=bearer(family))).json()
    assert rid in [r["id"] for r in outbox["items"]]
    inbox = (await client.get(API, params={"box": "inbox", "status": "requested"}, headers=bearer(doctor))).json()
    assert rid in [r["id"] for r in inbox["items"]]
    seen = (await client.get(f"{API}/{rid}", headers=bearer(doctor))).json()
    assert set(seen["actions"]) == {"accept", "reject"}

    accepted = await act(client, doctor, rid, "accept", version=seen["version"])
    assert accepted["status"] == "accepted" and accepted["accepted_organization"]["id"] == org_id(HOSPITAL)
    scheduled = await act(client, doctor, rid, "schedule", appointment_at="2026-12-01T09:30:00+08:00",
                          appointment_place="心血管内科专家门诊 3 诊室")
    assert scheduled["status"] == "scheduled" and scheduled["appointment_at"].startswith("2026-12-01T01:30")
    await act(client, doctor, rid, "arrive")
    done = await act(client, doctor, rid, "complete", outcome="调整为氨氯地平 5mg qd，血压达标",
                     down_referral={"plan": "每周测血压两次，两周后社区随访", "reason": "病情稳定，转回社区"})
    assert done["status"] == "completed" and done["outcome"].startswith("调整")
    assert [e["to_status"] for e in done["timeline"]] == [
        "draft", "requested", "accepted", "scheduled", "arrived", "completed"]
    assert [e["actor"] for e in done["timeline"]][-1] == "doctor"

    # The down-referral: from the hospital back to the resident's community centre, with a follow-up task.
    down_list = (await client.get(API, params={"box": "inbox", "direction": "down"}, headers=bearer(family))).json()
    down = next(r for r in down_list["items"] if r["source_organization"]["id"] == org_id(HOSPITAL))
    detail = (await client.get(f"{API}/{down['id']}", headers=bearer(family))).json()
    assert detail["parent_id"] == rid and detail["plan"].startswith("每周") and len(detail["followups"]) == 1
    tasks = (await client.get(f"{API}/followups", headers=bearer(family))).json()
    assert any(t["referral_id"] == down["id"] and t["team_id"] == str(resident.signed_team_id)
               for t in tasks["items"])

    notes = (await client.get("/api/v1/notifications", headers=bearer(family))).json()
    kinds = [n["kind"] for n in notes["items"]]
    assert "referral.followup" in kinds and "referral.accept" in kinds and "referral.complete" in kinds
    first = notes["items"][0]
    read = await client.post(f"/api/v1/notifications/{first['id']}/read", headers=bearer(family))
    assert read.status_code == 200 and read.json()["read_at"] is not None

    # The FHIR mirror: a ServiceRequest and a Task with the current state.
    task = await db.scalar(select(FhirResource).where(FhirResource.res_type == "Task", FhirResource.id == rid))
    request = await db.scalar(select(FhirResource).where(FhirResource.res_type == "ServiceRequest",
                                                         FhirResource.id == rid))
    assert task is not None and task.resource["status"] == "completed"
    assert task.resource["output"][0]["valueString"].startswith("调整")
    assert request is not None and request.resource["category"][0]["coding"][0]["code"] == "3457005"
    assert request.resource["status"] == "completed"
    audited = await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.resource_id == rid, AuditEvent.action.in_(["accept", "schedule", "complete"])))
    assert audited == 3


async def test_each_forbidden_transition_is_refused_in_chinese(client: httpx.AsyncClient, db: AsyncSession,
                                                               token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    rid = (await up_referral(client, family, id_number))["id"]

    # The sender cannot take the receiver's actions, and the receiver cannot cancel.
    for action in ("accept", "reject", "schedule", "arrive", "complete"):
        refused = await act(client, family, rid, action, status=403, reason="x")
        assert refused["code"] == "not_your_side" and "接收机构" in refused["detail"]
    assert (await act(client, doctor, rid, "cancel", status=403))["detail"].startswith("只有转出机构")
    # Out of order: not yet accepted.
    for action in ("schedule", "arrive", "complete"):
        wrong = await act(client, doctor, rid, action, status=409, appointment_at="2026-12-01T09:00:00Z",
                          outcome="x")
        assert wrong["code"] == "invalid_transition" and "待接收" in wrong["detail"]
    assert (await act(client, doctor, rid, "submit", status=403))["code"] == "not_your_side"
    # Reject needs a reason; with it, the referral is final.
    assert (await act(client, doctor, rid, "reject", status=422))["code"] == "reason_required"
    rejected = await act(client, doctor, rid, "reject", reason="本院该专科床位已满，建议转中医医院")
    assert rejected["status"] == "rejected" and rejected["reject_reason"].startswith("本院")
    assert rejected["actions"] == []
    for action in ("accept", "cancel"):
        token = doctor if action == "accept" else family
        assert (await act(client, token, rid, action, status=409))["code"] == "invalid_transition"
    unknown = await client.post(f"{API}/{rid}/teleport", json={}, headers=bearer(doctor))
    assert unknown.status_code == 422

    # Schedule needs a time, complete an outcome; the sender may cancel until the patient arrives.
    rid2 = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, rid2, "accept")
    assert (await act(client, doctor, rid2, "schedule", status=422))["code"] == "appointment_required"
    await act(client, doctor, rid2, "arrive")
    assert (await act(client, doctor, rid2, "complete", status=422))["code"] == "outcome_required"
    assert (await act(client, family, rid2, "cancel", status=409))["code"] == "invalid_transition"

    rid3 = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, rid3, "accept")
    cancelled = await act(client, family, rid3, "cancel", note="患者决定暂不转诊")
    assert cancelled["status"] == "cancelled" and cancelled["timeline"][-1]["note"] == "患者决定暂不转诊"

    # A stale version from the client is refused.
    rid4 = await up_referral(client, family, id_number)
    stale = await act(client, doctor, rid4["id"], "accept", status=409, version=rid4["version"] - 1)
    assert stale["code"] == "referral_changed"


async def test_drafts_and_bad_input(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    resident, id_number = await signed_resident(db)
    family, doctor, nurse = await token_for("family_doctor"), await token_for("doctor"), await token_for("nurse")
    draft = await up_referral(client, family, id_number, submit=False)
    assert draft["status"] == "draft" and set(draft["actions"]) == {"submit", "cancel"}
    inbox = (await client.get(API, params={"box": "inbox"}, headers=bearer(doctor))).json()
    assert draft["id"] not in [r["id"] for r in inbox["items"]]  # a draft is the sender's only
    submitted = await act(client, family, draft["id"], "submit")
    assert submitted["status"] == "requested"

    by_id = await up_referral(client, family, "", patient_id=f"Patient/{resident.id}")
    assert by_id["patient_id"] == str(resident.id)

    async def refused(body: dict[str, object], status: int, code: str, token: str = family) -> None:
        base = {"id_number": id_number, "reason": "x", "target_organization_ids": [org_id(HOSPITAL)]}
        response = await client.post(API, json={**base, **body}, headers=bearer(token))
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code

    await refused({"id_number": "110101199003071234"}, 422, "invalid_id_number")
    await refused({"id_number": None}, 400, "patient_missing")
    await refused({"target_organization_ids": []}, 422, "target_missing")
    await refused({"target_organization_ids": [org_id(CENTRE)]}, 422, "target_is_self")
    await refused({"target_organization_ids": ["00000000-0000-0000-0000-000000000001"]}, 422, "target_unknown")
    await refused({"type": "palliative"}, 422, "palliative_intake_incomplete")
    await refused({}, 403, "missing_permission", token=nurse)
    palliative = await up_referral(client, family, id_number, type="palliative",
                                   details={"prognosis": "3个月内", "consent": True, "pain_score": 6})
    assert palliative["type"] == "palliative" and palliative["details"]["pain_score"] == 6
    emergency = await up_referral(client, family, id_number, type="emergency", urgency="routine")
    assert emergency["urgency"] == "stat"  # the fast path: the shortest expiry, top of the inbox
    bad = await client.post(API, json={"id_number": id_number, "reason": "x", "urgency": "soon"},
                            headers=bearer(family))
    assert bad.status_code == 422

    notes = await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "referral.requested"))
    assert notes and notes > 0
