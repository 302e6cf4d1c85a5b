"""The catalogue's rules: what other code reads (`get_dataset_spec`, `get_catalogue`), what the console lists,
and how an admin extends it — new elements and value domains, new data sets and new versions, publishing.

Specs are compiled once per stored version and kept in this process: the ingest asks for a data set on every
batch, which costs one indexed query for the current version's row id; the JSON is parsed only the first time.
Row ids are fresh UUIDs for every version, so a cached spec can never stand for different content.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission
from jizuo.platform.standards import repository
from jizuo.platform.standards.checks import data_set_problems
from jizuo.platform.standards.export import catalogue_workbook
from jizuo.platform.standards.models import StdDataElement, StdDataSetVersion, StdValueDomain
from jizuo.platform.standards.schemas import (
    DataSetDetail,
    DataSetSummary,
    DomainDetail,
    DomainSummary,
    ElementOut,
    ElementRef,
    FieldOut,
    RuleOut,
    VersionOut,
)
from jizuo.platform.standards.spec import (
    CatalogueSpec,
    DataSetSpec,
    ElementSpec,
    ValueDomainSpec,
    rule_fields,
)

TYPE_DISPLAY = {"S1": "文本", "S2": "枚举文本", "S3": "代码", "L": "布尔", "N": "数值", "D": "日期",
                "DT": "日期时间", "T": "时间", "BY": "二进制"}
RULE_TYPE_DISPLAY = {"compare": "比较", "range": "数值范围", "required_if": "条件必填", "forbidden_if": "条件禁填",
                     "age_between": "年龄范围", "unit_for_code": "项目单位", "idcard": "身份证校验",
                     "exists": "引用存在", "timeliness": "及时性", "unique": "唯一性"}
DIMENSION_DISPLAY = {"completeness": "完整性", "conformity": "规范性", "logic": "一致性", "timeliness": "及时性",
                     "uniqueness": "唯一性", "referential": "关联性"}
CATEGORY_DISPLAY = {"clinical": "临床诊疗", "public_health": "公共卫生", "management": "卫生管理"}

_spec_cache: dict[tuple[str, str, uuid.UUID], DataSetSpec] = {}
_catalogue_cache: dict[str, tuple[tuple[Any, ...], CatalogueSpec]] = {}
_SPEC_CACHE_LIMIT = 512


# ------------------------------------------------------------------------------------- read API for other code


async def get_dataset_spec(db: AsyncSession, code: str) -> DataSetSpec:
    """The current (published) version of a data set."""
    ref = await repository.published_ref(db, code)
    if ref is None:
        raise NotFound(f"数据集 {code} 不存在或尚未发布", code="dataset_not_found")
    return await _spec(db, code, ref[1], ref[0])


async def get_catalogue(db: AsyncSession) -> CatalogueSpec:
    """All value domains and elements with the published version of every data set."""
    fingerprint = await repository.catalogue_fingerprint(db)
    cached = _catalogue_cache.get("current")
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    domains = {row.code: ValueDomainSpec.model_validate(row.spec) for row in await repository.all_domains(db)}
    elements = {row.id: ElementSpec.model_validate(row.spec) for row in await repository.all_elements(db)}
    data_sets = {}
    for row in await repository.published_versions(db):
        data_sets[row.code] = _cached_spec(row)
    catalogue = CatalogueSpec(value_domains=domains, elements=elements, data_sets=data_sets)
    _catalogue_cache["current"] = (fingerprint, catalogue)
    return catalogue


async def _spec(db: AsyncSession, code: str, version: str, row_id: uuid.UUID) -> DataSetSpec:
    key = (code, version, row_id)
    spec = _spec_cache.get(key)
    if spec is None:
        raw = await repository.spec_of(db, row_id)
        if raw is None:
            raise NotFound(f"数据集 {code} 版本 {version} 不存在", code="dataset_version_not_found")
        spec = _remember(key, DataSetSpec.model_validate(raw))
    return spec


def _cached_spec(row: StdDataSetVersion) -> DataSetSpec:
    key = (row.code, row.version, row.id)
    return _spec_cache.get(key) or _remember(key, DataSetSpec.model_validate(row.spec))


def _remember(key: tuple[str, str, uuid.UUID], spec: DataSetSpec) -> DataSetSpec:
    if len(_spec_cache) >= _SPEC_CACHE_LIMIT:  # versions are few; this only bounds a long-lived test process
        _spec_cache.clear()
    _spec_cache[key] = spec
    return spec


def check_count(data_set: DataSetSpec, catalogue: CatalogueSpec) -> int:
    """Checks the quality engine runs per record: format, value domain, required and range per field, plus the
    data set's rules (the same count as `quality.engine.Validator.rule_count`)."""
    count = len(data_set.rules)
    for f in data_set.fields:
        element = catalogue.elements.get(f.element)
        count += 1 + f.required
        if element is not None:
            count += (element.value_domain is not None) + (element.min is not None or element.max is not None)
    return count


