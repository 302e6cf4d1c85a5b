"""Family-doctor contracts ("1+1+1" signing): sign (or draft), renew, terminate, list. Never commits.

The active contract is the source of `resident.signed_team_id` — the column every "family doctor sees their
signed residents" rule reads (residents register, chronic care, FHIR reach): signing sets it, terminating or
expiring clears it. At most one contract per resident is active (a partial unique index backs the check).
Every change is mirrored to the FHIR store as an EpisodeOfCare (type 家庭医生签约服务).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import contract_repository as repo
from jizuo.apps.chronic.models import FamilyContract
from jizuo.core.clock import age_on, today_in_shanghai, utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.idcard import is_valid_id_number
from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.service import FhirContext
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.residents.models import Resident

PERIOD_DAYS = 365
RENEWAL_WINDOW_DAYS = 90  # renewal opens 90 days before the period ends

# 服务包: code → (name, yearly price in yuan, contents, who may take it). Basic is in every contract.
PACKAGES: dict[str, dict[str, Any]] = {
    "basic": {"name": "基础包", "price": 0, "requires": None,
              "contents": ["建立/更新健康档案", "健康咨询与健康教育", "预约就诊与优先转诊", "长处方与延伸处方"]},
    "elderly": {"name": "老年人包", "price": 120, "requires": "age65",
                "contents": ["年度健康体检", "中医体质辨识", "认知与跌倒风险评估", "上门随访 1 次/年"]},
    "hypertension": {"name": "高血压包", "price": 100, "requires": "hypertension",
                     "contents": ["血压监测（健康驿站）", "季度随访", "用药指导与代配药", "年度靶器官检查"]},
    "diabetes": {"name": "糖尿病包", "price": 150, "requires": "diabetes_t2",
                 "contents": ["血糖监测（健康驿站）", "季度随访", "糖化血红蛋白 2 次/年", "眼底检查 1 次/年"]},
    "copd": {"name": "慢阻肺包", "price": 150, "requires": "copd",
             "contents": ["肺功能检查 1 次/年", "吸入装置使用指导", "半年随访", "急性加重预警"]},
}
_NOT_FOUND = "签约不存在或不属于您的团队"


def package_catalogue() -> list[dict[str, Any]]:
    return [{"code": code, **info} for code, info in PACKAGES.items()]


def _check_packages(packages: list[str], resident: Resident, on: date) -> list[str]:
    chosen = list(dict.fromkeys(["basic", *packages]))
    errors = []
    for code in chosen:
        info = PACKAGES.get(code)
        if info is None:
            errors.append(FieldError("packages", f"未知的服务包：{code}"))
        elif info["requires"] == "age65" and age_on(resident.birth_date, on) < 65:
            errors.append(FieldError("packages", f"{info['name']}仅限 65 岁及以上居民"))
        elif info["requires"] not in (None, "age65") and info["requires"] not in (resident.chronic or []):
            errors.append(FieldError("packages", f"{info['name']}须居民档案中有相应慢病诊断"))
    if errors:
        raise ValidationFailed(errors[0].message, code="package_not_allowed", errors=errors)
    return chosen


def contract_view(c: FamilyContract, resident_name: str | None, team_name: str | None,
                  orgs: dict[uuid.UUID, str], today: date) -> dict[str, Any]:
    status = "expired" if c.status == "active" and c.ends_on < today else c.status
    return {"id": c.id, "resident_id": c.resident_id, "resident_name": resident_name, "team_id": c.team_id,
            "team_name": team_name, "status": status, "packages": c.packages,
            "package_names": [PACKAGES[p]["name"] for p in c.packages if p in PACKAGES], "price": c.price,
            "starts_on": c.starts_on, "ends_on": c.ends_on, "renewed_from_id": c.renewed_from_id,
            "signed_at": c.signed_at, "terminated_on": c.terminated_on, "termination_reason": c.termination_reason,
            "combination": [{"role": role, "id": oid, "name": orgs.get(oid)} for role, oid in (
                ("centre", c.centre_id), ("district_hospital", c.district_hospital_id),
                ("city_hospital", c.city_hospital_id))],
            "renewable": status in ("active", "expired") and (c.ends_on - today).days <= RENEWAL_WINDOW_DAYS}


async def _views(db: AsyncSession, rows: Sequence[tuple[FamilyContract, str | None, str | None]]
                 ) -> list[dict[str, Any]]:
    ids = {i for c, _, _ in rows for i in (c.centre_id, c.district_hospital_id, c.city_hospital_id)}
    orgs = await repo.organization_names(db, ids)
    today = today_in_shanghai()
    return [contract_view(c, r, t, orgs, today) for c, r, t in rows]


async def _hospital(db: AsyncSession, given: uuid.UUID | None, level_prefix: str, team: CareTeam, field: str
                    ) -> Organization:
    """The combination's hospital at a tier ('2' district, '3' city): as given, else the team's specialist's
    hospital at that tier, else the district's first hospital of the tier."""
    if given is not None:
        org = await repo.organization(db, given)
        if org is None or not org.active or org.type not in repo.HOSPITAL_TYPES \
                or not org.level.startswith(level_prefix):
            tier = "二级（区级）" if level_prefix == "2" else "三级（市级）"
            raise ValidationFailed(f"组合内医院须为在用的{tier}医院", code="combination_invalid",
                                   errors=[FieldError(field, f"须为{tier}医院")])
        return org
    for org in await repo.team_specialist_organizations(db, team.id):
        if org.level.startswith(level_prefix):
            return org
    org = await repo.first_hospital(db, level_prefix)
    if org is None:
        raise ValidationFailed("辖区内没有可组合的医院", code="combination_unavailable")
    return org


