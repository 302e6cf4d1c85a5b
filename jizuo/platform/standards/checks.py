"""What a data set must satisfy beyond its own shape, in Chinese, one problem per line.

`CatalogueSpec` already refuses fields naming missing elements and rules naming missing fields. These checks
add what would otherwise break later, row by row, in the ingest or the quality engine: FHIR paths that do not
exist in R4, a coded field mapped to a Coding without a value domain, rule parameters a check cannot run
with, condition codes that are not in the condition field's value domain, a timeliness rule on a field without
a time. An admin saving a new version gets the whole list at once (422).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import ValidationError

from jizuo.platform.standards.fhir_paths import is_resource_type, resolve
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec, ElementSpec, RuleSpec

_OPS = {"<", "<=", ">", ">=", "==", "!="}
_EXISTS_TARGETS = {"Organization", "Practitioner", "Patient"}


def validation_messages(error: ValidationError) -> list[str]:
    """A pydantic error as Chinese lines: our validators already speak Chinese; pydantic's own messages get
    the location in front so the admin sees which field of which entry is wrong."""
    lines = []
    for item in error.errors():
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        location = ".".join(str(part) for part in item.get("loc", ()))
        lines.extend(message.split("; ") if not location else [f"{location}：{message}"])
    return lines


def data_set_problems(data_set: DataSetSpec, catalogue: CatalogueSpec) -> list[str]:
    """Every problem of one data set against a catalogue (the data set need not be in it yet)."""
    problems: list[str] = []
    try:
        CatalogueSpec(value_domains=catalogue.value_domains, elements=catalogue.elements,
                      data_sets={data_set.code: data_set})
    except ValidationError as exc:
        problems.extend(validation_messages(exc))
    code = data_set.code
    if not is_resource_type(data_set.resource):
        problems.append(f"{code}: 主资源类型 {data_set.resource} 不是 FHIR R4 资源类型")
    for name, count in Counter(f.name for f in data_set.fields).items():
        if count > 1:
            problems.append(f"{code}: 字段名 {name} 重复")
    for rule_id, count in Counter(r.id for r in data_set.rules).items():
        if count > 1:
            problems.append(f"{code}: 规则编号 {rule_id} 重复")
    for f in data_set.fields:
        element = catalogue.elements.get(f.element)
        if element is not None and f.fhir:
            problems.extend(_mapping_problems(code, f.name, f.fhir, f.fhir_system, f.reference, element, catalogue))
        elif f.fhir_system and not f.fhir:
            problems.append(f"{code}.{f.name}: 设置了 fhir_system 但没有 FHIR 路径")
    for path in data_set.fhir_fixed:
        try:
            resolve(path)
        except ValueError as exc:
            problems.append(f"{code}: 固定值 {exc}")
    fields = {f.name: catalogue.elements.get(f.element) for f in data_set.fields}
    if data_set.event_field and (event := fields.get(data_set.event_field)) and event.type not in ("D", "DT"):
        problems.append(f"{code}: 事件时间字段 {data_set.event_field} 的数据元不是日期或日期时间类型")
    for rule in data_set.rules:
        problems.extend(f"{code}/{rule.id}: {p}" for p in _rule_problems(rule, fields, catalogue))
    return problems


def catalogue_problems(catalogue: CatalogueSpec) -> list[str]:
    problems: list[str] = []
    for domain in catalogue.value_domains.values():
        codes = [v.code for v in domain.values]
        problems.extend(f"值域 {domain.code}: 代码 {c} 重复" for c, n in Counter(codes).items() if n > 1)
        problems.extend(f"值域 {domain.code}: fhir_map 的代码 {c} 不在值域中" for c in domain.fhir_map
                        if c not in codes)
    for data_set in catalogue.data_sets.values():
        problems.extend(data_set_problems(data_set, catalogue))
    return problems


def _mapping_problems(code: str, name: str, path: str, system: str | None, reference: str | None,
                      element: ElementSpec, catalogue: CatalogueSpec) -> list[str]:
    where = f"{code}.{name}"
    try:
        target = resolve(path)
    except ValueError as exc:
        return [f"{where}: {exc}"]
    problems = []
    if system and target.type != "Identifier":
        problems.append(f"{where}: 设置了 fhir_system，FHIR 路径 {path} 应指向 Identifier，实为 {target.type}")
    if reference and target.type != "Reference":
        problems.append(f"{where}: 引用 {reference} 的 FHIR 路径 {path} 应指向 Reference，实为 {target.type}")
    if target.type == "Coding" and not element.value_domain:
        problems.append(f"{where}: 数据元 {element.id} 没有值域，不能映射到 Coding（{path}）")
    if target.type == "code" and element.value_domain:
        domain = catalogue.value_domains.get(element.value_domain)
        if domain is not None and not domain.fhir_map:
            problems.append(f"{where}: 值域 {domain.code} 没有 fhir_map，不能映射到 FHIR code 元素（{path}）")
    return problems


def _domain_codes(field: str, fields: dict[str, ElementSpec | None], catalogue: CatalogueSpec) -> set[str] | None:
    element = fields.get(field)
    if element is None or not element.value_domain or element.value_domain not in catalogue.value_domains:
        return None
    return {v.code for v in catalogue.value_domains[element.value_domain].values}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rule_problems(rule: RuleSpec, fields: dict[str, ElementSpec | None], catalogue: CatalogueSpec) -> list[str]:
    p = rule.params
    needed = {"compare": ("left", "op", "right"), "range": ("field",), "required_if": ("field", "when"),
              "forbidden_if": ("field", "when"), "age_between": ("birth_field", "date_field"),
              "unit_for_code": ("field", "code_field", "units"), "idcard": ("field",),
              "exists": ("field", "target"), "timeliness": ("field", "hours"), "unique": ("fields",)}[rule.type]
    missing = [k for k in needed if k not in p]
    if missing:
        return [f"缺少参数 {', '.join(missing)}"]
    problems: list[str] = []
    if rule.type == "compare" and p["op"] not in _OPS:
        problems.append(f"比较运算符 {p['op']!r} 不是 < <= > >= == != 之一")
    if rule.type in ("range", "age_between"):
        bounds = [p[k] for k in ("min", "max") if k in p]
        if not bounds or not all(_is_number(b) for b in bounds):
            problems.append("min/max 至少填写一个，且须为数字")
    if rule.type == "exists" and p["target"] not in _EXISTS_TARGETS:
        problems.append(f"引用目标 {p['target']} 不是 Organization、Practitioner 或 Patient")
    if rule.type == "timeliness":
        if not _is_number(p["hours"]) or p["hours"] <= 0:
            problems.append("hours 须为正数")
        element = fields.get(p["field"])
        if element is not None and element.type != "DT":
            problems.append(f"及时性规则的字段 {p['field']} 须为日期时间（DT）类型")
    if rule.type == "unique" and (not isinstance(p["fields"], list) or not p["fields"]):
        problems.append("fields 须为非空列表")
    when = p.get("when")
    if rule.type in ("required_if", "forbidden_if") or when is not None:
        if not isinstance(when, dict) or "field" not in when or not isinstance(when.get("in"), list):
            problems.append("when 须为 {field: 字段名, in: [代码…]}")
        else:
            codes = _domain_codes(when["field"], fields, catalogue)
            if codes is not None:
                problems.extend(f"条件代码 {c} 不在字段 {when['field']} 的值域中" for c in when["in"]
                                if str(c) not in codes)
    if rule.type == "unit_for_code":
        codes = _domain_codes(p["code_field"], fields, catalogue)
        if not isinstance(p["units"], dict):
            problems.append("units 须为 {代码: [单位…]}")
        elif codes is not None:
            problems.extend(f"单位规则的代码 {c} 不在字段 {p['code_field']} 的值域中" for c in p["units"]
                            if str(c) not in codes)
    return problems
