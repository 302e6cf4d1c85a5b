"""Referral statistics (counts only) and closing a follow-up task."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.apps.referral.helpers import API, CENTRE, HOSPITAL, act, org_id, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def test_statistics_by_institution(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    for _ in range(2):
        rid = (await up_referral(client, family, id_number))["id"]
        await act(client, doctor, rid, "accept")
        await act(client, doctor, rid, "arrive")
        await act(client, doctor, rid, "complete", outcome="好转", down_referral={"plan": "社区随访"})
    rejected = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, rejected, "reject", reason="无床位")

    regulator = await token_for("weijianwei")
    response = await client.get(f"{API}/statistics", headers=bearer(regulator))
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {r["code"]: r for r in body["institutions"]}
    centre, hospital = rows[CENTRE], rows[HOSPITAL]
    assert centre["sent_up"] >= 3 and hospital["sent_down"] >= 2 and hospital["received"] >= 2
    assert hospital["completed"] >= 2 and hospital["hours_to_accept"] is not None
    assert 0 < centre["acceptance_rate"] < 1
    assert body["down_share"] is not None and 0 < body["down_share"] < 1
    assert "patient" not in response.text  # counts only

    own = (await client.get(f"{API}/statistics", headers=bearer(doctor))).json()
    assert [r["organization_id"] for r in own["institutions"]] == [org_id(HOSPITAL)]
    bad = await client.get(f"{API}/statistics", params={"start": "2026-12-01", "end": "2026-01-01"},
                           headers=bearer(regulator))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    resident = await token_for("resident")
    assert (await client.get(f"{API}/statistics", headers=bearer(resident))).status_code == 403


async def test_family_doctor_closes_follow_up(client: httpx.AsyncClient, db: AsyncSession,
                                              token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    rid = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, rid, "accept")
    await act(client, doctor, rid, "arrive")
    await act(client, doctor, rid, "complete", outcome="好转", down_referral={"plan": "两周后随访"})
    tasks = (await client.get(f"{API}/followups", params={"status": "open"}, headers=bearer(family))).json()
    task = next(t for t in tasks["items"] if t["plan"] == "两周后随访")
    assert (await client.post(f"{API}/followups/{task['id']}/done", headers=bearer(doctor))).status_code == 404
    done = await client.post(f"{API}/followups/{task['id']}/done", headers=bearer(family))
    assert done.status_code == 200 and done.json()["status"] == "done"
    still_open = (await client.get(f"{API}/followups", params={"status": "open"}, headers=bearer(family))).json()
    assert task["id"] not in [t["id"] for t in still_open["items"]]


async def test_statistics_export_xlsx(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    import io

    from openpyxl import load_workbook

    _, id_number = await signed_resident(db)
    family = await token_for("family_doctor")
    await up_referral(client, family, id_number)
    regulator = await token_for("weijianwei")
    response = await client.get(f"{API}/statistics.xlsx", headers=bearer(regulator))
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    codes = [row[0].value for row in sheet.iter_rows(min_row=3)]
    assert CENTRE in codes
    bad = await client.get(f"{API}/statistics.xlsx", params={"start": "2026-01-10", "end": "2026-01-01"},
                           headers=bearer(regulator))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    resident = await client.get(f"{API}/statistics.xlsx", headers=bearer(await token_for("resident")))
    assert resident.status_code == 403
