"""``extract_index(resource)``: the search-index rows of one resource, for the store's bulk insert.

Per resource type a ``Plan`` is built once: every parameter's narrowed expression is compiled into branches
(see compiler.py) and grouped by the top-level JSON key each branch starts from. Extraction then loops over
the keys the resource actually has (~10) instead of over its ~40 parameters, and each hit is a short walk
plus a converter chosen at compile time for the branch's datatype. Parameters outside the compiler's subset
run through fhirpathpy (fallback.py); ``fallback_params()`` lists them (none of the R4 core set today).

Datatypes come from the official 4.0.1 StructureDefinitions (``data/element_types.json``), not from sniffing
values nor from ``fhir.resources`` (which models R4B: a few R4 paths differ): the compiler knows statically
that ``Observation.effective`` has four JSON keys and which datatype each holds, so a value is never guessed.

Not indexed, by design:
- composite parameters (``code-value-quantity`` …): their components are indexed as the ordinary parameters
  they are built from; the store can answer a composite by joining those (to be done with the search side).
- ``special`` (``Location.near``) and parameters without an expression (``_text``, ``_content``, ``_query``).
- values of datatypes a parameter type has no meaning for (e.g. SampledData under a quantity parameter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jizuo.fhir.searchparams.compiler import Unsupported, Walker, compile_branches, make_walker
from jizuo.fhir.searchparams.fallback import FallbackParam
from jizuo.fhir.searchparams.registry import SearchParam, get_registry
from jizuo.fhir.searchparams.rows import Converter, IndexRows, Target, converter_for

INDEXED_TYPES = frozenset({"number", "date", "string", "token", "reference", "quantity", "uri"})

# One walk feeds every parameter that shares it (combo-code and component-code both walk component.code).
Entry = tuple[Walker, list[tuple[Converter, Target]]]


@dataclass(slots=True)
class Plan:
    resource_type: str
    by_key: dict[str, list[Entry]] = field(default_factory=dict)
    walkers: dict[tuple[str, tuple[Any, ...]], list[tuple[Converter, Target]]] = field(default_factory=dict)
    predicates: list[Callable[[dict[str, Any], IndexRows], None]] = field(default_factory=list)
    fallbacks: list[FallbackParam] = field(default_factory=list)
    fallback_codes: dict[str, str] = field(default_factory=dict)  # code -> why the compiler refused it
    skipped: dict[str, str] = field(default_factory=dict)  # code -> why it yields no rows
    unindexed_datatypes: dict[str, list[str]] = field(default_factory=dict)  # code -> datatypes dropped


def _add_param(plan: Plan, param: SearchParam) -> None:
    code = param.code
    if param.type not in INDEXED_TYPES:
        plan.skipped[code] = f"{param.type} parameter"
        return
    if not param.expression:
        plan.skipped[code] = "no expression"
        return
    try:
        branches = compile_branches(param.expression, plan.resource_type)
    except Unsupported as exc:
        plan.fallbacks.append(FallbackParam(code, param.type, param.expression, param.targets))
        plan.fallback_codes[code] = str(exc)
        return
    predicate_walks: list[tuple[str, Walker]] = []
    for branch in branches:
        target = Target(code, param.targets, branch.resolve_is)
        if branch.predicate == "exists-not-false":
            predicate_walks.append((branch.root_key, make_walker(branch.steps)))
            continue
        converter = converter_for(param.type, branch.datatype)
        if converter is None:
            plan.unindexed_datatypes.setdefault(code, []).append(branch.datatype)
            continue
        sinks = plan.walkers.get((branch.root_key, branch.steps))
        if sinks is None:
            sinks = plan.walkers[(branch.root_key, branch.steps)] = []
            plan.by_key.setdefault(branch.root_key, []).append((make_walker(branch.steps), sinks))
        sinks.append((converter, target))
    if predicate_walks:

        def run(resource: dict[str, Any], rows: IndexRows) -> None:
            values = [v for k, walk in predicate_walks if k in resource for v in walk(resource[k])]
            rows.tokens.append((code, None, "true" if any(v is not False for v in values) else "false", None))

        plan.predicates.append(run)


@cache
def get_plan(resource_type: str) -> Plan | None:
    """The compiled extraction plan of a resource type (None for an unknown type); built once, cached."""
    params = get_registry().params_for(resource_type)
    if not params:
        return None
    plan = Plan(resource_type)
    for param in params.values():
        _add_param(plan, param)
    return plan


def extract_index(resource: dict[str, Any]) -> IndexRows:
    """Index rows of ``resource`` (FHIR JSON as parsed). Never raises on odd content: bad values are skipped."""
    rows = IndexRows()
    rtype = resource.get("resourceType")
    plan = get_plan(rtype) if isinstance(rtype, str) else None
    if plan is None:
        return rows
    by_key = plan.by_key
    for key, value in resource.items():
        entries = by_key.get(key)
        if entries is None:
            continue
        for walker, sinks in entries:
            try:
                items = walker(value)
                for converter, target in sinks:
                    for item in items:
                        converter(target, item, rows)
            except Exception:  # malformed resource content; skip this value rather than fail the write
                continue
    for predicate in plan.predicates:
        predicate(resource, rows)
    for fallback in plan.fallbacks:
        fallback.run(resource, rows)
    rows.dedupe()
    return rows


def fallback_params() -> dict[str, dict[str, str]]:
    """{resource type: {param code: reason}} of the parameters evaluated by fhirpathpy."""
    out: dict[str, dict[str, str]] = {}
    for rtype in get_registry().resource_types():
        plan = get_plan(rtype)
        if plan is not None and plan.fallback_codes:
            out[rtype] = dict(plan.fallback_codes)
    return out
