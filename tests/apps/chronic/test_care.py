"""Chronic care per the specification: registration, follow-up plans and forms, overdue list, the workbench,
and the indicators on a small cohort checked by hand (the expected numbers are worked out in the comments)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.platform.residents.models import Resident
from tests.apps.chronic.helpers import bp, device, own_resident, post, resident_of_other_team
from tests.conftest import TokenFor, bearer

API = "/api/v1/chronic"
YEAR = utcnow().year - 1  # a whole past year: every planned date is due, every visit date is in the past


async def _cohort(db: AsyncSession) -> tuple[uuid.UUID, list[Resident]]:
    """Six residents of the demo family doctor's team: four with hypertension, two with type 2 diabetes; every
    other resident of the team has no chronic disease on record."""
    me, _ = await own_resident(db)
    team = me.signed_team_id
    assert team is not None
    people = list((await db.scalars(select(Resident).where(Resident.signed_team_id == team)
                                    .order_by(Resident.id).limit(6))).all())
    assert len(people) == 6
    await db.execute(update(Resident).where(Resident.signed_team_id == team).values(chronic=[]))
    for n, person in enumerate(people):
        await db.execute(update(Resident).where(Resident.id == person.id)
                         .values(chronic=["hypertension"] if n < 4 else ["diabetes_t2"]))
    await db.flush()
    return team, people


async def _register(client: httpx.AsyncClient, headers: dict[str, str], resident: Resident, disease: str) -> str:
    response = await client.post(f"{API}/patients", headers=headers, json={
        "resident_id": str(resident.id), "disease": disease, "registered_on": f"{YEAR}-01-01"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _visit(client: httpx.AsyncClient, headers: dict[str, str], patient: str, month: int, day: int,
                 **values: float) -> dict[str, object]:
    response = await client.post(f"{API}/patients/{patient}/followups", headers=headers,
                                 json={"done_on": date(YEAR, month, day).isoformat(), **values})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_registration_plans_four_followups_and_refuses_others(client: httpx.AsyncClient, db: AsyncSession,
                                                                    token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    _, people = await _cohort(db)
    patient = await _register(client, family, people[0], "hypertension")
    plan = (await client.get(f"{API}/patients/{patient}/followups", headers=family)).json()
    assert [f["due_on"] for f in plan] == [f"{YEAR}-01-01", f"{YEAR}-04-02", f"{YEAR}-07-02", f"{YEAR}-10-01"]
    again = await client.post(f"{API}/patients", headers=family,
                              json={"resident_id": str(people[0].id), "disease": "hypertension"})
    assert again.status_code == 409
    other, _ = await resident_of_other_team(db, people[0].signed_team_id)  # type: ignore[arg-type]
    foreign = await client.post(f"{API}/patients", headers=family,
                                json={"resident_id": str(other.id), "disease": "hypertension"})
    assert foreign.status_code == 404
    bad = await client.post(f"{API}/patients", headers=family,
                            json={"resident_id": str(people[0].id), "disease": "asthma"})
    assert bad.status_code == 422
    no_bp = await client.post(f"{API}/patients/{patient}/followups", headers=family,
                              json={"done_on": f"{YEAR}-02-01"})
    assert no_bp.status_code == 422 and no_bp.json()["code"] == "followup_bp_missing"


async def test_uncontrolled_visit_plans_recheck_in_two_weeks(client: httpx.AsyncClient, db: AsyncSession,
                                                            token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    _, people = await _cohort(db)
    patient = await _register(client, family, people[0], "hypertension")
    visit = await _visit(client, family, patient, 1, 10, systolic=150, diastolic=95)
    assert visit["classification"] == "unsatisfied" and visit["due_on"] == f"{YEAR}-01-01"
    plan = (await client.get(f"{API}/patients/{patient}/followups", headers=family)).json()
    recheck = [f for f in plan if f["reason"] == "uncontrolled_recheck"]
    assert [f["due_on"] for f in recheck] == [f"{YEAR}-01-24"] and recheck[0]["status"] == "planned"


async def test_indicators_on_a_hand_checked_cohort(client: httpx.AsyncClient, db: AsyncSession,
                                                  token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    team, people = await _cohort(db)
    a, b, c = [await _register(client, family, p, "hypertension") for p in people[:3]]  # people[3]: unmanaged
    d, _e = [await _register(client, family, p, "diabetes_t2") for p in people[4:]]
    # A: four controlled visits, one per planned quarter → standardised, controlled; 4 due, 4 done.
    for month in (1, 4, 7, 10):
        await _visit(client, family, a, month, 10, systolic=130, diastolic=80)
    # B: controlled in January; uncontrolled in October (completes the overdue April plan, adds a recheck on
    # Oct 24) → not standardised, latest visit uncontrolled; 5 due (4 + recheck), 2 done.
    await _visit(client, family, b, 1, 10, systolic=128, diastolic=78)
    await _visit(client, family, b, 10, 10, systolic=150, diastolic=95)
    # C: no visit → 4 due, 0 done.  D: one controlled glucose visit → 4 due, 1 done.  E: nothing → 4 due.
    await _visit(client, family, d, 3, 1, fasting_glucose=6.5)

    response = await client.get(f"{API}/indicators", params={"level": "team", "year": YEAR}, headers=family)
    assert response.status_code == 200, response.text
    rows = {r["disease"]: r for r in response.json()["rows"] if r["key"] == str(team)}
    htn, dm = rows["hypertension"], rows["diabetes_t2"]
    assert (htn["known_patients"], htn["managed"], htn["standardized"], htn["controlled"]) == (4, 3, 1, 1)
    assert (htn["followups_due"], htn["followups_done"]) == (13, 6)
    assert htn["management_rate"] == 0.75 and htn["standardized_rate"] == 0.3333
    assert htn["control_rate"] == 0.3333 and htn["followup_completion"] == 0.4615
    assert (dm["known_patients"], dm["managed"], dm["standardized"], dm["controlled"]) == (2, 2, 0, 1)
    assert (dm["followups_due"], dm["followups_done"]) == (8, 1)
    assert dm["management_rate"] == 1.0 and dm["standardized_rate"] == 0.0 and dm["control_rate"] == 0.5
    assert dm["followup_completion"] == 0.125

    district = (await client.get(f"{API}/indicators", params={"year": YEAR}, headers=family)).json()["rows"]
    managed = {r["disease"]: r["managed"] for r in district if r["disease"] != "copd"}  # no COPD registered
    assert managed == {"hypertension": 3, "diabetes_t2": 2}
    centre = (await client.get(f"{API}/indicators", params={"level": "centre", "year": YEAR},
                               headers=family)).json()["rows"]
    assert sum(r["managed"] for r in centre) == 5

    overdue = (await client.get(f"{API}/overdue", headers=family)).json()
    late = {row["patient_id"] for row in overdue}
    assert {b, c, d} <= late and a not in late
    bad_year = await client.get(f"{API}/indicators", params={"year": 1900}, headers=family)
    assert bad_year.status_code == 422


async def test_workbench_tasks_and_resident_detail(client: httpx.AsyncClient, db: AsyncSession,
                                                   token_for: TokenFor) -> None:
    await device(db)
    family = bearer(await token_for("family_doctor"))
    resident, id_number = await own_resident(db)
    await db.execute(update(Resident).where(Resident.id == resident.id).values(chronic=["hypertension"]))
    patient = await _register(client, family, resident, "hypertension")
    await post(client, {"readings": [bp(id_number, 150, 92), bp(id_number, 185, 100, pulse=80)]})

    tasks = (await client.get(f"{API}/tasks/today", headers=family)).json()
    assert patient in {t["patient_id"] for t in tasks["followups"]}
    assert tasks["open_alerts"] >= 1 and tasks["alerts"][0]["resident_id"] == str(resident.id)
    mine = (await client.get(f"{API}/patients", headers=family)).json()
    row = next(p for p in mine["items"] if p["id"] == patient)
    assert "open_alert" in row["risk_flags"] and row["open_alerts"] == 1

    detail = await client.get(f"{API}/residents/{resident.id}", headers=family)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert [r["systolic"] for r in body["readings"]] == [150, 185] and body["patients"][0]["id"] == patient
    other = await client.get(f"{API}/residents/{resident.id}", headers=bearer(await token_for("doctor")))
    assert other.status_code == 403  # a hospital doctor has no chronic-care role


async def test_resident_sees_own_readings_and_team_only(client: httpx.AsyncClient, db: AsyncSession,
                                                        token_for: TokenFor) -> None:
    await device(db)
    resident, id_number = await own_resident(db)
    await post(client, {"readings": [bp(id_number, 184, 100)]})
    mine = await client.get(f"{API}/me", headers=bearer(await token_for("resident")))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["name"] == resident.name and body["team"]["members"]
    assert [r["systolic"] for r in body["readings"]] == [184] and body["alerts"][0]["kind"] == "bp_high"
    staff = await client.get(f"{API}/me", headers=bearer(await token_for("family_doctor")))
    assert staff.status_code == 403
    no_access = await client.get(f"{API}/patients", headers=bearer(await token_for("resident")))
    assert no_access.status_code == 403
