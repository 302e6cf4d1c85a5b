"""COPD: GOLD grade and group at their edges, registration with a half-yearly plan, assessments through the
API (good and bad), the exacerbation classification of a follow-up, and the SpO2 < 90 % alert."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import rules
from jizuo.apps.chronic.copd import gold_grade, gold_group
from jizuo.core.clock import utcnow
from jizuo.platform.residents.models import Resident
from tests.apps.chronic.helpers import device, own_resident, post
from tests.conftest import TokenFor, bearer

API = "/api/v1/chronic"


@pytest.mark.parametrize(("fev1", "grade"), [(80, 1), (79.9, 2), (50, 2), (49.9, 3), (30, 3), (29.9, 4),
                                             (None, None)])
def test_gold_grade_edges(fev1: float | None, grade: int | None) -> None:
    assert gold_grade(fev1) == grade


@pytest.mark.parametrize(("mmrc", "cat", "exac", "hosp", "group"), [
    (1, 9, 1, 0, "A"), (2, None, 0, 0, "B"), (None, 10, 0, 0, "B"), (0, 5, 2, 0, "E"), (0, 5, 0, 1, "E"),
    (None, None, 0, 0, None)])
def test_gold_group(mmrc: int | None, cat: int | None, exac: int, hosp: int, group: str | None) -> None:
    assert gold_group(mmrc, cat, exac, hosp) == group


def test_spo2_alert_threshold() -> None:
    assert rules.urgent_alarms("spo2", value=90) == []
    assert [a.kind for a in rules.urgent_alarms("spo2", value=89)] == ["spo2_low"]
    assert rules.classify_visit("copd", None, None, None, exacerbation=True) == "unsatisfied"
    assert rules.classify_visit("copd", None, None, None) == "satisfied"


async def test_copd_registration_assessment_and_followup(client: httpx.AsyncClient, db: AsyncSession,
                                                         token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    me, _ = await own_resident(db)
    await db.execute(update(Resident).where(Resident.id == me.id).values(chronic=["copd"]))
    await db.flush()
    registered = await client.post(f"{API}/patients", headers=family,
                                   json={"resident_id": str(me.id), "disease": "copd", "registered_on": "2026-01-05"})
    assert registered.status_code == 201, registered.text
    patient = registered.json()["id"]
    plan = (await client.get(f"{API}/patients/{patient}/followups", headers=family)).json()
    assert [f["due_on"] for f in plan] == ["2026-01-05", "2026-07-06"]  # half-yearly
    today = utcnow().date().isoformat()
    good = await client.post(f"{API}/patients/{patient}/copd-assessments", headers=family, json={
        "assessed_on": today, "fev1_pct": 45, "fev1_fvc": 0.55, "mmrc": 2, "cat": 18, "exacerbations": 1})
    assert good.status_code == 201, good.text
    assert (good.json()["gold_grade"], good.json()["gold_group"]) == (3, "B")
    empty = await client.post(f"{API}/patients/{patient}/copd-assessments", headers=family,
                              json={"assessed_on": today})
    assert empty.status_code == 422 and empty.json()["code"] == "copd_assessment_empty"
    ratio = await client.post(f"{API}/patients/{patient}/copd-assessments", headers=family,
                              json={"assessed_on": today, "fev1_pct": 60, "fev1_fvc": 0.72})
    assert ratio.status_code == 422 and ratio.json()["code"] == "copd_ratio_not_obstructive"
    out_of_range = await client.post(f"{API}/patients/{patient}/copd-assessments", headers=family,
                                     json={"assessed_on": today, "mmrc": 5})
    assert out_of_range.status_code == 422
    listed = (await client.get(f"{API}/patients/{patient}/copd-assessments", headers=family)).json()
    assert len(listed) == 1
    visit = await client.post(f"{API}/patients/{patient}/followups", headers=family,
                              json={"done_on": "2026-01-06", "exacerbation": True})
    assert visit.status_code == 201 and visit.json()["classification"] == "unsatisfied"
    nurse = bearer(await token_for("weijianwei"))
    assert (await client.get(f"{API}/patients/{patient}/copd-assessments", headers=nurse)).status_code == 403


async def test_spo2_below_90_alerts_the_team(client: httpx.AsyncClient, db: AsyncSession,
                                             token_for: TokenFor) -> None:
    await device(db)
    _, id_number = await own_resident(db)
    at = utcnow().replace(microsecond=0).isoformat()
    low = await post(client, {"id_number": id_number, "kind": "spo2", "measured_at": at, "value": 89})
    edge = await post(client, {"id_number": id_number, "kind": "spo2", "measured_at": at, "value": 90})
    assert low.json()["alerts"] == 1 and edge.json()["alerts"] == 0
    alerts = (await client.get(f"{API}/alerts", headers=bearer(await token_for("family_doctor")),
                               params={"status": "open"})).json()["items"]
    assert any(a["kind"] == "spo2_low" for a in alerts)
