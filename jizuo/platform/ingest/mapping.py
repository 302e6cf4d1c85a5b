"""A checked tabular record → the FHIR resources the catalogue maps it to.

Each field's `fhir` path ("Observation.valueQuantity.value", "Patient.name[0].text") says where its value
goes; the element's data type says how it is written. Resource ids are derived from the data set key, so the
same record sent twice (or fixed and re-sent) updates the same resources instead of adding new ones.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from jizuo.core.clock import SHANGHAI
from jizuo.platform.quality.engine import Validator
from jizuo.platform.standards.spec import CatalogueSpec, FieldSpec

NAMESPACE = uuid.UUID("6f7c1a52-5a8e-4d2b-9a43-0c1de7a0b1f1")
MRN_SYSTEM = "https://jizuo.example.org/fhir/sid/mrn"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)(?:\[(?P<index>\d+)\])?$")

# Where each resource type refers to its patient.
PATIENT_ELEMENT = {
    "Observation": "subject", "DiagnosticReport": "subject", "Encounter": "subject", "Condition": "subject",
    "MedicationRequest": "subject", "MedicationDispense": "subject", "Procedure": "subject",
    "ServiceRequest": "subject", "CarePlan": "subject", "Composition": "subject", "DocumentReference": "subject",
    "ImagingStudy": "subject", "QuestionnaireResponse": "subject", "Immunization": "patient",
    "AllergyIntolerance": "patient", "Claim": "patient", "Coverage": "beneficiary", "Task": "for",
    "Flag": "subject", "RiskAssessment": "subject",
}
HAS_ENCOUNTER = {"Observation", "DiagnosticReport", "Condition", "MedicationRequest", "Procedure", "ServiceRequest",
                 "Composition", "Immunization", "AllergyIntolerance", "CarePlan", "QuestionnaireResponse"}

# What R4 requires that a tabular record rarely carries: filled in only when the mapping left it empty.
DEFAULTS: dict[str, dict[str, Any]] = {
    "Observation": {"status": "final"},
    "DiagnosticReport": {"status": "final"},
    "Encounter": {"status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                  "code": "AMB", "display": "ambulatory"}},
    "MedicationRequest": {"status": "active", "intent": "order"},
    "ServiceRequest": {"status": "active", "intent": "order"},
    "Immunization": {"status": "completed"},
    "Condition": {"clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}},
    "Procedure": {"status": "completed"},
    "Composition": {"status": "final"},
    "DocumentReference": {"status": "current"},
    "CarePlan": {"status": "active", "intent": "plan"},
}
_DATE_ELEMENTS = {"birthDate", "deceasedDate"}


@dataclass
class Lookups:
    """Registry codes → ids for references, loaded once per batch."""

    organizations: dict[str, tuple[str, str]] = field(default_factory=dict)   # code → (id, name)
    practitioners: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Mapped:
    patient: dict[str, Any] | None
    resources: list[dict[str, Any]]

    def all(self) -> list[dict[str, Any]]:
        return ([self.patient] if self.patient else []) + self.resources


def _path(path: str) -> tuple[str, list[tuple[str, int | None]]]:
    res_type, *rest = path.split(".")
    segments = []
    for part in rest:
        m = _SEGMENT.match(part)
        if not m:
            raise ValueError(f"FHIR 路径 {path!r} 的 {part!r} 无法解析")
        segments.append((m["name"], int(m["index"]) if m["index"] is not None else None))
    return res_type, segments


def _put(target: dict[str, Any], segments: list[tuple[str, int | None]], value: Any) -> None:
    node: Any = target
    for i, (name, index) in enumerate(segments):
        last = i == len(segments) - 1
        if index is None:
            if last:
                node[name] = value
                return
            node = node.setdefault(name, {})
            continue
        items = node.setdefault(name, [])
        while len(items) <= index:
            items.append({})
        if last:
            items[index] = value if not isinstance(value, dict) else {**items[index], **value}
            return
        node = items[index]


_CHOICES = ("value", "effective", "onset", "occurrence", "deceased", "multipleBirth", "abatement", "medication")


def _choice_taken(resource: dict[str, Any], element: str) -> bool:
    """True when `element` is one type of a FHIR choice (valueString) and another type is already set."""
    stem = next((c for c in _CHOICES if element.startswith(c) and element[len(c):][:1].isupper()), None)
    return stem is not None and any(k != element and k.startswith(stem) and k[len(stem):][:1].isupper()
                                    for k in resource)


def _prune(node: Any) -> Any:
    """Drop the empty placeholders explicit list positions leave behind (identifier[3] sent, [2] not)."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _prune(node[key])
            if node[key] in ({}, []):
                del node[key]
    elif isinstance(node, list):
        node[:] = [item for item in (_prune(i) for i in node) if item not in ({}, [])]
    return node


