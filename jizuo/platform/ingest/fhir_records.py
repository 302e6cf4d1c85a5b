"""Reading a FHIR resource back as a catalogue record, so FHIR submissions face the same quality rules.

The catalogue maps each field to a FHIR path; read in reverse, the same paths turn an institution's
Observation (and its Patient) into the lab data set's fields, which the data set's validator then checks —
one set of rules whatever the route: CSV, 前置库, HL7 v2 or FHIR. Identifiers are found by system, codings by
their value domain's system, references through the registry (id → code), not by list position, because a
sender's FHIR need not put them in our order.
"""

from __future__ import annotations

from typing import Any

from jizuo.platform.ingest.compiled import Compiled
from jizuo.platform.ingest.mapping import MRN_SYSTEM
from jizuo.platform.standards.spec import DataSetSpec, FieldSpec, rule_fields


def _get(node: Any, segments: list[tuple[str, int | None]]) -> Any:
    for name, index in segments:
        if not isinstance(node, dict):
            return None
        node = node.get(name)
        if index is not None:
            node = node[index] if isinstance(node, list) and len(node) > index else None
    return node


def _codings(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and "coding" in value:
        return [c for c in value.get("coding") or [] if isinstance(c, dict)]
    return [value] if isinstance(value, dict) and "code" in value else []


def _fixed_matches(expected: Any, actual: Any) -> bool:
    """A resource belongs to a data set when it carries the set's constants (e.g. category laboratory)."""
    if isinstance(expected, dict) and "code" in expected:
        return any(c.get("code") == expected["code"] and c.get("system", expected.get("system"))
                   == expected.get("system") for c in _codings(actual) or [])
    return expected == actual


def fhir_view(data_set: DataSetSpec) -> DataSetSpec:
    """The data set as a FHIR submission can be held to: a field with no FHIR home cannot be sent that way,
    so it is not required there, and a rule about such a field does not apply."""
    mapped = {f.name for f in data_set.fields if f.fhir}
    fields = [f if f.fhir else f.model_copy(update={"required": False}) for f in data_set.fields]
    rules = [r for r in data_set.rules if set(rule_fields(r)) <= mapped]
    return data_set.model_copy(update={"fields": fields, "rules": rules})


class RecordReader:
    def __init__(self, compiled: Compiled, organizations_by_id: dict[str, str],
                 practitioners_by_id: dict[str, str]) -> None:
        self.compiled = compiled
        self.data_set = compiled.validator.data_set
        self.catalogue = compiled.catalogue
        self.targets = compiled.mapper.targets
        self.fixed = [(t, s, v) for t, s, v in compiled.mapper.fixed if t == self.data_set.resource]
        self.by_id = {"Organization": organizations_by_id, "Practitioner": practitioners_by_id}

    def applies_to(self, resource: dict[str, Any]) -> bool:
        if resource.get("resourceType") != self.data_set.resource:
            return False
        return all(_fixed_matches(value, _parent_list_or_value(resource, segments))
                   for _t, segments, value in self.fixed)

    def read(self, resource: dict[str, Any], patient: dict[str, Any] | None) -> dict[str, str]:
        record: dict[str, str] = {}
        for f, res_type, segments in self.targets:
            if res_type == self.data_set.resource:
                source: dict[str, Any] | None = resource
            else:
                source = patient if res_type == "Patient" else None
            if source is None:
                continue
            text = self._text(f, source, segments)
            if text:
                record[f.name] = text
        return record

    def _text(self, f: FieldSpec, source: dict[str, Any], segments: list[tuple[str, int | None]]) -> str | None:
        if f.fhir_system:
            wanted = f.fhir_system
            if segments[-1][1] is None:  # a single Identifier (groupIdentifier)
                single = _get(source, segments)
                return str(single.get("value") or "") if isinstance(single, dict) else None
            identifiers = _get(source, [*segments[:-1], (segments[-1][0], None)]) or []
            for identifier in identifiers if isinstance(identifiers, list) else []:
                system = str(identifier.get("system", ""))
                if system == wanted or (wanted == MRN_SYSTEM and system.startswith(MRN_SYSTEM)):
                    return str(identifier.get("value") or "")
            return None
        value = _get(source, segments)
        if value is None:
            return None
        if f.reference:
            reference = value.get("reference", "") if isinstance(value, dict) else ""
            kind, _, rid = str(reference).partition("/")
            return self.by_id.get(kind, {}).get(rid, f"{reference}（未注册）")
        element = self.catalogue.elements[f.element]
        if element.value_domain:
            domain = self.catalogue.value_domains[element.value_domain]
            if domain.fhir_map and isinstance(value, str):
                return next((code for code, mapped in domain.fhir_map.items() if mapped == value), value)
            codings = _codings(value) or _codings(_get(source, segments[:-1]))
            chosen = next((c for c in codings if c.get("system") == domain.system), codings[0] if codings else None)
            return str(chosen.get("code")) if chosen else None
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, dict | list):
            return None
        return str(value)


def _parent_list_or_value(resource: dict[str, Any], segments: list[tuple[str, int | None]]) -> Any:
    """For a constant at `category[0].coding[0]`, look through every category's codings, not only the first."""
    if len(segments) >= 1 and segments[0][1] is not None:
        items = resource.get(segments[0][0]) or []
        codings = [c for item in items if isinstance(item, dict) for c in _codings(item)]
        return {"coding": codings}
    return _get(resource, segments)
