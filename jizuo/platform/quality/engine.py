"""The quality engine: a data set's rules, compiled once, checked against each record.

Field-level rules come from the catalogue itself — `required` (completeness), the element's data type and
format (conformity), its value domain (conformity) and plausible range — and the data set adds cross-field
rules (`RuleSpec`: compare, range, required_if, forbidden_if, age_between, unit_for_code, idcard, exists,
timeliness, unique). Every failed rule is reported, not only the first, so an institution fixes a record in
one pass. Rules with severity "warning" are reported but do not hold the record back.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jizuo.core.idcard import validate_id_number
from jizuo.platform.quality.values import Reader, format_description, reader_for
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec, ElementSpec, FieldSpec, RuleSpec

_OPS: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
_OP_TEXT = {"<": "早于/小于", "<=": "不晚于/不大于", ">": "晚于/大于", ">=": "不早于/不小于",
            "==": "等于", "!=": "不等于"}


@dataclass(frozen=True)
class Failure:
    rule: str
    dimension: str
    severity: str
    message: str
    field: str | None = None
    element: str | None = None

    def as_dict(self, row: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "dimension": self.dimension, "severity": self.severity,
                               "message": self.message, "field": self.field, "element": self.element}
        if row is not None:
            out["row"] = row
        return out


@dataclass
class References:
    """Codes a referential rule may look up, loaded once per batch."""

    organizations: frozenset[str] = frozenset()
    practitioners: frozenset[str] = frozenset()


@dataclass
class Checked:
    values: dict[str, Any]                  # normalised values of the fields that parsed
    failures: list[Failure] = field(default_factory=list)
    required_total: int = 0
    required_filled: int = 0

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def passed(self) -> bool:
        return not any(f.severity == "error" for f in self.failures)

    @property
    def late(self) -> bool:
        return any(f.dimension == "timeliness" for f in self.failures)


@dataclass(frozen=True)
class _Field:
    spec: FieldSpec
    element: ElementSpec
    read: Reader
    domain: frozenset[str] | None
    format_text: str

    @property
    def title(self) -> str:
        return self.spec.label or self.element.name


RowCheck = Callable[[dict[str, Any], dict[str, str], "Context"], Failure | None]


@dataclass
class Context:
    received_at: datetime
    references: References
    seen_keys: set[tuple[Any, ...]]


class Validator:
    """A compiled data set. `check(raw, ctx)` → `Checked`; thread-safe and reusable across batches."""

    def __init__(self, data_set: DataSetSpec, catalogue: CatalogueSpec) -> None:
        self.data_set = data_set
        self.fields = [self._compile_field(f, catalogue) for f in data_set.fields]
        self.by_name = {f.spec.name: f for f in self.fields}
        self.row_checks: list[RowCheck] = [_compile_rule(r, self) for r in data_set.rules]
        self.rule_count = sum(1 + (f.domain is not None) + f.spec.required
                              + (f.element.min is not None or f.element.max is not None)
                              for f in self.fields) + len(self.row_checks)

    @staticmethod
    def _compile_field(spec: FieldSpec, catalogue: CatalogueSpec) -> _Field:
        element = catalogue.elements[spec.element]
        domain = None
        if element.value_domain:
            domain = frozenset(v.code for v in catalogue.value_domains[element.value_domain].values)
        return _Field(spec, element, reader_for(element), domain, format_description(element.format))

    def check(self, raw: Mapping[str, str | None], ctx: Context) -> Checked:
        result = Checked(values={})
        values = result.values
        failures = result.failures
        for f in self.fields:
            name = f.spec.name
            text = raw.get(name)
            text = text.strip() if text else ""
            if f.spec.required:
                result.required_total += 1
            if not text:
                if f.spec.required:
                    failures.append(Failure(f"{name}.required", "completeness", "error",
                                            f"{f.title}（{f.element.id}）为必填项，未填写", name, f.element.id))
                continue
            if f.spec.required:
                result.required_filled += 1
            try:
                value = f.read(text)
            except (ValueError, TypeError, OverflowError):
                failures.append(Failure(f"{name}.format", "conformity", "error",
                                        f"{f.title}“{text[:40]}”格式不符，应为{f.format_text}", name, f.element.id))
                continue
            if f.domain is not None and value not in f.domain:
                failures.append(Failure(f"{name}.domain", "conformity", "error",
                                        f"{f.title}“{text[:40]}”不在值域 {f.element.value_domain} 中",
                                        name, f.element.id))
                continue
            low, high = f.element.min, f.element.max
            if (low is not None or high is not None) and isinstance(value, float) and (
                    (low is not None and value < low) or (high is not None and value > high)):
                unit = f.element.unit or ""
                failures.append(Failure(f"{name}.range", "conformity", "error",
                                        f"{f.title} {text}{unit} 超出合理范围 {low}–{high}{unit}", name,
                                        f.element.id))
                continue
            values[name] = value
        for rule_check in self.row_checks:
            failure = rule_check(values, raw, ctx)  # type: ignore[arg-type]
            if failure is not None:
                failures.append(failure)
        return result

    def key_of(self, values: Mapping[str, Any], raw: Mapping[str, str | None]) -> tuple[str, ...]:
        return tuple(str(values.get(k, (raw.get(k) or "").strip())) for k in self.data_set.key)


def header_map(data_set: DataSetSpec, catalogue: CatalogueSpec, headers: Iterable[str]) -> dict[str, str]:
    """Column header → field name. A header may be the field name, the element id, the element's Chinese name
    or the field's label — institutions export whichever their HIS prints."""
    names: dict[str, str] = {}
    for f in data_set.fields:
        element = catalogue.elements[f.element]
        for alias in (f.name, f.element, element.name, f.label):
            if alias:
                names.setdefault(alias.strip().lower(), f.name)
    return {h: names[h.strip().lower()] for h in headers if h and h.strip().lower() in names}


