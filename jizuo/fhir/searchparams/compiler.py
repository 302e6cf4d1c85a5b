"""Compile the FHIRPath subset used by search parameters into plain JSON-key walks.

Supported (covers every R4 parameter of the clinical/administrative types we index, see the tests):
dotted paths over lists, ``|`` unions, parentheses, ``X as T`` / ``X.as(T)`` / ``X.ofType(T)`` over choice
elements, ``.where(resolve() is T)``, ``.where(field='literal')``, ``[n]``, ``.first()``,
``.extension('url')`` and ``X.exists() and X != false``. Anything else raises ``Unsupported`` and the caller
falls back to fhirpathpy.

Each union branch becomes one or more ``Branch``es: choice elements are expanded at compile time into one
branch per concrete JSON key (``Observation.effective`` -> ``effectiveDateTime``, ``effectivePeriod``, …), so
each branch knows the datatype of what it yields and the runtime walk is a few dict lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jizuo.fhir.searchparams.registry import element_types, split_union

# Runtime walk steps: ("key", name) | ("eq", field, literal) | ("index", n) | ("ext", url)
Step = tuple[Any, ...]
Walker = Callable[[Any], list[Any]]


class Unsupported(ValueError):
    """The expression uses FHIRPath this compiler does not handle."""


@dataclass(frozen=True, slots=True)
class Branch:
    root_key: str  # top-level JSON key of the resource this branch starts from
    steps: tuple[Step, ...]  # walk after the root key
    datatype: str  # FHIR datatype of the yielded values
    resolve_is: str | None = None
    predicate: str | None = None  # "exists-not-false": yields one boolean for the whole resource


_TOKEN_RE = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(!=|[.()|\[\]=]))")
_EXISTS_NOT_FALSE_RE = re.compile(r"^(\S+)\.exists\(\) and (\S+) != false$")


def _tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    expression = expression.strip()
    while pos < len(expression):
        match = _TOKEN_RE.match(expression, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"cannot tokenize at {expression[pos:]!r}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; produces [(root type, [ops])] with parentheses multiplied out."""

    def __init__(self, expression: str) -> None:
        self.tokens = _tokenize(expression)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"expected {expected!r}, got {token!r}")
        self.pos += 1
        return token

    def parse(self) -> list[tuple[str, list[Step]]]:
        branches = self.union()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()!r}")
        return branches

    def union(self) -> list[tuple[str, list[Step]]]:
        branches = self.path()
        while self.peek() == "|":
            self.take("|")
            branches += self.path()
        return branches

    def path(self) -> list[tuple[str, list[Step]]]:
        if self.peek() == "(":
            self.take("(")
            branches = self.union()
            self.take(")")
        else:
            name = self.take()
            if not name[:1].isalpha():
                raise Unsupported(f"unexpected {name!r}")
            branches = [(name, [])]
        while True:
            ops = self.suffix()
            if ops is None:
                break
            branches = [(root, [*steps, *ops]) for root, steps in branches]
        return branches

    def suffix(self) -> list[Step] | None:
        token = self.peek()
        if token == "as":
            self.take()
            return [("as", self.type_name())]
        if token == "[":
            self.take()
            index = self.take()
            self.take("]")
            if not index.isdigit():
                raise Unsupported("non-literal index")
            return [("index", int(index))]
        if token != ".":
            return None
        self.take(".")
        name = self.take()
        if self.peek() != "(":
            return [("child", name)]
        self.take("(")
        if name in ("as", "ofType"):
            op: list[Step] = [("as", self.type_name())]
        elif name == "first":
            op = [("index", 0)]
        elif name == "extension":
            op = [("ext", self.literal())]
        elif name == "where":
            op = [self.condition()]
        else:
            raise Unsupported(f"function {name}()")
        self.take(")")
        return op

    def type_name(self) -> str:
        name = self.take()
        if name == "FHIR" and self.peek() == ".":
            self.take(".")
            name = self.take()
        return name

    def literal(self) -> str:
        token = self.take()
        if not token.startswith("'"):
            raise Unsupported("expected a string literal")
        return token[1:-1].replace("\\'", "'")

    def condition(self) -> Step:
        if self.peek() == "resolve":
            self.take()
            self.take("(")
            self.take(")")
            self.take("is")
            return ("resolve_is", self.type_name())
        field = self.take()
        self.take("=")
        return ("eq", field, self.literal())