async def sign(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
               body: dict[str, Any]) -> dict[str, Any]:
    team = await repo.team(db, scope, body["team_id"])
    if team is None:
        raise NotFound("团队不存在或不是您的团队", code="team_not_found")
    bidx = None
    if body.get("id_number"):
        number = body["id_number"].strip().upper()
        if not is_valid_id_number(number):
            raise ValidationFailed("身份证号格式或校验位不正确", code="invalid_id_number",
                                   errors=[FieldError("id_number", "身份证号格式或校验位不正确")])
        bidx = cipher.blind_index(number)
    resident = await repo.resident_by(db, body.get("resident_id"), bidx)
    # Outside the district admin, "no such resident" and "not in this centre's area" answer alike, so the sign
    # form cannot be used to find out whether a 身份证 belongs to someone elsewhere in the district.
    if resident is None or (scope.personal_data_reach is not Reach.DISTRICT and
                            resident.home_organization_id not in await repo.served_by(db, team.organization_id)):
        raise NotFound("居民不存在或不在本团队所属社区卫生服务中心的服务范围内", code="resident_not_found")
    today = today_in_shanghai()
    await repo.expire_contracts(db, today)
    current = await repo.active_contract_of(db, resident.id)
    if current is not None:
        raise Conflict("该居民已有生效的签约，请先解约或续约", code="contract_exists")
    if resident.signed_team_id is not None and resident.signed_team_id != team.id:
        raise Conflict("该居民已与其他家庭医生团队签约", code="signed_elsewhere")
    starts_on = body.get("starts_on") or today
    if starts_on > today + timedelta(days=30) or starts_on < today - timedelta(days=30):
        raise ValidationFailed("签约开始日期须在今天前后 30 天内", code="contract_start_invalid",
                               errors=[FieldError("starts_on", "须在今天前后 30 天内")])
    contract = await _new_contract(db, scope, resident, team, body, starts_on, renewed_from=None)
    if body.get("sign", True):
        await _activate(db, contract, resident, scope)
    await db.flush()
    trail.record("create", "FamilyContract", contract.id,
                 detail={"resident": str(resident.id), "team": str(team.id), "status": contract.status})
    await mirror(db, cipher, trail, contract)
    return await _view(db, contract, resident, team)


async def _new_contract(db: AsyncSession, scope: AccessScope, resident: Resident, team: CareTeam,
                        body: dict[str, Any], starts_on: date, renewed_from: FamilyContract | None
                        ) -> FamilyContract:
    packages = _check_packages(body.get("packages") or ["basic"], resident, starts_on)
    if renewed_from is not None and not body.get("district_hospital_id"):
        district, city = renewed_from.district_hospital_id, renewed_from.city_hospital_id
    else:
        district = (await _hospital(db, body.get("district_hospital_id"), "2", team, "district_hospital_id")).id
        city = (await _hospital(db, body.get("city_hospital_id"), "3", team, "city_hospital_id")).id
    contract = FamilyContract(
        id=uuid.uuid4(), resident_id=resident.id, team_id=team.id, centre_id=team.organization_id,
        district_hospital_id=district, city_hospital_id=city, packages=packages,
        price=float(sum(PACKAGES[p]["price"] for p in packages)), starts_on=starts_on,
        ends_on=starts_on + timedelta(days=PERIOD_DAYS - 1), status="draft",
        renewed_from_id=renewed_from.id if renewed_from else None, created_by=scope.user_id)
    db.add(contract)
    await db.flush()
    return contract


