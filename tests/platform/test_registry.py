"""Institutions, practitioners and teams as the console and API clients see them."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TokenFor, bearer


async def test_district_has_each_kind_of_institution(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("weijianwei")
    response = await client.get("/api/v1/organizations", params={"page_size": 200}, headers=bearer(token))
    assert response.status_code == 200
    items = response.json()["items"]
    kinds = {(o["type"], o["level"]) for o in items}
    assert ("general_hospital", "3A") in kinds and ("tcm_hospital", "3A") in kinds
    assert sum(o["type"] == "community_centre" for o in items) == 10
    assert sum(o["level"].startswith("2") for o in items if o["type"] == "general_hospital") == 3
    assert any(o["type"] == "mch_hospital" for o in items) and any(o["type"] == "cdc" for o in items)
    stations = [o for o in items if o["type"] == "community_station"]
    assert stations and all(o["parent_name"].endswith("社区卫生服务中心") for o in stations)


async def test_filter_by_level_and_type_and_paging(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    tertiary = (await client.get("/api/v1/organizations", params={"level": "3A"}, headers=bearer(token))).json()
    assert tertiary["total"] == 2 and {o["level_display"] for o in tertiary["items"]} == {"三级甲等"}
    page = (await client.get("/api/v1/organizations", params={"type": "community_station", "page": 2,
                                                               "page_size": 5}, headers=bearer(token))).json()
    assert page["page"] == 2 and len(page["items"]) == 5 and page["total"] >= 20


async def test_organization_detail_lists_departments_and_stations(client: httpx.AsyncClient,
                                                                 token_for: TokenFor) -> None:
    token = await token_for("admin")
    centres = (await client.get("/api/v1/organizations", params={"type": "community_centre"},
                                headers=bearer(token))).json()["items"]
    detail = (await client.get(f"/api/v1/organizations/{centres[0]['id']}", headers=bearer(token))).json()
    assert 2 <= len(detail["children"]) <= 5
    assert any("全科" in d["name"] for d in detail["departments"])
    assert detail["practitioner_count"] > 0


async def test_unknown_organization_is_a_chinese_404(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("admin")
    response = await client.get(f"/api/v1/organizations/{uuid.uuid4()}", headers=bearer(token))
    assert response.status_code == 404 and response.json()["detail"] == "机构不存在"
    bad = await client.get("/api/v1/organizations/not-a-uuid", headers=bearer(token))
    assert bad.status_code == 422 and "UUID" in bad.json()["detail"]


async def test_tree_groups_by_level_with_stations_under_centres(client: httpx.AsyncClient,
                                                               token_for: TokenFor) -> None:
    token = await token_for("admin")
    tree = (await client.get("/api/v1/organizations/tree", headers=bearer(token))).json()
    assert tree[0]["level"] == "3A"
    community = next(group for group in tree if group["level"] == "community")
    assert len(community["organizations"]) == 10
    assert all(2 <= len(centre["children"]) <= 5 for centre in community["organizations"])


async def test_practitioners_and_teams(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("admin")
    everyone = (await client.get("/api/v1/practitioners", params={"page_size": 1}, headers=bearer(token))).json()
    assert everyone["total"] >= 300
    family = (await client.get("/api/v1/practitioners", params={"role": "family_doctor"},
                               headers=bearer(token))).json()
    assert family["items"] and any(p["team"] for p in family["items"])
    teams = (await client.get("/api/v1/teams", params={"page_size": 100}, headers=bearer(token))).json()
    assert teams["total"] == 40
    roles = {m["team_role"] for m in teams["items"][0]["members"]}
    assert {"family_doctor", "nurse", "specialist"} <= roles
    assert sum(t["signed_count"] for t in teams["items"]) > 0


async def test_resident_role_cannot_browse_staff(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("resident")
    response = await client.get("/api/v1/practitioners", headers=bearer(token))
    assert response.status_code == 403 and "无权" in response.json()["detail"]
