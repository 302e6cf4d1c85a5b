"""fhirpathpy evaluation of search-parameter expressions, for what the compiler does not support.

Also the reference implementation the tests compare the compiled fast path against. Two rewrites keep
fhirpathpy usable on real data, each matching how HAPI FHIR and Medplum read the official expressions:

- ``X as T`` is evaluated as ``X.ofType(T)``: fhirpathpy (per the FHIRPath spec) raises on ``as`` over a
  collection, and ``Observation.component.value as Quantity`` is one for every multi-component Observation.
- a trailing ``.where(resolve() is T)`` is cut off and applied to the extracted reference rows instead
  (fhirpathpy has no ``resolve()``; the type of a literal reference is known without resolving it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from jizuo.fhir.searchparams.registry import split_union
from jizuo.fhir.searchparams.rows import IndexRows, Target, converter_for, infer_datatype

_RESOLVE_IS_RE = re.compile(r"\.where\(resolve\(\) is (\w+)\)")
_PAREN_AS_RE = re.compile(r"\(([A-Za-z][\w.]*) as (\w+)\)")
_BARE_AS_RE = re.compile(r"^([A-Za-z][\w.]*) as (\w+)$")

FhirpathFn = Callable[[dict[str, Any]], list[Any]]


def fhirpathpy_branches(expression: str) -> list[tuple[str, str | None]]:
    """[(expression for fhirpathpy, resolve-is type or None)], one per union branch."""
    out: list[tuple[str, str | None]] = []
    for branch in split_union(expression):
        resolve_is = None
        match = _RESOLVE_IS_RE.search(branch)
        if match is not None:
            resolve_is = match.group(1)
            branch = branch[: match.start()] + branch[match.end() :]
        branch = _PAREN_AS_RE.sub(r"\1.ofType(\2)", branch)
        branch = _BARE_AS_RE.sub(r"\1.ofType(\2)", branch)
        out.append((branch, resolve_is))
    return out


@cache
def compile_fhirpath(expression: str) -> FhirpathFn:
    """fhirpathpy's compiled form of ``expression`` with the R4 model (choice types), cached."""
    import fhirpathpy
    from fhirpathpy.models import models

    compiled = fhirpathpy.compile(expression, models["r4"])
    return lambda resource: list(compiled(resource, {}))


class FallbackParam:
    """One parameter evaluated by fhirpathpy; values are typed by shape (``infer_datatype``)."""

    __slots__ = ("param_type", "parts")

    def __init__(self, code: str, param_type: str, expression: str, targets: tuple[str, ...]) -> None:
        self.param_type = param_type
        self.parts = [
            (compile_fhirpath(expr), Target(code, targets, resolve_is))
            for expr, resolve_is in fhirpathpy_branches(expression)
        ]

    def run(self, resource: dict[str, Any], rows: IndexRows) -> None:
        for evaluate, target in self.parts:
            try:
                values = evaluate(resource)
            except Exception:  # fhirpathpy raises on malformed input; an index row is not worth a failed write
                continue
            convert_untyped(self.param_type, target, values, rows)


def convert_untyped(param_type: str, target: Target, values: list[Any], rows: IndexRows) -> None:
    for value in values:
        datatype = infer_datatype(param_type, value)
        converter = converter_for(param_type, datatype) if datatype else None
        if converter is not None:
            converter(target, value, rows)