# ------------------------------------------------------------------------------------- data sets


def _summary(row: StdDataSetVersion, spec: DataSetSpec, catalogue: CatalogueSpec, has_draft: bool
             ) -> dict[str, Any]:
    return {"code": row.code, "name": spec.name, "standard": spec.standard, "category": spec.category,
            "category_display": CATEGORY_DISPLAY.get(spec.category, spec.category), "resource": spec.resource,
            "description": spec.description, "version": row.version, "status": row.status,
            "field_count": len(spec.fields), "rule_count": len(spec.rules),
            "check_count": check_count(spec, catalogue), "has_draft": has_draft, "published_at": row.published_at}


def _current(rows: list[StdDataSetVersion]) -> StdDataSetVersion:
    """The version a data set is shown by: the published one, else (a new data set) its newest draft."""
    return next((r for r in rows if r.status == "published"), max(rows, key=lambda r: r.revision))


async def list_data_sets(db: AsyncSession, scope: AccessScope, *, q: str | None, category: str | None
                         ) -> list[DataSetSummary]:
    scope.require(Permission.STANDARDS_READ)
    catalogue = await get_catalogue(db)
    by_code: dict[str, list[StdDataSetVersion]] = defaultdict(list)
    for row in await repository.all_versions(db):
        by_code[row.code].append(row)
    items = []
    needle = (q or "").strip().lower()
    for rows in by_code.values():
        row = _current(rows)
        spec = _cached_spec(row)
        if category and spec.category != category:
            continue
        if needle and not any(needle in (text or "").lower() for text in (row.code, spec.name, spec.standard)):
            continue
        items.append(DataSetSummary(**_summary(row, spec, catalogue, any(r.status == "draft" for r in rows))))
    return sorted(items, key=lambda s: (s.category, s.code))


async def data_set_detail(db: AsyncSession, scope: AccessScope, code: str, version: str | None) -> DataSetDetail:
    scope.require(Permission.STANDARDS_READ)
    rows = list(await repository.versions_of(db, code))
    if not rows:
        raise NotFound(f"数据集 {code} 不存在", code="dataset_not_found")
    if version is None:
        row = _current(rows)
    else:
        found = next((r for r in rows if r.version == version), None)
        if found is None:
            raise NotFound(f"数据集 {code} 没有版本 {version}", code="dataset_version_not_found")
        row = found
    spec = _cached_spec(row)
    catalogue = await get_catalogue(db)
    return DataSetDetail(
        **_summary(row, spec, catalogue, any(r.status == "draft" for r in rows)), revision=row.revision,
        key=spec.key, event_field=spec.event_field, institution_field=spec.institution_field,
        fhir_fixed=spec.fhir_fixed, fields=[_field_out(f, catalogue) for f in spec.fields],
        rules=[RuleOut(id=r.id, type=r.type, type_display=RULE_TYPE_DISPLAY.get(r.type, r.type),
                       dimension=r.dimension, dimension_display=DIMENSION_DISPLAY.get(r.dimension, r.dimension),
                       severity=r.severity, message=r.message, params=r.params, fields=rule_fields(r))
               for r in spec.rules],
        spec=spec, created_by=row.created_by, created_at=row.created_at)


