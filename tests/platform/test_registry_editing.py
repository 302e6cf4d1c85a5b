"""Editing the registry: institutions, departments, practitioners and teams, each change kept in the history,
audited, and written through to the FHIR store (mCSD-style) in the same transaction."""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.config import get_settings
from jizuo.core.idcard import make_id_number, make_uscc
from jizuo.core.security import get_field_cipher
from jizuo.platform.demo.clinical import registry_resources
from jizuo.platform.demo.generator import build_structure
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.registry.fhir_mapping import (
    DEPARTMENT_SYSTEM,
    ORG_CODE_SYSTEM,
    ORG_LEVEL_SYSTEM,
    TEAM_ROLE_SYSTEM,
    location_id,
    practitioner_role_id,
)
from jizuo.platform.registry.mirror import whole_registry
from tests.conftest import TokenFor, bearer

ORGS = "/api/v1/organizations"
CENTRE = "JC-C001"


def uscc(seed: int = 7) -> str:
    return make_uscc(random.Random(seed), "310199")


async def org_by_code(client: httpx.AsyncClient, token: str, code: str) -> dict[str, Any]:
    found = (await client.get(ORGS, params={"q": code}, headers=bearer(token))).json()["items"]
    return next(o for o in found if o["code"] == code)


async def fhir(client: httpx.AsyncClient, token: str, path: str) -> dict[str, Any]:
    response = await client.get(f"/fhir/{path}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def fhir_matches(client: httpx.AsyncClient, token: str, query: str) -> list[dict[str, Any]]:
    bundle = await fhir(client, token, query)
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


async def new_station(client: httpx.AsyncClient, admin: str, code: str = "JC-S901", **extra: Any) -> dict[str, Any]:
    centre = await org_by_code(client, admin, CENTRE)
    body = {"code": code, "name": "江川区测试社区卫生服务站", "short_name": "测试站", "level": "station",
            "type": "community_station", "parent_id": centre["id"], "uscc": uscc(), "address": "申江市江川区测试路1号",
            "phone": "021-60000001", "latitude": 31.02, "longitude": 121.35, **extra}
    created = await client.post(ORGS, json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    return dict(created.json())


# --- institutions ---------------------------------------------------------------------------------------

async def test_admin_creates_a_station_and_it_is_in_fhir_at_once(client: httpx.AsyncClient,
                                                                token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    station = await new_station(client, admin, code=" jc-s901 ")
    assert station["code"] == "JC-S901" and station["version"] == 1 and station["parent_name"].endswith("中心")

    org = await fhir(client, doctor, f"Organization/{station['id']}")
    assert {"use": "official", "system": ORG_CODE_SYSTEM, "value": "JC-S901"} in org["identifier"]
    assert any(i["value"] == station["uscc"] for i in org["identifier"])
    level = next(t for t in org["type"] if t["coding"][0]["system"] == ORG_LEVEL_SYSTEM)
    assert level["coding"][0]["code"] == "station" and level["text"] == "社区卫生服务站"
    assert org["partOf"]["reference"] == f"Organization/{station['parent_id']}" and org["active"] is True
    found = await fhir_matches(client, doctor, f"Organization?identifier={ORG_CODE_SYSTEM}|JC-S901")
    assert [o["id"] for o in found] == [station["id"]]
    location = await fhir(client, doctor, f"Location/{location_id(uuid.UUID(station['id']))}")
    assert location["managingOrganization"]["reference"] == f"Organization/{station['id']}"
    assert location["position"] == {"longitude": 121.35, "latitude": 31.02}
    assert location["address"]["text"] == "申江市江川区测试路1号"


async def test_edit_needs_the_version_read_and_stale_edits_are_refused(client: httpx.AsyncClient,
                                                                       token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    station = await new_station(client, admin)
    url = f"{ORGS}/{station['id']}"
    updated = await client.patch(url, json={"phone": "021-60000002", "version": 1}, headers=bearer(admin))
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["phone"] == "021-60000002"
    assert updated.headers["ETag"] == 'W/"2"'

    stale = await client.patch(url, json={"phone": "021-69999999", "version": 1}, headers=bearer(admin))
    assert stale.status_code == 412 and "已被他人修改" in stale.json()["detail"]
    assert stale.headers["ETag"] == 'W/"2"'
    missing = await client.patch(url, json={"phone": "021-69999999"}, headers=bearer(admin))
    assert missing.status_code == 428 and missing.json()["errors"][0]["field"] == "version"
    by_header = await client.patch(url, json={"address": "申江市江川区测试路2号"},
                                   headers={**bearer(admin), "If-Match": 'W/"2"'})
    assert by_header.status_code == 200 and by_header.json()["version"] == 3

    org = await fhir(client, doctor, f"Organization/{station['id']}")
    assert org["telecom"][0]["value"] == "021-60000002" and org["meta"]["versionId"] == "3"
    unchanged = await client.patch(url, json={"phone": "021-60000002", "version": 3}, headers=bearer(admin))
    assert unchanged.json()["version"] == 3  # nothing changed: no new version, no history row


async def test_each_change_is_in_the_history_with_before_and_after(client: httpx.AsyncClient, db: AsyncSession,
                                                                  token_for: TokenFor) -> None:
    admin = await token_for("admin")
    station = await new_station(client, admin)
    await client.patch(f"{ORGS}/{station['id']}", json={"phone": "021-60000002", "version": 1},
                       headers=bearer(admin))
    changes = (await client.get("/api/v1/registry/changes", params={"entity_type": "organization",
                                                                      "entity_id": station["id"]},
                                headers=bearer(admin))).json()
    assert changes["total"] == 2
    update, create = changes["items"]
    assert update["action"] == "update" and update["changed"] == ["phone"]
    assert update["before"] == {"phone": "021-60000001"} and update["after"]["phone"] == "021-60000002"
    assert update["after"]["name"] == "江川区测试社区卫生服务站"  # the whole row after the change
    assert create["action"] == "create" and create["before"] is None and update["actor_username"] == "admin"
    assert update["request_id"]
    by_org = (await client.get("/api/v1/registry/changes", params={"organization_id": station["id"]},
                               headers=bearer(await token_for("weijianwei")))).json()
    assert by_org["total"] == 2
    audit = (await client.get("/api/v1/audit", params={"resource_type": "Organization", "resource_id": station["id"]},
                              headers=bearer(admin))).json()["items"]
    actions = {(a["action"], (a["detail"] or {}).get("via")) for a in audit}
    # The registry change itself, and the FHIR write-through of the Organization, both audited.
    assert ("update", None) in actions and ("update", "registry") in actions and ("create", None) in actions
    rows = (await db.execute(text("SELECT count(*) FROM registry_change WHERE entity_id = :id"),
                             {"id": station["id"]})).scalar()
    assert rows == 2


async def test_codes_are_stable_and_bad_input_is_explained(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    station = await new_station(client, admin)
    url = f"{ORGS}/{station['id']}"
    renamed = await client.patch(url, json={"code": "JC-S902", "version": 1}, headers=bearer(admin))
    assert renamed.status_code == 422 and renamed.json()["errors"][0]["field"] == "code"
    assert "不可修改" in renamed.json()["detail"]
    same = await client.patch(url, json={"code": "JC-S901", "name": "改名站", "version": 1}, headers=bearer(admin))
    assert same.status_code == 200  # sending the unchanged code is harmless

    bad = await client.post(ORGS, json={"code": "JC-S903", "name": "站", "level": "5A", "type": "spa",
                                        "uscc": "12310199000000000X"}, headers=bearer(admin))
    assert bad.status_code == 422
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert "统一社会信用代码" in fields["uscc"] and "级别" in fields["level"] and "类型" in fields["type"]
    duplicate = await client.post(ORGS, json={"code": "JC-H001", "name": "重复", "level": "1",
                                              "type": "general_hospital"}, headers=bearer(admin))
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "code"
    orphan = await client.post(ORGS, json={"code": "JC-S904", "name": "孤站", "level": "station",
                                           "type": "community_station"}, headers=bearer(admin))
    assert orphan.status_code == 422 and orphan.json()["code"] == "station_needs_centre"
    blank = await client.patch(url, json={"name": "  ", "version": 2}, headers=bearer(admin))
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "name"
    cleared = await client.patch(url, json={"level": None, "version": 2}, headers=bearer(admin))
    assert cleared.status_code == 422 and cleared.json()["code"] == "required_field"


async def test_parents_cannot_form_a_cycle(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    centre = await org_by_code(client, admin, CENTRE)
    station = await new_station(client, admin)
    url = f"{ORGS}/{centre['id']}"
    below = await client.patch(url, json={"parent_id": station["id"], "version": centre["version"]},
                               headers=bearer(admin))
    assert below.status_code == 422 and below.json()["code"] == "parent_cycle"
    assert below.json()["errors"][0]["field"] == "parent_id"
    itself = await client.patch(url, json={"parent_id": centre["id"], "version": centre["version"]},
                                headers=bearer(admin))
    assert itself.status_code == 422 and itself.json()["code"] == "parent_cycle"
    unknown = await client.patch(url, json={"parent_id": str(stable_id("org", "nope")), "version": 1},
                                 headers=bearer(admin))
    assert unknown.status_code == 422 and unknown.json()["code"] == "parent_not_found"
    retyped = await client.patch(url, json={"type": "general_hospital", "level": "1", "version": 1},
                                 headers=bearer(admin))
    assert retyped.status_code == 422 and retyped.json()["code"] == "centre_has_stations"


async def test_deactivation_keeps_the_row_and_tells_fhir(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    station = await new_station(client, admin)
    centre = await org_by_code(client, admin, CENTRE)
    busy = await client.post(f"{ORGS}/{centre['id']}/deactivate", json={"version": centre["version"]},
                             headers=bearer(admin))
    assert busy.status_code == 409 and "下属机构" in busy.json()["detail"]
    done = await client.post(f"{ORGS}/{station['id']}/deactivate", headers={**bearer(admin), "If-Match": '"1"'})
    assert done.status_code == 200 and done.json()["active"] is False and done.json()["version"] == 2
    assert (await client.get(f"{ORGS}/{station['id']}", headers=bearer(admin))).json()["active"] is False
    org = await fhir(client, doctor, f"Organization/{station['id']}")
    assert org["active"] is False
    location = await fhir(client, doctor, f"Location/{location_id(uuid.UUID(station['id']))}")
    assert location["status"] == "inactive"
    history = (await client.get("/api/v1/registry/changes", params={"entity_id": station["id"]},
                                headers=bearer(admin))).json()["items"]
    assert history[0]["action"] == "deactivate" and history[0]["before"] == {"active": True}


# --- who may edit what ----------------------------------------------------------------------------------

async def test_institution_admin_edits_only_their_own_institution(client: httpx.AsyncClient,
                                                                  token_for: TokenFor) -> None:
    admin, hosp_admin = await token_for("admin"), await token_for("hosp_admin")
    own = await org_by_code(client, admin, "JC-H001")
    other = await org_by_code(client, admin, "JC-H002")
    phone = await client.patch(f"{ORGS}/{own['id']}", json={"phone": "021-61111111", "short_name": "区中心",
                                                           "version": own["version"]}, headers=bearer(hosp_admin))
    assert phone.status_code == 200, phone.text
    level = await client.patch(f"{ORGS}/{own['id']}", json={"level": "3B", "version": own["version"] + 1},
                               headers=bearer(hosp_admin))
    assert level.status_code == 403 and "地址、电话和简称" in level.json()["detail"]
    elsewhere = await client.patch(f"{ORGS}/{other['id']}", json={"phone": "021-61111111", "version": 1},
                                   headers=bearer(hosp_admin))
    assert elsewhere.status_code == 403 and "本机构" in elsewhere.json()["detail"]
    create = await client.post(ORGS, json={"code": "JC-X001", "name": "新机构", "level": "1",
                                           "type": "general_hospital"}, headers=bearer(hosp_admin))
    assert create.status_code == 403 and create.json()["detail"] == "只有区级管理员可以新建机构"
    staff = {"code": "T900001", "name": "林晓", "gender": "female", "role": "nurse"}
    mine = await client.post("/api/v1/practitioners", json={**staff, "organization_id": own["id"]},
                             headers=bearer(hosp_admin))
    assert mine.status_code == 201, mine.text
    theirs = await client.post("/api/v1/practitioners", json={**staff, "code": "T900002",
                                                              "organization_id": other["id"]},
                               headers=bearer(hosp_admin))
    assert theirs.status_code == 403
    dept = await client.post(f"{ORGS}/{other['id']}/departments", json={"code": "JC-H002-ZZ", "name": "测试科"},
                             headers=bearer(hosp_admin))
    assert dept.status_code == 403
    doctor = await client.patch(f"{ORGS}/{own['id']}", json={"phone": "021-62222222", "version": 2},
                                headers=bearer(await token_for("doctor")))
    assert doctor.status_code == 403 and "无权" in doctor.json()["detail"]


# --- departments, practitioners, teams ------------------------------------------------------------------

async def test_practitioner_with_encrypted_identity_and_role_in_fhir(client: httpx.AsyncClient, db: AsyncSession,
                                                                    token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    hospital = await org_by_code(client, admin, "JC-H001")
    dept = await client.post(f"{ORGS}/{hospital['id']}/departments", json={"code": "jc-h001-gm", "name": "全科医学科"},
                             headers=bearer(admin))
    assert dept.status_code == 201 and dept.json()["code"] == "JC-H001-GM"
    id_number = make_id_number("310199", date(1988, 3, 14), 121, "male")
    body = {"code": "T900010", "name": "欧阳建国", "gender": "male", "id_number": id_number, "phone": "13900001111",
            "organization_id": hospital["id"], "department_id": dept.json()["id"], "title": "主治医师",
            "role": "doctor"}
    created = await client.post("/api/v1/practitioners", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["birth_date"] == "1988-03-14"  # from the 身份证
    assert person["id_number_masked"] == id_number[:4] + "*" * 10 + id_number[-4:]
    assert person["phone_masked"] == "139****1111"
    stored = (await db.execute(text("SELECT id_number_enc, id_number_bidx FROM practitioner WHERE code = 'T900010'")
                               )).one()
    assert id_number.encode() not in stored[0] and stored[1]

    practitioner = await fhir(client, doctor, f"Practitioner/{person['id']}")
    assert practitioner["name"][0] == {"use": "official", "text": "欧阳建国", "family": "欧阳", "given": ["建国"]}
    role = await fhir(client, doctor, f"PractitionerRole/{practitioner_role_id('T900010')}")
    assert role["practitioner"]["reference"] == f"Practitioner/{person['id']}"
    assert role["organization"]["reference"] == f"Organization/{hospital['id']}"
    assert role["specialty"][0]["coding"][0] == {"system": DEPARTMENT_SYSTEM, "code": "JC-H001-GM",
                                                 "display": "全科医学科"}
    history = (await client.get("/api/v1/registry/changes", params={"entity_id": person["id"]},
                                headers=bearer(admin))).json()["items"]
    assert id_number not in str(history) and history[0]["after"]["id_number"] == person["id_number_masked"]

    again = await client.post("/api/v1/practitioners", json={**body, "code": "T900011"}, headers=bearer(admin))
    assert again.status_code == 409 and again.json()["code"] == "id_number_taken"
    wrong = await client.post("/api/v1/practitioners", json={**body, "code": "T900012", "id_number": id_number[:-1] +
                                                             ("0" if id_number[-1] != "0" else "1")},
                              headers=bearer(admin))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "id_number"
    assert "校验位" in wrong.json()["errors"][0]["message"]
    her_id = make_id_number("310199", date(1990, 5, 6), 88, "female")
    mismatch = await client.post("/api/v1/practitioners", json={**body, "code": "T900014", "id_number": her_id},
                                 headers=bearer(admin))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0] == {"field": "gender",
                                                                          "message": "性别与身份证号码不一致"}
    bad_role = await client.post("/api/v1/practitioners", json={**body, "code": "T900013", "id_number": None,
                                                                "role": "surgeon"}, headers=bearer(admin))
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"] == "role"

    moved = await client.patch(f"/api/v1/practitioners/{person['id']}",
                               json={"role": "family_doctor", "department_id": None, "version": 1},
                               headers=bearer(admin))
    assert moved.status_code == 200 and moved.json()["version"] == 2 and moved.json()["department"] is None
    role = await fhir(client, doctor, f"PractitionerRole/{practitioner_role_id('T900010')}")
    assert role["code"][0]["coding"][0]["code"] == "family_doctor" and "specialty" not in role
    left = await client.patch(f"/api/v1/practitioners/{person['id']}", json={"active": False, "version": 2},
                              headers=bearer(admin))
    assert left.json()["active"] is False
    latest = (await client.get("/api/v1/registry/changes", params={"entity_id": person["id"]},
                               headers=bearer(admin))).json()["items"][0]
    assert latest["action"] == "deactivate"
    assert (await fhir(client, doctor, f"Practitioner/{person['id']}"))["active"] is False


async def test_department_rename_reaches_its_staffs_fhir_roles(client: httpx.AsyncClient,
                                                              token_for: TokenFor) -> None:
    hosp_admin, doctor = await token_for("hosp_admin"), await token_for("doctor")
    staff = (await client.get("/api/v1/practitioners", params={"q": "P000001"}, headers=bearer(doctor))).json()
    person = staff["items"][0]
    department = person["department"]
    renamed = await client.patch(f"/api/v1/departments/{department['id']}", json={"name": "药学部", "version": 1},
                                 headers=bearer(hosp_admin))
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    role = await fhir(client, doctor, f"PractitionerRole/{practitioner_role_id(person['code'])}")
    assert role["specialty"][0]["text"] == "药学部"


async def test_team_members_are_added_and_removed_with_history(client: httpx.AsyncClient,
                                                               token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    centre = await org_by_code(client, admin, CENTRE)
    people = (await client.get("/api/v1/practitioners", params={"organization_id": centre["id"], "page_size": 50},
                               headers=bearer(admin))).json()["items"]
    leader = next(p for p in people if p["role"] == "family_doctor")
    nurse = next(p for p in people if p["role"] == "nurse")
    created = await client.post("/api/v1/teams", json={"code": "JC-C001-T9", "name": "测试家庭医生团队",
                                                       "organization_id": centre["id"], "leader_id": leader["id"]},
                                headers=bearer(admin))
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["leader"]["id"] == leader["id"] and [m["team_role"] for m in team["members"]] == ["family_doctor"]
    url = f"/api/v1/teams/{team['id']}/members"
    added = await client.post(url, json={"practitioner_id": nurse["id"], "team_role": "nurse", "version": 1},
                              headers=bearer(admin))
    assert added.status_code == 200 and added.json()["version"] == 2 and len(added.json()["members"]) == 2
    twice = await client.post(url, json={"practitioner_id": nurse["id"], "team_role": "nurse", "version": 2},
                              headers=bearer(admin))
    assert twice.status_code == 409
    stale = await client.post(url, json={"practitioner_id": leader["id"], "team_role": "specialist", "version": 1},
                              headers=bearer(admin))
    assert stale.status_code == 412
    bad_role = await client.post(url, json={"practitioner_id": nurse["id"], "team_role": "boss", "version": 2},
                                 headers=bearer(admin))
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"] == "team_role"

    care_team = await fhir(client, doctor, f"CareTeam/{team['id']}")
    assert [p["member"]["reference"] for p in care_team["participant"]] == [
        f"Practitioner/{leader['id']}", f"Practitioner/{nurse['id']}"]
    assert care_team["participant"][1]["role"][0]["coding"][0] == {"system": TEAM_ROLE_SYSTEM, "code": "nurse",
                                                                   "display": "社区护士"}
    removed = await client.delete(f"{url}/{leader['id']}", params={"version": 2}, headers=bearer(admin))
    assert removed.status_code == 200 and removed.json()["leader"] is None and len(removed.json()["members"]) == 1
    care_team = await fhir(client, doctor, f"CareTeam/{team['id']}")
    assert len(care_team["participant"]) == 1 and care_team["meta"]["versionId"] == "3"
    history = (await client.get("/api/v1/registry/changes", params={"entity_type": "team", "entity_id": team["id"]},
                                headers=bearer(admin))).json()["items"]
    assert [h["action"] for h in history] == ["remove_member", "add_member", "create"]
    assert history[0]["changed"] == ["leader_id", "leader_name", "members"]
    assert len(history[0]["before"]["members"]) == 2 and history[0]["before"]["leader_name"] == leader["name"]
    other_admin = await client.post(url, json={"practitioner_id": leader["id"], "team_role": "family_doctor",
                                               "version": 3}, headers=bearer(await token_for("hosp_admin")))
    assert other_admin.status_code == 403


# --- the seed ---------------------------------------------------------------------------------------------

async def test_the_seed_mirrors_the_whole_registry_without_clinical_history(client: httpx.AsyncClient,
                                                                           db: AsyncSession,
                                                                           token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    found = await fhir_matches(client, doctor, f"Organization?identifier={ORG_CODE_SYSTEM}|JC-H001")
    assert [o["id"] for o in found] == [str(stable_id("org", "JC-H001"))]
    level = next(t for t in found[0]["type"] if t["coding"][0]["system"] == ORG_LEVEL_SYSTEM)
    assert level["coding"][0] == {"system": ORG_LEVEL_SYSTEM, "code": "3A", "display": "三级甲等"}
    tertiary = await fhir_matches(client, doctor, f"Organization?type={ORG_LEVEL_SYSTEM}|3A")
    assert len(tertiary) == 2
    counts: dict[str, int] = dict((await db.execute(text(
        "SELECT res_type, count(*) FROM fhir_resource WHERE res_type IN "
        "('Organization', 'Location', 'Practitioner', 'PractitionerRole', 'CareTeam') GROUP BY res_type"))).all())
    rows: dict[str, int] = dict((await db.execute(text(
        "SELECT 'organization', count(*) FROM organization UNION ALL SELECT 'practitioner', count(*) "
        "FROM practitioner UNION ALL SELECT 'team', count(*) FROM care_team"))).all())
    assert counts["Organization"] == counts["Location"] == rows["organization"]
    assert counts["Practitioner"] == counts["PractitionerRole"] == rows["practitioner"]
    assert counts["CareTeam"] == rows["team"] == 40
    role = await fhir(client, doctor, f"PractitionerRole/{stable_id('practitioner-role', 'P000001')}")
    assert role["practitioner"]["reference"] == f"Practitioner/{stable_id('practitioner', 'P000001')}"


async def test_the_generator_maps_the_district_as_the_seed_mirror_does(db: AsyncSession) -> None:
    """One mapping: the synthetic history's registry resources equal what the seed mirrored from the tables."""
    organizations, departments, practitioners, teams = build_structure(get_settings().demo_seed)
    generated = {(r["resourceType"], r["id"]): r for r in registry_resources(organizations, practitioners,
                                                                            departments, teams)}
    mirrored = {(r["resourceType"], r["id"]): r for r in await whole_registry(db, get_field_cipher())}
    assert generated.keys() == mirrored.keys()
    assert all(generated[key] == mirrored[key] for key in generated)