def _child(owner: str, dtype: str, name: str) -> list[tuple[str, str, str]]:
    """[(json key, new owner, new datatype)] for stepping into ``name`` of a value of ``dtype``."""
    tables = element_types()
    if dtype.startswith("@"):
        prefix = dtype[1:]
        key = f"{prefix}.{name}" if prefix else name
    elif dtype in tables:
        owner, key = dtype, name
    else:
        raise Unsupported(f"navigation into primitive {dtype}.{name}")
    table = tables[owner]
    etype = table.get(key)
    if etype is not None:
        return [(name, owner, etype)]
    choice = table.get(key + "[x]")
    if choice is None:
        raise Unsupported(f"unknown element {owner}.{key}")
    return [(name + t[0].upper() + t[1:], owner, t) for t in choice.split("|")]


def compile_branches(expression: str, resource_type: str) -> list[Branch]:
    """Compile a narrowed expression into branches; raise ``Unsupported`` if it leaves the subset."""
    predicate = None
    match = _EXISTS_NOT_FALSE_RE.match(expression.strip())
    if match is not None and match.group(1) == match.group(2):
        expression, predicate = match.group(1), "exists-not-false"
    branches: list[Branch] = []
    for raw in split_union(expression):
        for root, ops in _Parser(raw).parse():
            if root[:1].islower():
                ops = [("child", root), *ops]  # "name | alias" (InsurancePlan): relative to the resource
            elif root != resource_type:
                raise Unsupported(f"root {root} is not {resource_type}")
            branches += _expand(resource_type, ops, predicate)
    return branches


def _expand(resource_type: str, ops: list[Step], predicate: str | None) -> list[Branch]:
    # state: (json steps so far, owner type, current datatype, resolve_is)
    states: list[tuple[list[Step], str, str, str | None]] = [([], resource_type, "@", None)]
    for op in ops:
        if any(s[3] is not None for s in states):
            raise Unsupported("steps after where(resolve() is …)")
        kind = op[0]
        new: list[tuple[list[Step], str, str, str | None]] = []
        for steps, owner, dtype, resolve_is in states:
            if kind == "child":
                for key, new_owner, new_type in _child(owner, dtype, op[1]):
                    new.append(([*steps, ("key", key)], new_owner, new_type, resolve_is))
            elif kind == "as":
                if dtype == op[1]:
                    new.append((steps, owner, dtype, resolve_is))
            elif kind == "resolve_is":
                new.append((steps, owner, dtype, op[1]))
            elif kind in ("eq", "index"):
                new.append(([*steps, op], owner, dtype, resolve_is))
            elif kind == "ext":
                new.append(([*steps, ("key", "extension"), op], "Extension", "Extension", resolve_is))
        states = new
    branches = []
    for steps, _owner, dtype, resolve_is in states:
        if not steps or steps[0][0] != "key":
            raise Unsupported("branch does not start with an element of the resource")
        branches.append(Branch(steps[0][1], tuple(steps[1:]), dtype, resolve_is, predicate))
    return branches


def make_walker(steps: tuple[Step, ...]) -> Walker:
    """A function from the value under the root key to the list of values the branch yields."""
    if not steps:
        return lambda v: v if type(v) is list else [v]
    if len(steps) == 1 and steps[0][0] == "key":
        name = steps[0][1]

        def walk_one(v: Any) -> list[Any]:
            out: list[Any] = []
            for item in v if type(v) is list else (v,):
                if type(item) is dict:
                    child = item.get(name)
                    if type(child) is list:
                        out.extend(child)
                    elif child is not None:
                        out.append(child)
            return out

        return walk_one

    def walk(v: Any) -> list[Any]:
        items: list[Any] = v if type(v) is list else [v]
        for step in steps:
            kind = step[0]
            if kind == "key":
                out: list[Any] = []
                for item in items:
                    if type(item) is dict:
                        child = item.get(step[1])
                        if type(child) is list:
                            out.extend(child)
                        elif child is not None:
                            out.append(child)
                items = out
            elif kind == "eq":
                items = [i for i in items if type(i) is dict and i.get(step[1]) == step[2]]
            elif kind == "index":
                items = items[step[1] : step[1] + 1]
            elif kind == "ext":
                items = [i for i in items if type(i) is dict and i.get("url") == step[1]]
        return items

    return walk