def _field_out(f: Any, catalogue: CatalogueSpec) -> FieldOut:
    element = catalogue.elements.get(f.element)
    domain = catalogue.value_domains.get(element.value_domain) if element and element.value_domain else None
    return FieldOut(name=f.name, label=f.label, element=f.element, element_name=element.name if element else "",
                    type=element.type if element else "", type_display=TYPE_DISPLAY.get(element.type, "")
                    if element else "", format=element.format if element else "", required=f.required,
                    value_domain=element.value_domain if element else None,
                    value_domain_name=domain.name if domain else None, unit=element.unit if element else None,
                    min=element.min if element else None, max=element.max if element else None, fhir=f.fhir,
                    fhir_system=f.fhir_system, reference=f.reference)


def _version_out(row: StdDataSetVersion) -> VersionOut:
    spec = _cached_spec(row)
    return VersionOut(code=row.code, version=row.version, revision=row.revision, status=row.status,
                      name=spec.name, field_count=len(spec.fields), rule_count=len(spec.rules),
                      created_by=row.created_by, created_at=row.created_at, published_at=row.published_at,
                      published_by=row.published_by, retired_at=row.retired_at)


async def list_versions(db: AsyncSession, scope: AccessScope, code: str) -> list[VersionOut]:
    scope.require(Permission.STANDARDS_READ)
    rows = await repository.versions_of(db, code)
    if not rows:
        raise NotFound(f"数据集 {code} 不存在", code="dataset_not_found")
    return [_version_out(row) for row in rows]


async def create_version(db: AsyncSession, trail: AuditTrail, scope: AccessScope, code: str, spec: DataSetSpec
                         ) -> VersionOut:
    """A new draft version of an existing data set (usually the current one, edited)."""
    scope.require(Permission.STANDARDS_WRITE)
    if spec.code != code:
        raise ValidationFailed(f"请求体中的数据集编码 {spec.code} 与地址中的 {code} 不一致",
                               code="dataset_code_mismatch", errors=[FieldError("code", "与地址中的编码不一致")])
    top = await repository.lock_data_set(db, code)
    if top == 0:
        raise NotFound(f"数据集 {code} 不存在，请先新建数据集", code="dataset_not_found")
    return await _add_version(db, trail, scope, spec, top)


async def create_data_set(db: AsyncSession, trail: AuditTrail, scope: AccessScope, spec: DataSetSpec
                          ) -> VersionOut:
    """A brand-new data set, stored as its first (draft) version."""
    scope.require(Permission.STANDARDS_WRITE)
    if await repository.lock_data_set(db, spec.code):
        raise Conflict(f"数据集编码 {spec.code} 已存在，请为它新建版本", code="dataset_exists")
    return await _add_version(db, trail, scope, spec, 0)


async def _add_version(db: AsyncSession, trail: AuditTrail, scope: AccessScope, spec: DataSetSpec, top: int
                       ) -> VersionOut:
    problems = data_set_problems(spec, await get_catalogue(db))
    if problems:
        raise _invalid(spec.code, problems)
    taken = {row.version for row in await repository.versions_of(db, spec.code)}
    version = spec.version
    if version in taken:  # an edited copy still says the old version: number it after the newest
        number = top + 1
        while f"{number}.0" in taken:
            number += 1
        version = f"{number}.0"
    stored = spec.model_copy(update={"version": version})
    row = StdDataSetVersion(code=spec.code, version=version, revision=top + 1, name=spec.name,
                            category=spec.category, status="draft", spec=stored.model_dump(mode="json"),
                            origin="admin", created_by=scope.username)
    repository.add(db, row)
    await _flush(db, Conflict(f"数据集 {spec.code} 正在被他人修改，请刷新后重试", code="dataset_busy"))
    await db.refresh(row)  # created_at comes from the database
    trail.record("create", "DataSetVersion", f"{spec.code}/{version}",
                 detail={"fields": len(spec.fields), "rules": len(spec.rules)})
    return _version_out(row)


