"""Search criteria → SQL conditions over the index tables (DESIGN §3), including chains and `_has`.

Each criterion becomes `rid IN (SELECT rid FROM fhir_idx_<kind> WHERE ...)`: PostgreSQL turns these into
semi-joins driven by whichever index is most selective, so AND-ed criteria narrow each other cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_, select, true

from jizuo.fhir.errors import FhirError
from jizuo.fhir.models import (
    FhirResource,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
)
from jizuo.fhir.search.composite import composite_condition
from jizuo.fhir.search.values import parse_date_range, parse_number, split_or, split_pipe, take_prefix
from jizuo.fhir.searchparams import SearchParam, get_registry, normalise_string

Condition = ColumnElement[bool]
resource = FhirResource.__table__
TOKEN_MODIFIERS = {None, "not", "text", "missing", "exact"}
STRING_MODIFIERS = {None, "exact", "contains", "missing", "text"}


class Criterion:
    """One query parameter: `name[:modifier][.chain]=value[,value]` (values are OR-ed)."""

    def __init__(self, name: str, raw_value: str) -> None:
        self.raw_name, self.raw_value = name, raw_value
        head, _, self.chain = name.partition(".")
        self.code, _, modifier = head.partition(":")
        self.modifier = modifier or None
        self.values = split_or(raw_value)


def unsupported(message: str) -> FhirError:
    return FhirError(message, issue="not-supported", code="unsupported_search")


def _in_index(table: Any, res_type: str, param: str, *conditions: Condition) -> Condition:
    return resource.c.rid.in_(select(table.c.rid).where(table.c.res_type == res_type, table.c.param == param,
                                                        *conditions))


def _has_any(table: Any, res_type: str, param: str) -> Condition:
    return _in_index(table, res_type, param)


class ConditionBuilder:
    """Builds the WHERE clause of a search on one resource type; recursive for chains and `_has`."""

    def __init__(self, res_type: str) -> None:
        self.res_type = res_type
        self.registry = get_registry()
        self.unknown: list[str] = []
        # A date criterion that asks for "from X on" (ge, gt, sa): its matches are the recent arrivals, so an
        # unsorted search reads newest first and stops at once instead of walking years of older rows.
        self.recent_first = False

    # --- entry point ------------------------------------------------------------------------------------
    def condition(self, criterion: Criterion) -> Condition:
        if criterion.code == "_has":
            return self._has(criterion)
        if criterion.code == "_id":
            return self._id(criterion)
        if criterion.code == "_lastUpdated":
            self._note_direction(criterion)
            return or_(*[self._date_against(value, resource.c.last_updated, resource.c.last_updated
                                            + timedelta(microseconds=1)) for value in criterion.values])
        param = self.registry.param(self.res_type, criterion.code)
        if param is None:
            self.unknown.append(criterion.raw_name)
            return true()
        if param.expression is None and param.type != "composite":
            # _content, _text, _query: defined by R4 without an expression, answered by nothing here
            raise unsupported(f"暂不支持检索参数：{criterion.code}")
        if criterion.chain:
            return self._chain(param, criterion)
        if criterion.modifier == "missing":
            return self._missing(param, criterion.values[0])
        build = getattr(self, f"_{param.type}", None)
        if build is None:
            raise unsupported(f"暂不支持 {param.type} 类型的检索参数：{criterion.code}")
        condition: Condition = build(param, criterion)
        return condition

    # --- special parameters -----------------------------------------------------------------------------
    def _id(self, criterion: Criterion) -> Condition:
        condition = resource.c.id.in_(criterion.values)
        return not_(condition) if criterion.modifier == "not" else condition

    def _missing(self, param: SearchParam, value: str) -> Condition:
        table = TABLE_OF_TYPE.get(param.type)
        if table is None or value not in ("true", "false"):
            raise unsupported(f"{param.code}:missing 只接受 true 或 false")
        present = _has_any(table, self.res_type, param.code)
        return not_(present) if value == "true" else present

    # --- by parameter type ------------------------------------------------------------------------------
    def _token(self, param: SearchParam, criterion: Criterion) -> Condition:
        if criterion.modifier not in TOKEN_MODIFIERS:
            raise unsupported(f"检索参数 {param.code} 不支持修饰符 :{criterion.modifier}")
        t = idx_token
        if criterion.modifier == "text":
            matches = [t.c.display.ilike(f"%{v}%") for v in criterion.values]
            return _in_index(t, self.res_type, param.code, or_(*matches))
        alternatives = []
        for value in criterion.values:
            system, code = split_pipe(value)
            code = self.token_code(system, code)
            parts = []
            if code:
                parts.append(t.c.code == code)
            if system == "":
                parts.append(t.c.system.is_(None))
            elif system:
                parts.append(t.c.system == system)
            alternatives.append(and_(*parts) if parts else true())
        matching = _in_index(t, self.res_type, param.code, or_(*alternatives))
        return not_(matching) if criterion.modifier == "not" else matching

    def token_code(self, system: str | None, code: str) -> str:
        """Hook: the service swaps a 身份证 or phone number for its blind index (see personal_data)."""
        return code

    def _string(self, param: SearchParam, criterion: Criterion) -> Condition:
        if criterion.modifier not in STRING_MODIFIERS:
            raise unsupported(f"检索参数 {param.code} 不支持修饰符 :{criterion.modifier}")
        s = idx_string
        alternatives = []
        for value in criterion.values:
            if criterion.modifier == "exact":
                alternatives.append(s.c.value_exact == value)
            elif criterion.modifier in ("contains", "text"):
                alternatives.append(s.c.value_norm.contains(normalise_string(value), autoescape=True))
            else:
                alternatives.append(s.c.value_norm.startswith(normalise_string(value), autoescape=True))
        return _in_index(s, self.res_type, param.code, or_(*alternatives))

    def _note_direction(self, criterion: Criterion) -> None:
        if all(take_prefix(value)[0] in ("ge", "gt", "sa") for value in criterion.values):
            self.recent_first = True

    def _date(self, param: SearchParam, criterion: Criterion) -> Condition:
        self._note_direction(criterion)
        d = idx_date
        return _in_index(d, self.res_type, param.code,
                         or_(*[self._date_against(v, d.c.low, d.c.high) for v in criterion.values]))

    def _date_against(self, raw: str, low: Any, high: Any) -> Condition:
        prefix, value = take_prefix(raw)
        vlow, vhigh = parse_date_range(value)
        within = and_(low >= vlow, high <= vhigh)
        match prefix:
            case "eq":
                return within
            case "ne":
                return not_(within)
            case "gt":
                return high > vhigh
            case "lt":
                return low < vlow
            case "ge":
                return or_(high > vhigh, within)
            case "le":
                return or_(low < vlow, within)
            case "sa":
                return low >= vhigh
            case "eb":
                return high <= vlow
            case _:  # ap: within 10% of the distance from now, at least a day
                now = datetime.now(UTC)
                slack = max(timedelta(days=1), abs(now - vlow) / 10)
                return and_(low < vhigh + slack, high > vlow - slack)

    def _number_against(self, raw: str, column: Any) -> Condition:
        prefix, value = take_prefix(raw)
        number, low, high = parse_number(value)
        match prefix:
            case "eq":
                return and_(column >= low, column < high)
            case "ne":
                return or_(column < low, column >= high)
            case "gt" | "sa":
                return column > number
            case "lt" | "eb":
                return column < number
            case "ge":
                return column >= number
            case "le":
                return column <= number
            case _:
                slack = abs(number) / 10
                return and_(column >= number - slack, column <= number + slack)

    def _number(self, param: SearchParam, criterion: Criterion) -> Condition:
        n = idx_number
        return _in_index(n, self.res_type, param.code,
                         or_(*[self._number_against(v, n.c.value) for v in criterion.values]))

    def _quantity(self, param: SearchParam, criterion: Criterion) -> Condition:
        q = idx_quantity
        alternatives = []
        for raw in criterion.values:
            number, _, rest = raw.partition("|")
            parts = [self._number_against(number, q.c.value)]
            if rest:
                system, _, code = rest.partition("|")
                if system:
                    parts.append(q.c.system == system)
                if code:
                    parts.append(q.c.code == code)
            alternatives.append(and_(*parts))
        return _in_index(q, self.res_type, param.code, or_(*alternatives))

    def _uri(self, param: SearchParam, criterion: Criterion) -> Condition:
        u = idx_uri
        if criterion.modifier == "below":
            matches = [u.c.value.startswith(v, autoescape=True) for v in criterion.values]
        elif criterion.modifier in (None, "exact"):
            matches = [u.c.value == v for v in criterion.values]
        else:
            raise unsupported(f"检索参数 {param.code} 不支持修饰符 :{criterion.modifier}")
        return _in_index(u, self.res_type, param.code, or_(*matches))

    def _reference(self, param: SearchParam, criterion: Criterion) -> Condition:
        r = idx_reference
        type_modifier = criterion.modifier if criterion.modifier and criterion.modifier[0].isupper() else None
        if criterion.modifier and not type_modifier:
            raise unsupported(f"检索参数 {param.code} 不支持修饰符 :{criterion.modifier}")
        alternatives = []
        for value in criterion.values:
            target_type, target_id = parse_reference_value(value, type_modifier)
            if target_id is None:
                alternatives.append(r.c.url == value)
                continue
            parts: list[Condition] = [r.c.target_id == target_id]
            if target_type:
                parts.append(r.c.target_type == target_type)
            alternatives.append(and_(*parts))
        return _in_index(r, self.res_type, param.code, or_(*alternatives))

    def _composite(self, param: SearchParam, criterion: Criterion) -> Condition:
        return composite_condition(self, param, criterion)

    def _special(self, param: SearchParam, criterion: Criterion) -> Condition:
        raise unsupported(f"暂不支持特殊检索参数：{param.code}")

    # --- chains and reverse chains ------------------------------------------------------------------------
    def _chain(self, param: SearchParam, criterion: Criterion) -> Condition:
        if param.type != "reference":
            raise FhirError(f"只有引用类型参数可以链式检索：{criterion.code}", code="invalid_chain")
        targets = [criterion.modifier] if criterion.modifier else list(param.targets)
        nested_name, _, rest = criterion.chain.partition(".")
        alternatives = []
        for target in targets:
            inner_builder = ConditionBuilder(target)
            inner_builder.token_code = self.token_code  # type: ignore[method-assign]
            inner_name = nested_name + (f".{rest}" if rest else "")
            if not inner_builder.knows(inner_name.split(".")[0].split(":")[0]):
                continue
            inner = inner_builder.condition(Criterion(inner_name, criterion.raw_value))
            target_ids = select(resource.c.id).where(resource.c.res_type == target, resource.c.deleted.is_(False),
                                                     inner).scalar_subquery()
            r = idx_reference
            alternatives.append(_in_index(r, self.res_type, param.code, r.c.target_type == target,
                                          r.c.target_id.in_(target_ids)))
        if not alternatives:
            raise FhirError(f"链式参数 {criterion.raw_name} 在目标类型 {', '.join(targets)} 上都不存在",
                            code="invalid_chain")
        return or_(*alternatives)

    def knows(self, code: str) -> bool:
        return code in ("_id", "_lastUpdated", "_has") or self.registry.param(self.res_type, code) is not None

    def _has(self, criterion: Criterion) -> Condition:
        # _has:Observation:patient:code=1234 (and nested _has:...:_has:... on the right)
        parts = criterion.raw_name.split(":", 3)
        if len(parts) < 4:
            raise FhirError("_has 的格式应为 _has:类型:引用参数:检索参数=值", code="invalid_has")
        _, source_type, reference_param, inner_name = parts
        builder = ConditionBuilder(source_type)
        builder.token_code = self.token_code  # type: ignore[method-assign]
        reference = builder.registry.param(source_type, reference_param)
        if reference is None or reference.type != "reference":
            raise FhirError(f"{source_type} 没有引用参数 {reference_param}", code="invalid_has")
        inner = builder.condition(Criterion(inner_name, criterion.raw_value))
        r = idx_reference
        sources = select(resource.c.rid).where(resource.c.res_type == source_type, resource.c.deleted.is_(False),
                                               inner)
        return resource.c.id.in_(select(r.c.target_id).where(
            r.c.res_type == source_type, r.c.param == reference_param, r.c.target_type == self.res_type,
            r.c.rid.in_(sources)))


def parse_reference_value(value: str, type_modifier: str | None) -> tuple[str | None, str | None]:
    """'123' → (modifier, '123'); 'Patient/123' → ('Patient','123'); absolute URL → its last two segments."""
    segments = [s for s in value.split("/") if s]
    if "://" in value or value.startswith("urn:"):
        if "://" in value and len(segments) >= 2 and segments[-2][:1].isupper():
            return segments[-2], segments[-1]
        return None, None
    if len(segments) == 1:
        return type_modifier, segments[0]
    if len(segments) >= 2:
        return segments[-2], segments[-1]
    return type_modifier, value


TABLE_OF_TYPE: dict[str, Any] = {"token": idx_token, "string": idx_string, "date": idx_date,
                                 "reference": idx_reference, "quantity": idx_quantity, "number": idx_number,
                                 "uri": idx_uri}
