"""The catalogue over HTTP: browsing, versioning (new version → publish → what the ingest reads), extending
with elements and value domains, permissions, and the Excel export."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import NotFound
from jizuo.platform.standards.models import StdDataSetVersion
from jizuo.platform.standards.seed import seed_catalogue
from jizuo.platform.standards.service import get_catalogue, get_dataset_spec
from tests.conftest import TokenFor, bearer

BASE = "/api/v1/standards"
EXTRA_RULE = {"id": "lab.glu_plausible", "type": "range", "dimension": "logic", "severity": "warning",
              "message": "血糖结果超出0.5–50mmol/L，请核实", "params": {"field": "value", "min": 0.5, "max": 50}}


async def _lab_spec(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get(f"{BASE}/datasets/EMR-LAB", headers=bearer(token))
    assert response.status_code == 200, response.text
    spec: dict[str, Any] = response.json()["spec"]
    return spec


async def test_every_staff_role_lists_the_catalogue(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    for username in ("admin", "weijianwei", "doctor", "nurse"):
        response = await client.get(f"{BASE}/datasets", headers=bearer(await token_for(username)))
        assert response.status_code == 200, (username, response.text)
    items = response.json()
    assert len(items) >= 12
    lab = next(i for i in items if i["code"] == "EMR-LAB")
    assert lab["name"] == "检验记录" and lab["status"] == "published" and lab["version"] == "1.0"
    assert lab["field_count"] >= 30 and lab["rule_count"] >= 15 and lab["check_count"] >= 20
    public = (await client.get(f"{BASE}/datasets", params={"category": "public_health"},
                               headers=bearer(await token_for("doctor")))).json()
    assert {i["code"] for i in public} >= {"PH-HTN-FU", "PH-T2DM-FU", "PH-IMMUNIZATION"}
    assert all(i["category"] == "public_health" for i in public)
    found = (await client.get(f"{BASE}/datasets", params={"q": "处方"},
                              headers=bearer(await token_for("doctor")))).json()
    assert [i["code"] for i in found] == ["EMR-RX"]


async def test_resident_cannot_read_the_catalogue(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    response = await client.get(f"{BASE}/datasets", headers=bearer(await token_for("resident")))
    assert response.status_code == 403 and "无权" in response.json()["detail"]


async def test_detail_joins_fields_to_elements(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    detail = (await client.get(f"{BASE}/datasets/EMR-LAB", headers=bearer(token))).json()
    fields = {f["name"]: f for f in detail["fields"]}
    assert fields["patient_name"]["element"] == "DE02.01.039.00" and fields["patient_name"]["element_name"] == "姓名"
    assert fields["sex_code"]["value_domain"] == "GB/T 2261.1" and fields["sex_code"]["fhir"] == "Patient.gender"
    assert fields["item_code"]["value_domain_name"] == "区域检验项目代码"
    rules = {r["id"]: r for r in detail["rules"]}
    assert rules["lab.report_after_sample"]["fields"] == ["report_time", "sample_time"]
    assert rules["lab.timely"]["dimension_display"] == "及时性"
    missing = await client.get(f"{BASE}/datasets/NO-SUCH", headers=bearer(token))
    assert missing.status_code == 404 and missing.json()["detail"] == "数据集 NO-SUCH 不存在"


async def test_new_version_then_publish_is_what_the_ingest_reads(client: httpx.AsyncClient, token_for: TokenFor,
                                                                 db: AsyncSession) -> None:
    token = await token_for("admin")
    spec = await _lab_spec(client, token)
    spec["rules"].append(EXTRA_RULE)
    created = await client.post(f"{BASE}/datasets/EMR-LAB/versions", json=spec, headers=bearer(token))
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft" and draft["version"] == "2.0" and draft["created_by"] == "admin"
    # A draft changes nothing for the ingest.
    assert (await get_dataset_spec(db, "EMR-LAB")).version == "1.0"

    published = await client.post(f"{BASE}/datasets/EMR-LAB/versions/2.0/publish", headers=bearer(token))
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["published_by"] == "admin"

    current = await get_dataset_spec(db, "EMR-LAB")
    assert current.version == "2.0" and current.rules[-1].id == "lab.glu_plausible"
    assert (await get_catalogue(db)).data_sets["EMR-LAB"].version == "2.0"
    versions = (await client.get(f"{BASE}/datasets/EMR-LAB/versions", headers=bearer(token))).json()
    assert [(v["version"], v["status"]) for v in versions] == [("2.0", "published"), ("1.0", "retired")]
    old = (await client.get(f"{BASE}/datasets/EMR-LAB", params={"version": "1.0"}, headers=bearer(token))).json()
    assert old["status"] == "retired" and len(old["rules"]) == len(current.rules) - 1
    again = await client.post(f"{BASE}/datasets/EMR-LAB/versions/2.0/publish", headers=bearer(token))
    assert again.status_code == 409


async def test_invalid_version_is_refused_and_nothing_is_stored(client: httpx.AsyncClient, token_for: TokenFor,
                                                                db: AsyncSession) -> None:
    token = await token_for("admin")
    spec = await _lab_spec(client, token)
    spec["fields"].append({"name": "mystery", "element": "DE99.99.999.99"})
    spec["fields"][0]["fhir"] = "Observation.performer"
    spec["rules"].append({"id": "lab.bad", "type": "compare", "dimension": "logic", "message": "坏规则",
                          "params": {"left": "value", "op": ">", "right": "nowhere"}})
    before = await db.scalar(select(func.count()).select_from(StdDataSetVersion))
    response = await client.post(f"{BASE}/datasets/EMR-LAB/versions", json=spec, headers=bearer(token))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "dataset_invalid" and response.headers["content-type"] == "application/problem+json"
    assert "数据元 DE99.99.999.99 不存在" in problem["detail"] and "字段 nowhere 不存在" in problem["detail"]
    assert "performer 是列表，须写明下标" in problem["detail"]
    assert len(problem["errors"]) == 3
    assert await db.scalar(select(func.count()).select_from(StdDataSetVersion)) == before
    # A body that is not a data set at all is refused by its shape, in Chinese too.
    shapeless = await client.post(f"{BASE}/datasets/EMR-LAB/versions", json={"code": "EMR-LAB"},
                                  headers=bearer(token))
    assert shapeless.status_code == 422 and shapeless.json()["errors"]
    mismatch = await client.post(f"{BASE}/datasets/EMR-RX/versions", json=await _lab_spec(client, token),
                                 headers=bearer(token))
    assert mismatch.status_code == 422 and "不一致" in mismatch.json()["detail"]


async def test_new_data_set_starts_as_a_draft(client: httpx.AsyncClient, token_for: TokenFor,
                                              db: AsyncSession) -> None:
    token = await token_for("admin")
    spec = await _lab_spec(client, token)
    spec.update(code="EMR-LAB-POCT", name="床旁检验记录", version="1.0")
    created = await client.post(f"{BASE}/datasets", json=spec, headers=bearer(token))
    assert created.status_code == 201, created.text
    listed = (await client.get(f"{BASE}/datasets", params={"q": "POCT"}, headers=bearer(token))).json()
    assert [(i["code"], i["status"]) for i in listed] == [("EMR-LAB-POCT", "draft")]
    with pytest.raises(NotFound, match="尚未发布"):  # a draft is never served to the ingest
        await get_dataset_spec(db, "EMR-LAB-POCT")
    duplicate = await client.post(f"{BASE}/datasets", json=spec, headers=bearer(token))
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "dataset_exists"
    assert (await client.post(f"{BASE}/datasets/EMR-LAB-POCT/versions/1.0/publish",
                              headers=bearer(token))).status_code == 200
    assert (await get_dataset_spec(db, "EMR-LAB-POCT")).name == "床旁检验记录"


async def test_elements_search_add_and_clash(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("admin")
    page = (await client.get(f"{BASE}/elements", params={"q": "收缩压"}, headers=bearer(token))).json()
    assert page["total"] >= 1 and page["items"][0]["id"] == "DE04.10.174.00"
    assert "PH-HTN-FU" in page["items"][0]["used_in"]
    by_id = (await client.get(f"{BASE}/elements", params={"q": "DE02.01.039"}, headers=bearer(token))).json()
    assert by_id["items"][0]["name"] == "姓名"
    everything = (await client.get(f"{BASE}/elements", params={"page_size": 50, "page": 2},
                                   headers=bearer(token))).json()
    assert everything["total"] >= 200 and len(everything["items"]) == 50

    new = {"id": "DE04.10.900.00", "name": "握力", "definition": "受检者优势手最大握力的测量值", "type": "N",
           "format": "N..4,1", "unit": "kg", "min": 0, "max": 120}
    created = await client.post(f"{BASE}/elements", json=new, headers=bearer(token))
    assert created.status_code == 201 and created.json()["origin"] == "admin"
    clash = await client.post(f"{BASE}/elements", json={**new, "id": "DE02.01.039.00"}, headers=bearer(token))
    assert clash.status_code == 409 and "DE02.01.039.00 已被使用（姓名）" in clash.json()["detail"]
    no_domain = await client.post(f"{BASE}/elements", json={**new, "id": "DE04.10.901.00", "type": "S3",
                                                            "format": "N1", "value_domain": "JZ.NONE"},
                                  headers=bearer(token))
    assert no_domain.status_code == 422 and "值域 JZ.NONE 不存在" in no_domain.json()["detail"]
    bad_format = await client.post(f"{BASE}/elements", json={**new, "id": "DE04.10.902.00", "format": "Q9"},
                                   headers=bearer(token))
    assert bad_format.status_code == 422 and "不符合 WS 363" in str(bad_format.json())


async def test_value_domains_browse_and_add(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    domains = (await client.get(f"{BASE}/value-domains", headers=bearer(token))).json()
    assert len(domains) >= 20 and any(d["code"] == "ICD-10" and d["value_count"] >= 50 for d in domains)
    sex = (await client.get(f"{BASE}/value-domains/GB/T 2261.1", headers=bearer(token))).json()
    assert [v["code"] for v in sex["values"]] == ["0", "1", "2", "9"] and sex["fhir_map"]["1"] == "male"
    assert {"id": "DE02.01.040.00", "name": "性别代码"} in sex["elements"]
    assert (await client.get(f"{BASE}/value-domains/JZ.NONE", headers=bearer(token))).status_code == 404

    admin = await token_for("admin")
    body: dict[str, Any] = {"code": "JZ.GRIP_HAND", "name": "测量手代码", "system": "https://jizuo.dev/fhir/CodeSystem/grip-hand",
            "values": [{"code": "1", "display": "左手"}, {"code": "2", "display": "右手"}]}
    created = await client.post(f"{BASE}/value-domains", json=body, headers=bearer(admin))
    assert created.status_code == 201 and created.json()["value_count"] == 2
    assert (await client.post(f"{BASE}/value-domains", json=body, headers=bearer(admin))).status_code == 409
    duplicated = {**body, "code": "JZ.GRIP_HAND2", "values": body["values"] * 2, "fhir_map": {"3": "left"}}
    refused = await client.post(f"{BASE}/value-domains", json=duplicated, headers=bearer(admin))
    assert refused.status_code == 422 and "代码 1 重复" in refused.json()["detail"]
    assert "fhir_map 的代码 3 不在值域中" in refused.json()["detail"]


async def test_doctor_cannot_write(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    spec = await _lab_spec(client, token)
    for path, body in ((f"{BASE}/datasets/EMR-LAB/versions", spec), (f"{BASE}/datasets", {**spec, "code": "X-1"}),
                       (f"{BASE}/elements", {"id": "DE04.10.903.00", "name": "x", "definition": "x", "type": "S1",
                                             "format": "A..10"}),
                       (f"{BASE}/datasets/EMR-LAB/versions/1.0/publish", None)):
        response = await client.post(path, json=body, headers=bearer(token))
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "missing_permission"
    hospital_admin = await token_for("hosp_admin")
    assert (await client.post(f"{BASE}/datasets/EMR-LAB/versions", json=spec,
                              headers=bearer(hospital_admin))).status_code == 403


async def test_export_opens_in_openpyxl_with_every_sheet(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    response = await client.get(f"{BASE}/export.xlsx", headers=bearer(await token_for("weijianwei")))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["数据集", "数据集字段", "数据元", "值域", "质控规则"]
    data_sets = list(book["数据集"].iter_rows(values_only=True))
    assert data_sets[0][0] == "数据集编码" and len(data_sets) - 1 >= 12
    fields = list(book["数据集字段"].iter_rows(values_only=True))
    assert ("EMR-LAB", "检验记录") in {row[:2] for row in fields}
    assert any(row[4] == "DE02.01.039.00" and row[12] == "Patient.name[0].text" for row in fields)
    assert len(list(book["数据元"].iter_rows(values_only=True))) - 1 >= 200
    assert any(row[0] == "GB/T 2261.1" and row[4] == "1" and row[5] == "男性"
               for row in book["值域"].iter_rows(values_only=True))
    assert any(row[2] == "lab.timely" for row in book["质控规则"].iter_rows(values_only=True))


async def test_seeding_twice_changes_nothing_and_keeps_admin_versions(client: httpx.AsyncClient,
                                                                       token_for: TokenFor,
                                                                       db: AsyncSession) -> None:
    token = await token_for("admin")
    spec = await _lab_spec(client, token)
    spec["rules"].append(EXTRA_RULE)
    await client.post(f"{BASE}/datasets/EMR-LAB/versions", json=spec, headers=bearer(token))
    await client.post(f"{BASE}/datasets/EMR-LAB/versions/2.0/publish", headers=bearer(token))
    before = await db.scalar(select(func.count()).select_from(StdDataSetVersion))
    await seed_catalogue(db)
    assert await db.scalar(select(func.count()).select_from(StdDataSetVersion)) == before
    assert (await get_dataset_spec(db, "EMR-LAB")).version == "2.0"
