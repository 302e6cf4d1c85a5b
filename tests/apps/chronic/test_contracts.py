"""Family-doctor contracts: the lifecycle (sign, draft, renew, terminate) and its rules, the contract as the
source of the "signed resident" access rule, and the signing indicators on a hand-checked cohort — including
组合内就诊率 from real Encounters posted to the FHIR store."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.apps.chronic.models import FamilyContract
from jizuo.core.clock import today_in_shanghai
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.residents.models import Resident
from tests.apps.chronic.helpers import own_resident, resident_of_other_team
from tests.conftest import TokenFor, bearer

API = "/api/v1/chronic"
FHIR = "application/fhir+json"


async def _team_people(db: AsyncSession, n: int) -> tuple[uuid.UUID, list[Resident]]:
    me, _ = await own_resident(db)
    assert me.signed_team_id is not None
    people = list((await db.scalars(select(Resident).where(Resident.signed_team_id == me.signed_team_id)
                                    .order_by(Resident.id).limit(n))).all())
    await db.execute(update(Resident).where(Resident.id.in_([p.id for p in people])).values(chronic=[]))
    await db.flush()
    return me.signed_team_id, people


async def _sign(client: httpx.AsyncClient, headers: dict[str, str], team: uuid.UUID, resident: Resident,
                **extra: object) -> httpx.Response:
    return await client.post(f"{API}/contracts", headers=headers,
                             json={"resident_id": str(resident.id), "team_id": str(team), **extra})


async def test_sign_renew_terminate_lifecycle(client: httpx.AsyncClient, db: AsyncSession,
                                              token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    team, people = await _team_people(db, 2)
    signed = await _sign(client, family, team, people[0])
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert body["status"] == "active" and body["packages"] == ["basic"] and body["price"] == 0
    assert [c["role"] for c in body["combination"]] == ["centre", "district_hospital", "city_hospital"]
    team_row = await db.get(CareTeam, team)
    assert team_row is not None and body["combination"][0]["id"] == str(team_row.organization_id)
    levels = [(await db.get(Organization, uuid.UUID(c["id"]))).level for c in body["combination"][1:]]  # type: ignore[union-attr]
    assert levels[0].startswith("2") and levels[1].startswith("3")
    assert date.fromisoformat(body["ends_on"]) - date.fromisoformat(body["starts_on"]) == timedelta(days=364)
    # FHIR mirror: an EpisodeOfCare with the same id
    episode = await client.get(f"/fhir/EpisodeOfCare/{body['id']}", headers=family)
    assert episode.status_code == 200 and episode.json()["status"] == "active"

    again = await _sign(client, family, team, people[0])
    assert again.status_code == 409 and again.json()["code"] == "contract_exists"
    early = await client.post(f"{API}/contracts/{body['id']}/renew", headers=family, json={})
    assert early.status_code == 409 and early.json()["code"] == "renewal_too_early"

    # 60 days before the end: renewal opens; the old contract closes yesterday, the new one runs from today
    await db.execute(update(FamilyContract).where(FamilyContract.id == uuid.UUID(body["id"]))
                     .values(starts_on=today_in_shanghai() - timedelta(days=305),
                             ends_on=today_in_shanghai() + timedelta(days=59)))
    await db.flush()
    renewed = await client.post(f"{API}/contracts/{body['id']}/renew", headers=family, json={})
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()
    assert new["renewed_from_id"] == body["id"] and new["status"] == "active"
    assert new["starts_on"] == today_in_shanghai().isoformat()
    old = (await client.get(f"{API}/contracts/{body['id']}", headers=family)).json()
    assert old["status"] == "expired" and old["ends_on"] == (today_in_shanghai() - timedelta(days=1)).isoformat()
    twice = await client.post(f"{API}/contracts/{body['id']}/renew", headers=family, json={})
    assert twice.status_code == 409

    no_reason = await client.post(f"{API}/contracts/{new['id']}/terminate", headers=family, json={})
    assert no_reason.status_code == 422
    ended = await client.post(f"{API}/contracts/{new['id']}/terminate", headers=family, json={"reason": "迁出本区"})
    assert ended.status_code == 200 and ended.json()["status"] == "terminated"
    # the contract is the source of the signed-resident rule: terminated → the team no longer sees the resident
    await db.refresh(people[0])
    assert people[0].signed_team_id is None
    hidden = await client.get(f"{API}/residents/{people[0].id}", headers=family)
    assert hidden.status_code == 404
    closed = await client.post(f"{API}/contracts/{new['id']}/terminate", headers=family, json={"reason": "重复"})
    assert closed.status_code == 409


async def test_draft_packages_and_reach(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    team, people = await _team_people(db, 2)
    young = people[0]
    await db.execute(update(Resident).where(Resident.id == young.id)
                     .values(birth_date=date(1990, 1, 1), chronic=["hypertension"]))
    await db.flush()
    elderly = await _sign(client, family, team, young, packages=["elderly"])
    assert elderly.status_code == 422 and elderly.json()["code"] == "package_not_allowed"
    unknown = await _sign(client, family, team, young, packages=["gold"])
    assert unknown.status_code == 422
    draft = await _sign(client, family, team, young, packages=["hypertension"], sign=False)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert draft.json()["packages"] == ["basic", "hypertension"] and draft.json()["price"] == 100
    active = await client.post(f"{API}/contracts/{draft.json()['id']}/sign", headers=family)
    assert active.status_code == 200 and active.json()["status"] == "active"
    resign = await client.post(f"{API}/contracts/{draft.json()['id']}/sign", headers=family)
    assert resign.status_code == 409
    listed = (await client.get(f"{API}/contracts", headers=family, params={"status": "active"})).json()
    assert [c["id"] for c in listed["items"]] == [draft.json()["id"]]

    other, _ = await resident_of_other_team(db, team)
    assert other.signed_team_id is not None
    foreign_team = await _sign(client, family, other.signed_team_id, other)
    assert foreign_team.status_code == 404  # not my team
    elsewhere = await _sign(client, family, team, other)
    assert elsewhere.status_code in (404, 409)  # outside my centre's area (answered as unknown), or signed elsewhere
    unknown = await client.post(f"{API}/contracts", headers=family,
                                json={"id_number": "110101199001011237", "team_id": str(team)})
    assert unknown.status_code == 404 and unknown.json()["code"] == "resident_not_found"
    bad_id = await client.post(f"{API}/contracts", headers=family,
                                json={"id_number": "110101199003070000", "team_id": str(team)})
    assert bad_id.status_code == 422 and bad_id.json()["code"] == "invalid_id_number"
    both = await client.post(f"{API}/contracts", headers=family, json={"team_id": str(team)})
    assert both.status_code == 422
    regulator = bearer(await token_for("weijianwei"))
    assert (await client.get(f"{API}/contracts", headers=regulator)).status_code == 403
    bad_hospital = await _sign(client, family, team, people[1], city_hospital_id=str(team))
    assert bad_hospital.status_code == 422 and bad_hospital.json()["code"] == "combination_invalid"


async def _encounter(client: httpx.AsyncClient, headers: dict[str, str], resident: uuid.UUID,
                     provider: uuid.UUID, day: date) -> None:
    body = {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{resident}"},
            "serviceProvider": {"reference": f"Organization/{provider}"},
            "period": {"start": f"{day.isoformat()}T09:00:00+08:00", "end": f"{day.isoformat()}T09:20:00+08:00"}}
    response = await client.post("/fhir/Encounter", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_signing_indicators_on_a_hand_checked_cohort(client: httpx.AsyncClient, db: AsyncSession,
                                                           token_for: TokenFor) -> None:
    """Three residents of the demo team signed; four Encounters of the first (two inside the combination —
    the centre and the city hospital — one at a hospital outside it, one before the contract started) and one
    of the second at the district hospital: 组合内就诊率 = 3 inside ÷ 4 counted = 75 %."""
    family = bearer(await token_for("family_doctor"))
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    team, people = await _team_people(db, 3)
    today = today_in_shanghai()
    contracts = []
    for person in people:
        response = await _sign(client, family, team, person, starts_on=(today - timedelta(days=20)).isoformat())
        assert response.status_code == 201, response.text
        contracts.append(response.json())
    centre, district, city = (uuid.UUID(c["id"]) for c in contracts[0]["combination"])
    outside = await db.scalar(select(Organization.id).where(
        Organization.type == "general_hospital", Organization.id.not_in([district, city])).limit(1))
    assert outside is not None
    first, second = people[0].id, people[1].id
    await _encounter(client, doctor, first, centre, today - timedelta(days=3))
    await _encounter(client, doctor, first, city, today - timedelta(days=2))
    await _encounter(client, doctor, first, outside, today - timedelta(days=1))
    await _encounter(client, doctor, first, centre, today - timedelta(days=25))  # before the contract: not counted
    await _encounter(client, doctor, second, district, today)
    if (today - timedelta(days=25)).year != today.year:
        return  # the early-January edge: the uncounted visit falls outside the year either way
    stats = await client.get(f"{API}/contract-indicators", headers=family,
                             params={"level": "team", "year": today.year})
    assert stats.status_code == 200, stats.text
    row = next(r for r in stats.json()["rows"] if r["key"] == str(team))
    assert row["signed"] == 3
    assert (row["encounters"], row["encounters_inside"], row["combination_visit_rate"]) == (4, 3, 0.75)
    team_row = await db.get(CareTeam, team)
    assert team_row is not None
    population = await db.scalar(select(func.count()).select_from(Resident)
                                 .join(Organization, Organization.id == Resident.home_organization_id)
                                 .where(or_(Organization.id == team_row.organization_id,
                                            Organization.parent_id == team_row.organization_id)))
    assert row["population"] == population and row["signing_rate"] == round(3 / population, 4)
    district_row = (await client.get(f"{API}/contract-indicators", headers=family,
                                     params={"level": "district", "year": today.year})).json()["rows"][0]
    total = await db.scalar(select(func.count()).select_from(Resident))
    assert district_row["signed"] == 3 and district_row["population"] == total
    assert district_row["renewal_rate"] is None  # nothing came due: "—", not 0 %


async def test_indicator_export(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    import io

    from openpyxl import load_workbook

    family = await client.get(f"{API}/indicators.xlsx", headers=bearer(await token_for("family_doctor")),
                              params={"level": "team"})
    assert family.status_code == 200, family.text
    assert family.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(family.content))
    assert book.sheetnames == ["慢病管理指标", "签约指标", "逾期未随访名单"]
    assert book["慢病管理指标"]["B2"].value == "病种"
    regulator = await client.get(f"{API}/indicators.xlsx", headers=bearer(await token_for("weijianwei")))
    assert regulator.status_code == 200
    assert load_workbook(io.BytesIO(regulator.content)).sheetnames == ["慢病管理指标", "签约指标"]  # no names
    bad = await client.get(f"{API}/indicators.xlsx", headers=bearer(await token_for("weijianwei")),
                           params={"level": "city"})
    assert bad.status_code == 422
    resident = await client.get(f"{API}/indicators.xlsx", headers=bearer(await token_for("resident")))
    assert resident.status_code == 403


async def test_expiry_unsigns_and_an_expired_contract_can_be_renewed(
        client: httpx.AsyncClient, db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        token_for: TokenFor) -> None:
    from jizuo.apps.chronic.tasks import expire_once

    family = bearer(await token_for("family_doctor"))
    team, people = await _team_people(db, 1)
    signed = (await _sign(client, family, team, people[0])).json()
    today = today_in_shanghai()
    await db.execute(update(FamilyContract).where(FamilyContract.id == uuid.UUID(signed["id"]))
                     .values(starts_on=today - timedelta(days=400), ends_on=today - timedelta(days=36)))
    await db.flush()
    listed = (await client.get(f"{API}/contracts", headers=family, params={"resident_id": str(people[0].id)})).json()
    assert listed["items"][0]["status"] == "expired"  # shown expired before the job runs
    await db.commit()
    assert await expire_once(sessionmaker) == 1  # what the server's hourly task runs
    assert await expire_once(sessionmaker) == 0
    audited = await db.scalar(select(AuditEvent.detail).where(AuditEvent.action == "expire",
                                                              AuditEvent.resource_type == "FamilyContract"))
    assert audited == {"expired": 1}
    await db.refresh(people[0])
    assert people[0].signed_team_id is None
    assert (await client.get(f"{API}/residents/{people[0].id}", headers=family)).status_code == 404
    renewed = await client.post(f"{API}/contracts/{signed['id']}/renew", headers=family, json={})
    assert renewed.status_code == 201, renewed.text
    await db.refresh(people[0])
    assert people[0].signed_team_id == team
    assert (await client.get(f"{API}/residents/{people[0].id}", headers=family)).status_code == 200


async def test_nurse_of_the_centre_and_draft_conflicts(client: httpx.AsyncClient, db: AsyncSession,
                                                      token_for: TokenFor) -> None:
    family = bearer(await token_for("family_doctor"))
    team, people = await _team_people(db, 1)
    draft = (await _sign(client, family, team, people[0], sign=False)).json()
    active = (await _sign(client, family, team, people[0])).json()
    assert active["status"] == "active"
    blocked = await client.post(f"{API}/contracts/{draft['id']}/sign", headers=family)
    assert blocked.status_code == 409 and blocked.json()["code"] == "contract_exists"
    dropped = await client.post(f"{API}/contracts/{draft['id']}/terminate", headers=family, json={"reason": "重复草稿"})
    assert dropped.status_code == 200
    await db.refresh(people[0])
    assert people[0].signed_team_id == team  # ending a draft does not unsign the resident
    teams = (await client.get(f"{API}/contract-teams", headers=family)).json()
    assert str(team) in {t["id"] for t in teams}
    # a nurse (organisation reach) sees the contracts of her centre's teams only
    from jizuo.platform.identity.models import User

    nurse_org = await db.scalar(select(User.organization_id).where(User.username == "nurse"))
    team_row = await db.get(CareTeam, team)
    assert team_row is not None
    seen = (await client.get(f"{API}/contracts", headers=bearer(await token_for("nurse")))).json()["items"]
    assert bool(seen) == (nurse_org == team_row.organization_id)
    assert all(c["combination"][0]["id"] == str(nurse_org) for c in seen)


async def test_resident_sees_own_contract(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    resident = bearer(await token_for("resident"))
    assert (await client.get(f"{API}/me/contract", headers=resident)).json() is None  # register-signed, no contract
    me, _ = await own_resident(db)
    assert me.signed_team_id is not None
    family = bearer(await token_for("family_doctor"))
    signed = await _sign(client, family, me.signed_team_id, me)
    assert signed.status_code == 201, signed.text
    mine = (await client.get(f"{API}/me/contract", headers=resident)).json()
    assert mine["id"] == signed.json()["id"] and mine["status"] == "active"
    assert mine["package_contents"]["basic"] and mine["team_name"]
    assert (await client.get(f"{API}/me/contract", headers=family)).status_code == 403


async def test_new_signing_gives_the_team_sight_of_the_resident(client: httpx.AsyncClient, db: AsyncSession,
                                                               token_for: TokenFor) -> None:
    """An unsigned resident signed (by the district admin, by 身份证) with the demo family doctor's team becomes one
    of "my residents" for that doctor — in the residents register and in chronic care — and stops being so when
    the contract is terminated."""
    from jizuo.core.security import get_field_cipher

    me, _ = await own_resident(db)
    team = me.signed_team_id
    assert team is not None
    stranger = await db.scalar(select(Resident).where(Resident.signed_team_id.is_(None)).order_by(Resident.id).limit(1))
    assert stranger is not None
    family = bearer(await token_for("family_doctor"))
    assert (await client.get(f"/api/v1/residents/{stranger.id}", headers=family)).status_code == 404
    admin = bearer(await token_for("admin"))
    signed = await client.post(f"{API}/contracts", headers=admin, json={
        "id_number": get_field_cipher().decrypt(stranger.id_number_enc), "team_id": str(team)})
    assert signed.status_code == 201, signed.text
    assert (await client.get(f"/api/v1/residents/{stranger.id}", headers=family)).status_code == 200
    assert (await client.get(f"{API}/residents/{stranger.id}", headers=family)).status_code == 200
    ended = await client.post(f"{API}/contracts/{signed.json()['id']}/terminate", headers=family,
                              json={"reason": "居民要求解约"})
    assert ended.status_code == 200
    assert (await client.get(f"/api/v1/residents/{stranger.id}", headers=family)).status_code == 404