async def publish_version(db: AsyncSession, trail: AuditTrail, scope: AccessScope, code: str, version: str
                          ) -> VersionOut:
    """Make a version current; the previous current one is retired (kept, listable, publishable again)."""
    scope.require(Permission.STANDARDS_WRITE)
    await repository.lock_data_set(db, code)
    row = await repository.get_version(db, code, version)
    if row is None:
        raise NotFound(f"数据集 {code} 没有版本 {version}", code="dataset_version_not_found")
    if row.status == "published":
        raise Conflict(f"数据集 {code} 版本 {version} 已是当前发布版本", code="already_published")
    spec = _cached_spec(row)
    problems = data_set_problems(spec, await get_catalogue(db))
    if problems:
        raise _invalid(code, problems)
    now = utcnow()
    await repository.retire_published(db, code, now)
    row.status, row.published_at, row.published_by, row.retired_at = "published", now, scope.username, None
    await _flush(db, Conflict(f"数据集 {code} 正在被他人发布，请刷新后重试", code="dataset_busy"))
    trail.record("publish", "DataSetVersion", f"{code}/{version}")
    return _version_out(row)


def _invalid(code: str, problems: list[str]) -> ValidationFailed:
    return ValidationFailed(f"数据集 {code} 校验未通过（{len(problems)} 个问题）：" + "；".join(problems),
                            code="dataset_invalid", errors=[FieldError(code, p) for p in problems])


async def _flush(db: AsyncSession, conflict: Conflict) -> None:
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent writer won the unique (code, revision) or published index
        raise conflict from exc


# ------------------------------------------------------------------------------------- elements and domains


def _element_out(row: StdDataElement, catalogue: CatalogueSpec, used: dict[str, list[str]]) -> ElementOut:
    spec = ElementSpec.model_validate(row.spec)
    domain = catalogue.value_domains.get(spec.value_domain) if spec.value_domain else None
    return ElementOut(**spec.model_dump(), type_display=TYPE_DISPLAY.get(spec.type, spec.type),
                      value_domain_name=domain.name if domain else None, origin=row.origin,
                      created_by=row.created_by, used_in=used.get(spec.id, []))


def _usage(catalogue: CatalogueSpec) -> dict[str, list[str]]:
    used: dict[str, list[str]] = defaultdict(list)
    for data_set in catalogue.data_sets.values():
        for f in data_set.fields:
            if data_set.code not in used[f.element]:
                used[f.element].append(data_set.code)
    return used


async def search_elements(db: AsyncSession, scope: AccessScope, *, q: str | None, value_domain: str | None,
                          offset: int, limit: int) -> tuple[list[ElementOut], int]:
    scope.require(Permission.STANDARDS_READ)
    rows, total = await repository.search_elements(db, q=q, value_domain=value_domain, offset=offset, limit=limit)
    catalogue = await get_catalogue(db)
    used = _usage(catalogue)
    return [_element_out(row, catalogue, used) for row in rows], total