def _primitive(value: Any, last_segment: str) -> Any:
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI)
        return local.date().isoformat() if last_segment in _DATE_ELEMENTS else local.isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


class RecordMapper:
    """Compiled per data set, like the Validator."""

    def __init__(self, validator: Validator, catalogue: CatalogueSpec) -> None:
        self.data_set = validator.data_set
        self.catalogue = catalogue
        self.targets: list[tuple[FieldSpec, str, list[tuple[str, int | None]]]] = []
        for f in self.data_set.fields:
            if f.fhir:
                res_type, segments = _path(f.fhir)
                self.targets.append((f, res_type, segments))
        # Constants of the data set (Observation.category = laboratory …), written first so fields win.
        self.fixed = [(*_path(path), value) for path, value in self.data_set.fhir_fixed.items()]

    def resource_id(self, institution: str, key: tuple[str, ...], res_type: str) -> str:
        return str(uuid.uuid5(NAMESPACE, "|".join((self.data_set.code, institution, res_type, *key))))

    def patient_id(self, institution: str, values: dict[str, Any]) -> str:
        """Same institution + same local patient id (or 身份证 when there is no local id) → same Patient."""
        local = self._patient_local_key(values)
        return str(uuid.uuid5(NAMESPACE, f"Patient|{institution}|{local}"))

    def _patient_local_key(self, values: dict[str, Any]) -> str:
        for f, res_type, _segments in self.targets:
            if res_type == "Patient" and f.fhir_system and f.fhir_system.startswith(MRN_SYSTEM) and values.get(f.name):
                return f"mrn:{values[f.name]}"
        for f, res_type, _segments in self.targets:
            if res_type == "Patient" and f.fhir_system and values.get(f.name):
                return f"id:{values[f.name]}"
        return "unknown:" + "|".join(str(values.get(k, "")) for k in self.data_set.key)

    def map(self, values: dict[str, Any], institution: str, key: tuple[str, ...], lookups: Lookups) -> Mapped:
        built: dict[str, dict[str, Any]] = {}
        for res_type, segments, constant in self.fixed:
            _put(built.setdefault(res_type, {"resourceType": res_type}), segments, copy.deepcopy(constant))
        for f, res_type, segments in self.targets:
            value = values.get(f.name)
            if value is None:
                continue
            converted = self._convert(f, value, segments, institution, lookups)
            if converted is None:
                continue
            resource = built.setdefault(res_type, {"resourceType": res_type})
            if _choice_taken(resource, segments[0][0]):
                continue  # a numeric result and its text both sent: value[x] holds one, the first mapped
            _put(resource, segments, converted)
        patient = built.pop("Patient", None)
        patient_ref = None
        if patient is not None:
            patient["id"] = self.patient_id(institution, values)
            patient_ref = {"reference": f"Patient/{patient['id']}"}
        resources = []
        for res_type, resource in built.items():
            resource["id"] = self.resource_id(institution, key, res_type)
            for name, default in DEFAULTS.get(res_type, {}).items():
                resource.setdefault(name, default)
            if patient_ref and res_type in PATIENT_ELEMENT:
                resource.setdefault(PATIENT_ELEMENT[res_type], patient_ref)
            resources.append(resource)
        self._link(built)
        for resource in built.values():
            _prune(resource)
        if patient is not None:
            _prune(patient)
        return Mapped(patient, resources)

    @staticmethod
    def _link(built: dict[str, dict[str, Any]]) -> None:
        encounter = built.get("Encounter")
        for res_type, resource in built.items():
            if encounter is not None and res_type in HAS_ENCOUNTER:
                resource.setdefault("encounter", {"reference": f"Encounter/{encounter['id']}"})
        report, observation = built.get("DiagnosticReport"), built.get("Observation")
        if report is not None and observation is not None:
            report.setdefault("result", [{"reference": f"Observation/{observation['id']}"}])

    def _convert(self, f: FieldSpec, value: Any, segments: list[tuple[str, int | None]], institution: str,
                 lookups: Lookups) -> Any:
        last = segments[-1][0] if segments else ""
        if f.reference:
            table = lookups.organizations if f.reference == "Organization" else lookups.practitioners
            found = table.get(str(value))
            if found is None:
                return None
            return {"reference": f"{f.reference}/{found[0]}", "display": found[1]}
        if f.fhir_system:
            system = f"{MRN_SYSTEM}/{institution}" if f.fhir_system == MRN_SYSTEM else f.fhir_system
            return {"system": system, "value": str(value)}
        element = self.catalogue.elements[f.element]
        if element.value_domain:
            domain = self.catalogue.value_domains[element.value_domain]
            code = str(value)
            if domain.fhir_map:
                return domain.fhir_map.get(code, code)
            coding = {"system": domain.system, "code": code, "display": domain.display_of(code)}
            if last == "coding":
                return coding
            return {"coding": [coding], "text": coding["display"]}
        return _primitive(value, last)
