"""Composite search parameters (`code-value-quantity=http://loinc.org|8480-6$gt140` …).

A composite matches when all its components match *in the same element*: the same Observation (for
`code-value-*`), the same `component` (for `component-code-value-*`), either (for `combo-*`). Two conditions
together give exactly that:
  1. every component as its ordinary search parameter, over the index tables — the semi-joins that make it
     fast, and alone exact when the composite's context is the resource itself;
  2. when the context is a repeating element, one `jsonb_path_exists` over the resource that requires one
     element to satisfy all components at once (values passed as jsonpath variables, never spliced in).
Supported in element contexts: tokens on CodeableConcept/Coding/code, quantities, references — all the
composites of the clinical types this platform stores (Observation, DocumentReference). Others are refused
with an OperationOutcome rather than answered approximately.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, bindparam, cast, func, or_
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH

from jizuo.fhir.errors import FhirError
from jizuo.fhir.models import FhirResource
from jizuo.fhir.search.values import parse_number, split_pipe, take_prefix
from jizuo.fhir.searchparams import SearchParam
from jizuo.fhir.searchparams.registry import element_types, split_union

if TYPE_CHECKING:
    from jizuo.fhir.search.conditions import Condition, ConditionBuilder, Criterion

resource = FhirResource.__table__


def _unsupported(message: str) -> FhirError:
    return FhirError(message, issue="not-supported", code="unsupported_search")


def components_of(param: SearchParam, params: dict[str, SearchParam]) -> list[tuple[SearchParam, str]] | None:
    by_url = {p.url: p for p in params.values() if p.url}
    found = [(by_url.get(url), expression) for url, expression in param.components]
    if not found or any(p is None or p.type == "composite" for p, _ in found):
        return None
    return [(p, e) for p, e in found if p is not None]


def is_supported(res_type: str, param: SearchParam, params: dict[str, SearchParam]) -> bool:
    """For the CapabilityStatement: answered exactly by `composite_condition`."""
    components = components_of(param, params)
    if components is None or param.expression is None:
        return False
    contexts = _contexts(res_type, param.expression)
    if contexts == [""]:
        return True
    return all(_component_kind(res_type, ctx, p, e) is not None for ctx in contexts for p, e in components)


def composite_condition(builder: ConditionBuilder, param: SearchParam, criterion: Criterion) -> Condition:
    from jizuo.fhir.search.conditions import Criterion

    if criterion.modifier:
        raise _unsupported(f"组合检索参数 {param.code} 不支持修饰符 :{criterion.modifier}")
    params = builder.registry.params_for(builder.res_type)
    if not is_supported(builder.res_type, param, params):
        raise _unsupported(f"暂不支持组合检索参数：{param.code}")
    components = components_of(param, params)
    assert components is not None and param.expression is not None  # is_supported checked both
    contexts = _contexts(builder.res_type, param.expression)
    alternatives = []
    for raw in criterion.values:
        parts = raw.split("$")
        if len(parts) != len(components) or not all(parts):
            raise FhirError(f"组合检索参数 {param.code} 需要 {len(components)} 个以 $ 分隔的值：{raw}",
                            code="invalid_composite_value")
        indexed = [builder.condition(Criterion(p.code, part.replace(",", "\\,")))
                   for (p, _), part in zip(components, parts, strict=True)]
        if contexts == [""]:
            alternatives.append(and_(*indexed))
            continue
        together = [_same_element(builder, ctx, components, parts) for ctx in contexts]
        alternatives.append(and_(*indexed, or_(*together)))
    return or_(*alternatives)


# --- the same-element check ---------------------------------------------------------------------------------

def _contexts(res_type: str, expression: str) -> list[str]:
    """Element paths relative to the resource ('' for the resource itself)."""
    out = []
    for branch in split_union(expression):
        if branch == res_type:
            out.append("")
        elif branch.startswith(res_type + "."):
            out.append(branch[len(res_type) + 1:])
        else:
            out.append("?" + branch)
    return out


def _value_keys(expression: str) -> list[str] | None:
    """`value.as(Quantity) | value.as(Range)` → ['valueQuantity', 'valueRange']; None for other shapes."""
    keys = []
    for branch in split_union(expression):
        if not (branch.startswith("value.as(") and branch.endswith(")")):
            return None
        kind = branch[len("value.as("):-1]
        keys.append("value" + kind[:1].upper() + kind[1:])
    return keys


def _component_kind(res_type: str, context: str, param: SearchParam, expression: str) -> tuple[str, str] | None:
    """(kind, JSON key) of a component inside an element context, or None when not supported there."""
    if context.startswith("?") or "%resource" in expression:
        return None
    types = element_types().get(res_type, {})
    prefix = f"{context}." if context else ""
    if param.type == "token" and "." not in expression and "(" not in expression:
        datatype = types.get(prefix + expression)
        kinds = {"CodeableConcept": "concept", "Coding": "coding", "code": "code"}
        return (kinds[datatype], expression) if datatype in kinds else None
    keys = _value_keys(expression)
    if param.type == "token" and keys == ["valueCodeableConcept"]:
        return "concept", keys[0]
    if param.type == "quantity" and keys == ["valueQuantity"]:
        return "quantity", keys[0]
    if param.type == "reference" and "." not in expression and types.get(prefix + expression) == "Reference":
        return "reference", expression
    return None


def _same_element(builder: ConditionBuilder, context: str, components: list[tuple[SearchParam, str]],
                  parts: list[str]) -> Condition:
    path = "$" + "".join(f".{step}[*]" for step in context.split(".")) if context else "$"
    filters: list[str] = []
    variables: dict[str, Any] = {}
    for n, ((param, expression), value) in enumerate(zip(components, parts, strict=True)):
        kind = _component_kind(builder.res_type, context, param, expression)
        assert kind is not None  # checked by is_supported
        filters.append(_filter(builder, kind, value, n, variables))
    jsonpath = f"{path} ? ({' && '.join(filters)})"
    return func.jsonb_path_exists(resource.c.resource, cast(bindparam(None, jsonpath, type_=String, unique=True),
                                                            JSONPATH),
                                  bindparam(None, variables, type_=JSONB, unique=True))


def _filter(builder: ConditionBuilder, kind: tuple[str, str], value: str, n: int, variables: dict[str, Any]) -> str:
    what, key = kind
    if what in ("concept", "coding", "code"):
        system, code = split_pipe(value)
        variables[f"c{n}"] = builder.token_code(system, code)
        tests = [f"@.code == $c{n}"]
        if system:
            variables[f"s{n}"] = system
            tests.append(f"@.system == $s{n}")
        if what == "code":
            return f"@.{key} == $c{n}"
        coding = f"@.{key}.coding[*]" if what == "concept" else f"@.{key}"
        return f"exists({coding} ? ({' && '.join(tests)}))"
    if what == "quantity":
        number, _, unit = value.partition("|")
        tests = [_compare(number, n, variables)]
        system, _, code = unit.partition("|")
        if system:
            variables[f"qs{n}"] = system
            tests.append(f"@.system == $qs{n}")
        if code:
            variables[f"qc{n}"] = code
            tests.append(f"(@.code == $qc{n} || @.unit == $qc{n})")
        return f"exists(@.{key} ? ({' && '.join(tests)}))"
    # reference: "Type/id" as written in the resource
    if "/" not in value:
        raise FhirError(f"组合检索中的引用需要写成 类型/ID：{value}", code="invalid_composite_value")
    variables[f"r{n}"] = value
    return f"@.{key}.reference == $r{n}"


def _compare(raw: str, n: int, variables: dict[str, Any]) -> str:
    prefix, value = take_prefix(raw)
    number, low, high = parse_number(value)
    variables.update({f"n{n}": float(number), f"lo{n}": float(low), f"hi{n}": float(high),
                      f"al{n}": float(number - abs(number) / 10), f"ah{n}": float(number + abs(number) / 10)})
    v = "@.value"
    return {
        "eq": f"({v} >= $lo{n} && {v} < $hi{n})", "ne": f"({v} < $lo{n} || {v} >= $hi{n})",
        "gt": f"{v} > $n{n}", "sa": f"{v} > $n{n}", "lt": f"{v} < $n{n}", "eb": f"{v} < $n{n}",
        "ge": f"{v} >= $n{n}", "le": f"{v} <= $n{n}",
    }.get(prefix, f"({v} >= $al{n} && {v} <= $ah{n})")