async def _activate(db: AsyncSession, contract: FamilyContract, resident: Resident, scope: AccessScope) -> None:
    contract.status, contract.signed_at, contract.signed_by = "active", utcnow(), scope.user_id
    resident.signed_team_id = contract.team_id


async def _view(db: AsyncSession, contract: FamilyContract, resident: Resident, team: CareTeam) -> dict[str, Any]:
    return (await _views(db, [(contract, resident.name, team.name)]))[0]


async def _load(db: AsyncSession, scope: AccessScope, contract_id: uuid.UUID
                ) -> tuple[FamilyContract, Resident, CareTeam]:
    contract = await repo.contract(db, scope, contract_id)
    if contract is None:
        raise NotFound(_NOT_FOUND, code="contract_not_found")
    resident = await repo.resident_by(db, contract.resident_id, None)
    team = await db.get(CareTeam, contract.team_id)
    assert resident is not None and team is not None
    return contract, resident, team


async def activate(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
                   contract_id: uuid.UUID) -> dict[str, Any]:
    """Signs a draft: it becomes the resident's active contract."""
    contract, resident, team = await _load(db, scope, contract_id)
    if contract.status != "draft":
        raise Conflict("只有草稿可以签约生效", code="contract_not_draft")
    await repo.expire_contracts(db, today_in_shanghai())
    if await repo.active_contract_of(db, resident.id) is not None:
        raise Conflict("该居民已有生效的签约，请先解约或续约", code="contract_exists")
    if resident.signed_team_id is not None and resident.signed_team_id != team.id:
        raise Conflict("该居民已与其他家庭医生团队签约", code="signed_elsewhere")
    await _activate(db, contract, resident, scope)
    await db.flush()
    trail.record("update", "FamilyContract", contract.id, detail={"status": "active"})
    await mirror(db, cipher, trail, contract)
    return await _view(db, contract, resident, team)


async def renew(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
                contract_id: uuid.UUID, packages: list[str] | None) -> dict[str, Any]:
    """A new one-year contract from today, linked to the old one; a still-running old contract closes
    yesterday (status expired). Open from 90 days before the period ends, or after it has expired."""
    contract, resident, team = await _load(db, scope, contract_id)
    today = today_in_shanghai()
    await repo.expire_contracts(db, today)
    await db.refresh(contract)
    if contract.status not in ("active", "expired"):
        raise Conflict("只有生效中或已到期的签约可以续约", code="contract_not_renewable")
    if (contract.ends_on - today).days > RENEWAL_WINDOW_DAYS:
        raise Conflict(f"签约到期前 {RENEWAL_WINDOW_DAYS} 天内才可续约", code="renewal_too_early")
    if await repo.renewal_of(db, contract.id) is not None:
        raise Conflict("该签约已续约", code="already_renewed")
    if contract.status == "expired":
        current = await repo.active_contract_of(db, resident.id)
        if current is not None:
            raise Conflict("该居民已有其他生效的签约", code="contract_exists")
    else:
        contract.status, contract.ends_on = "expired", min(contract.ends_on, today - timedelta(days=1))
        await db.flush()
    new = await _new_contract(db, scope, resident, team, {"packages": packages or contract.packages}, today,
                              renewed_from=contract)
    await _activate(db, new, resident, scope)
    await db.flush()
    trail.record("create", "FamilyContract", new.id, detail={"renewal_of": str(contract.id)})
    await mirror(db, cipher, trail, contract)
    await mirror(db, cipher, trail, new)
    return await _view(db, new, resident, team)