async def create_element(db: AsyncSession, trail: AuditTrail, scope: AccessScope, spec: ElementSpec
                         ) -> ElementOut:
    scope.require(Permission.STANDARDS_WRITE)
    existing = await repository.get_element(db, spec.id)
    if existing is not None:
        raise Conflict(f"数据元标识 {spec.id} 已被使用（{existing.name}）", code="element_exists")
    if spec.value_domain and await repository.get_domain(db, spec.value_domain) is None:
        raise ValidationFailed(f"数据元 {spec.id} 的值域 {spec.value_domain} 不存在，请先新增值域",
                               code="value_domain_not_found", errors=[FieldError("value_domain", "值域不存在")])
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        raise ValidationFailed(f"数据元 {spec.id} 的最小值大于最大值", code="element_invalid",
                               errors=[FieldError("min", "最小值大于最大值")])
    row = StdDataElement(id=spec.id, name=spec.name, type=spec.type, format=spec.format,
                         value_domain=spec.value_domain, spec=spec.model_dump(mode="json"), origin="admin",
                         created_by=scope.username)
    repository.add(db, row)
    await _flush(db, Conflict(f"数据元标识 {spec.id} 已被使用", code="element_exists"))
    trail.record("create", "DataElement", spec.id, detail={"name": spec.name})
    return _element_out(row, await get_catalogue(db), {})


def _domain_summary(row: StdValueDomain) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "standard": row.standard, "system": row.system,
            "value_count": len(row.spec.get("values", [])), "origin": row.origin, "created_by": row.created_by}


async def list_domains(db: AsyncSession, scope: AccessScope, *, q: str | None) -> list[DomainSummary]:
    scope.require(Permission.STANDARDS_READ)
    needle = (q or "").strip().lower()
    return [DomainSummary(**_domain_summary(row)) for row in await repository.all_domains(db)
            if not needle or needle in row.code.lower() or needle in row.name.lower()]


async def domain_detail(db: AsyncSession, scope: AccessScope, code: str) -> DomainDetail:
    scope.require(Permission.STANDARDS_READ)
    row = await repository.get_domain(db, code)
    if row is None:
        raise NotFound(f"值域 {code} 不存在", code="value_domain_not_found")
    spec = ValueDomainSpec.model_validate(row.spec)
    elements = await repository.elements_using_domain(db, code)
    return DomainDetail(**_domain_summary(row), values=spec.values, fhir_map=spec.fhir_map,
                        elements=[ElementRef(id=e.id, name=e.name) for e in elements])


async def create_domain(db: AsyncSession, trail: AuditTrail, scope: AccessScope, spec: ValueDomainSpec
                        ) -> DomainDetail:
    scope.require(Permission.STANDARDS_WRITE)
    if await repository.get_domain(db, spec.code) is not None:
        raise Conflict(f"值域代码 {spec.code} 已被使用", code="value_domain_exists")
    codes = [v.code for v in spec.values]
    problems = [f"代码 {c} 重复" for c in sorted({c for c in codes if codes.count(c) > 1})]
    problems += [f"fhir_map 的代码 {c} 不在值域中" for c in spec.fhir_map if c not in codes]
    if problems:
        raise ValidationFailed(f"值域 {spec.code} 校验未通过：" + "；".join(problems), code="value_domain_invalid",
                               errors=[FieldError("values", p) for p in problems])
    row = StdValueDomain(code=spec.code, name=spec.name, standard=spec.standard, system=spec.system,
                         spec=spec.model_dump(mode="json"), origin="admin", created_by=scope.username)
    repository.add(db, row)
    await _flush(db, Conflict(f"值域代码 {spec.code} 已被使用", code="value_domain_exists"))
    trail.record("create", "ValueDomain", spec.code, detail={"values": len(codes)})
    return DomainDetail(**_domain_summary(row), values=spec.values, fhir_map=spec.fhir_map, elements=[])


async def export_catalogue(db: AsyncSession, scope: AccessScope) -> bytes:
    """The published catalogue as an Excel workbook (see export.py)."""
    scope.require(Permission.STANDARDS_READ)
    catalogue = await get_catalogue(db)
    return catalogue_workbook(catalogue, {code: check_count(d, catalogue) for code, d in catalogue.data_sets.items()})