# ------------------------------------------------------------------------------------------------ rules


def _failure(rule: RuleSpec, v: Validator, field_name: str | None) -> Failure:
    element = v.by_name[field_name].element.id if field_name in v.by_name else None
    return Failure(rule.id, rule.dimension, rule.severity, rule.message, field_name, element)


def _years_between(birth: date, moment: date) -> int:
    return moment.year - birth.year - ((moment.month, moment.day) < (birth.month, birth.day))


def _as_date(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value


def _compile_rule(rule: RuleSpec, v: Validator) -> RowCheck:
    p = rule.params
    compile_ = _RULES[rule.type]
    return compile_(rule, p, v)


def _compare(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    left, right, op = p["left"], p["right"], _OPS[p["op"]]
    failure = _failure(rule, v, left)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        a, b = values.get(left), values.get(right)
        if a is None or b is None:
            return None
        if isinstance(a, datetime) != isinstance(b, datetime):  # date against date-time: compare days
            a, b = _as_date(a), _as_date(b)
        return None if op(a, b) else failure
    return check


def _range(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, low, high = p["field"], p.get("min"), p.get("max")
    failure = _failure(rule, v, name)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        value = values.get(name)
        if not isinstance(value, float | int):
            return None
        return failure if (low is not None and value < low) or (high is not None and value > high) else None
    return check


def _condition(p: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    when = p["when"]
    field_name, allowed = when["field"], {str(x) for x in when.get("in", [])}
    return lambda values: values.get(field_name) is not None and str(values[field_name]) in allowed


def _required_if(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, holds = p["field"], _condition(p)
    failure = _failure(rule, v, name)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        return failure if holds(values) and not (raw.get(name) or "").strip() else None
    return check


def _forbidden_if(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, holds = p["field"], _condition(p)
    allowed = {str(x) for x in p.get("allowed", [])}
    failure = _failure(rule, v, name)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        text = (raw.get(name) or "").strip()
        return failure if holds(values) and text and text not in allowed else None
    return check


def _age_between(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    birth_field, date_field = p["birth_field"], p["date_field"]
    low, high = p.get("min"), p.get("max")
    holds = _condition(p) if "when" in p else None
    failure = _failure(rule, v, birth_field)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        birth, moment = _as_date(values.get(birth_field)), _as_date(values.get(date_field))
        if birth is None or moment is None or (holds and not holds(values)):
            return None
        age = _years_between(birth, moment)
        return failure if (low is not None and age < low) or (high is not None and age > high) else None
    return check


def _unit_for_code(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    unit_field, code_field = p["field"], p["code_field"]
    units = {str(code): {u.lower() for u in allowed} for code, allowed in p["units"].items()}
    failure = _failure(rule, v, unit_field)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        code, unit = values.get(code_field), values.get(unit_field)
        if code is None or unit is None or str(code) not in units:
            return None
        return None if str(unit).lower() in units[str(code)] else failure
    return check


def _idcard(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, birth_field, sex_field = p["field"], p.get("birth_field"), p.get("sex_field")
    element = v.by_name[name].element.id if name in v.by_name else None

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        number = values.get(name)
        if number is None:
            return None
        try:
            number = validate_id_number(str(number), today=ctx.received_at.date())
        except ValueError as exc:
            return Failure(rule.id, rule.dimension, rule.severity, f"{rule.message}：{exc}", name, element)
        birth = _as_date(values.get(birth_field)) if birth_field else None
        if birth is not None and birth.strftime("%Y%m%d") != number[6:14]:
            return Failure(rule.id, "logic", rule.severity, f"{rule.message}：出生日期与身份证号码不一致",
                           name, element)
        sex = values.get(sex_field) if sex_field else None
        if sex in ("1", "2") and int(number[16]) % 2 != (1 if sex == "1" else 0):
            return Failure(rule.id, "logic", rule.severity, f"{rule.message}：性别与身份证号码不一致", name, element)
        return None
    return check


def _exists(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, target = p["field"], p["target"]
    failure = _failure(rule, v, name)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        code = values.get(name)
        if code is None:
            return None
        known = ctx.references.organizations if target == "Organization" else ctx.references.practitioners
        if target not in ("Organization", "Practitioner"):
            return None  # Patient existence is the MPI's job: an unknown patient becomes a new person
        return None if str(code) in known else failure
    return check


def _timeliness(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    name, limit = p["field"], timedelta(hours=float(p["hours"]))
    failure = _failure(rule, v, name)

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        event = values.get(name)
        if not isinstance(event, datetime):
            return None
        return failure if ctx.received_at - event > limit else None
    return check


def _unique(rule: RuleSpec, p: dict[str, Any], v: Validator) -> RowCheck:
    names = list(p["fields"])
    failure = _failure(rule, v, names[0])

    def check(values: dict[str, Any], raw: Any, ctx: Context) -> Failure | None:
        key = (rule.id, *(values.get(n) for n in names))
        if any(k is None for k in key[1:]):
            return None
        if key in ctx.seen_keys:
            return failure
        ctx.seen_keys.add(key)
        return None
    return check


_RULES: dict[str, Callable[[RuleSpec, dict[str, Any], Validator], RowCheck]] = {
    "compare": _compare, "range": _range, "required_if": _required_if, "forbidden_if": _forbidden_if,
    "age_between": _age_between, "unit_for_code": _unit_for_code, "idcard": _idcard, "exists": _exists,
    "timeliness": _timeliness, "unique": _unique,
}


def describe_rule(rule: RuleSpec) -> str:
    """One line of Chinese for the console's rule list."""
    p = rule.params
    if rule.type == "compare":
        return f"{p['left']} {_OP_TEXT.get(p['op'], p['op'])} {p['right']}"
    return rule.message