async def terminate(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
                    contract_id: uuid.UUID, reason: str) -> dict[str, Any]:
    contract, resident, team = await _load(db, scope, contract_id)
    if contract.status not in ("draft", "active"):
        raise Conflict("该签约已结束，不能解约", code="contract_closed")
    was_active = contract.status == "active"
    contract.status, contract.terminated_on = "terminated", today_in_shanghai()
    contract.termination_reason = reason.strip()
    if was_active and resident.signed_team_id == contract.team_id:
        resident.signed_team_id = None
    await db.flush()
    trail.record("update", "FamilyContract", contract.id, detail={"status": "terminated"})
    await mirror(db, cipher, trail, contract)
    return await _view(db, contract, resident, team)


async def list_contracts(db: AsyncSession, trail: AuditSink, scope: AccessScope, *, status: str | None,
                         team_id: uuid.UUID | None, resident_id: uuid.UUID | None, q: str | None, offset: int,
                         limit: int) -> dict[str, Any]:
    rows, total = await repo.list_contracts(db, scope, status=status, team_id=team_id, resident_id=resident_id,
                                            q=q, today=today_in_shanghai(), offset=offset, limit=limit)
    trail.record("search", "FamilyContract", None, detail={"count": len(rows), "status": status})
    return {"items": await _views(db, rows), "total": total}


async def read(db: AsyncSession, trail: AuditSink, scope: AccessScope, contract_id: uuid.UUID) -> dict[str, Any]:
    contract, resident, team = await _load(db, scope, contract_id)
    trail.record("read", "FamilyContract", contract.id, detail={"resident": str(resident.id)})
    return await _view(db, contract, resident, team)


# --- FHIR mirror ------------------------------------------------------------------------------------------------

_EPISODE_STATUS = {"draft": "planned", "active": "active", "expired": "finished", "terminated": "cancelled"}


def episode_of_care(c: FamilyContract) -> dict[str, Any]:
    def org(oid: uuid.UUID) -> dict[str, str]:
        return {"reference": f"Organization/{oid}"}

    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare", "id": str(c.id), "status": _EPISODE_STATUS[c.status],
        "type": [{"coding": [{"system": "urn:jizuo:episode-type", "code": "family-doctor-contract",
                              "display": "家庭医生签约服务"}]}],
        "patient": {"reference": f"Patient/{c.resident_id}"}, "managingOrganization": org(c.centre_id),
        "period": {"start": c.starts_on.isoformat(), "end": c.ends_on.isoformat()},
        "team": [{"reference": f"CareTeam/{c.team_id}"}],
        "extension": [{"url": "urn:jizuo:fhir:family-contract:combination", "valueReference": org(o)}
                      for o in (c.centre_id, c.district_hospital_id, c.city_hospital_id)]
        + [{"url": "urn:jizuo:fhir:family-contract:package", "valueCode": p} for p in c.packages],
    }
    if c.renewed_from_id:
        resource["extension"].append({"url": "urn:jizuo:fhir:family-contract:renewal-of",
                                      "valueReference": {"reference": f"EpisodeOfCare/{c.renewed_from_id}"}})
    return resource


async def mirror(db: AsyncSession, cipher: FieldCipher, trail: AuditSink, contract: FamilyContract) -> None:
    ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=trail, cipher=cipher)
    await fhir_service.update(ctx, "EpisodeOfCare", str(contract.id), episode_of_care(contract))


async def my_teams(db: AsyncSession, scope: AccessScope) -> list[dict[str, Any]]:
    """The teams the caller signs for (the sign form's choice)."""
    return [{"id": t.id, "name": t.name, "centre": centre} for t, centre in await repo.teams_in_reach(db, scope)]


async def my_contract(db: AsyncSession, trail: AuditSink, scope: AccessScope) -> dict[str, Any] | None:
    """The signed-in resident's own contract (active, else the latest), for the resident H5; null if none."""
    if scope.personal_data_reach is not Reach.SELF or scope.resident_id is None:
        raise PermissionDenied("仅居民本人可查看自己的签约", code="resident_only")
    found = await repo.latest_contract_of(db, scope.resident_id)
    trail.record("read", "FamilyContract", found[0].id if found else None, detail={"self": True})
    if found is None:
        return None
    contract, team_name = found
    view = (await _views(db, [(contract, None, team_name)]))[0]
    view["package_contents"] = {p: PACKAGES[p]["contents"] for p in contract.packages if p in PACKAGES}
    return view
