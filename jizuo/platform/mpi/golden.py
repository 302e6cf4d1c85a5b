"""The golden record of a person, built field by field from their source records (survivorship).

Rules, per field (documented in docs/mpi.md):
- name, gender, birth date, 身份证: the record of the highest-level institution wins (三甲 over 社区),
  ties to the most recently updated; a 身份证 that passes its check digit beats one that does not.
- phone, address: the most recently updated record wins (people move and change numbers; level says
  nothing about freshness).
- 医保卡: the most recently updated record that has one.
Each field remembers which source record it came from (`sources`), so every value is explainable.

Values stay in the FHIR layer's protected form (`enc:` ciphertext for 身份证 and phone); `as_fhir_patient`
reveals or masks them for the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from jizuo.core.security import FieldCipher
from jizuo.fhir.demo.codes import INSURANCE_SYSTEM
from jizuo.fhir.personal_data import reveal
from jizuo.fhir.validation import ID_CARD_SYSTEMS

MPI_PERSON_EXTENSION = "https://jizuo.dev/fhir/StructureDefinition/mpi-person"
MATCH_GRADE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/match-grade"
GOLDEN_TAG = {"system": "https://jizuo.dev/fhir/CodeSystem/mpi", "code": "golden-record", "display": "主索引黄金记录"}


class Source:
    """One source record as survivorship sees it."""

    def __init__(self, patient_id: str, snapshot: dict[str, Any], rank: int, updated_at: datetime,
                 id_valid: bool) -> None:
        self.patient_id = patient_id
        self.snapshot = snapshot
        self.rank = rank
        self.updated_at = updated_at
        self.id_valid = id_valid


def snapshot_of(resource: dict[str, Any]) -> dict[str, Any]:
    """The parts of a (protected) Patient the golden record is built from."""
    identifiers = [i for i in resource.get("identifier") or [] if isinstance(i, dict)]
    return {
        "name": next((n for n in resource.get("name") or [] if isinstance(n, dict)), None),
        "gender": resource.get("gender"),
        "birthDate": resource.get("birthDate"),
        "id_card": next((i for i in identifiers if i.get("system") in ID_CARD_SYSTEMS and i.get("value")), None),
        "insurance": next((i for i in identifiers if i.get("system") == INSURANCE_SYSTEM and i.get("value")), None),
        "phone": next((t for t in resource.get("telecom") or []
                       if isinstance(t, dict) and t.get("system") in ("phone", "sms") and t.get("value")), None),
        "address": next((a for a in resource.get("address") or [] if isinstance(a, dict)), None),
    }


def _by_level(source: Source) -> tuple[int, datetime]:
    return (source.rank, source.updated_at)


def _by_recency(source: Source) -> tuple[datetime, int]:
    return (source.updated_at, source.rank)


def _by_valid_id_then_level(source: Source) -> tuple[bool, int, datetime]:
    return (source.id_valid, source.rank, source.updated_at)


_RULES: tuple[tuple[str, Callable[[Source], Any], str], ...] = (
    ("name", _by_level, "institution_level_then_recency"),
    ("gender", _by_level, "institution_level_then_recency"),
    ("birthDate", _by_level, "institution_level_then_recency"),
    ("id_card", _by_valid_id_then_level, "valid_check_digit_then_institution_level"),
    ("insurance", _by_recency, "most_recent"),
    ("phone", _by_recency, "most_recent"),
    ("address", _by_recency, "most_recent"),
)


def survive(sources: Sequence[Source]) -> dict[str, Any]:
    """The golden record: {field: value, ..., "sources": {field: patient_id}, "rules": {field: rule}}."""
    golden: dict[str, Any] = {"sources": {}, "rules": {}}
    for field, order, rule in _RULES:
        for source in sorted(sources, key=order, reverse=True):
            value = source.snapshot.get(field)
            if value not in (None, "", {}, []):
                golden[field] = value
                golden["sources"][field] = source.patient_id
                golden["rules"][field] = rule
                break
    golden["record_count"] = len(sources)
    return golden


def as_fhir_patient(person_id: str, status: str, version: int, golden: dict[str, Any], patient_ids: Sequence[str],
                    cipher: FieldCipher, *, reveal_full: bool, merged_into: str | None = None) -> dict[str, Any]:
    """The golden record as a FHIR Patient with `link` entries (seealso) to every source Patient."""
    identifiers = [{**golden[k], "use": "official" if k == "id_card" else "secondary"}
                   for k in ("id_card", "insurance") if golden.get(k)]
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": person_id, "meta": {"versionId": str(version), "tag": [GOLDEN_TAG]},
        "active": status == "active",
    }
    if identifiers:
        patient["identifier"] = identifiers
    if golden.get("name"):
        patient["name"] = [golden["name"]]
    if golden.get("phone"):
        patient["telecom"] = [golden["phone"]]
    for key in ("gender", "birthDate"):
        if golden.get(key):
            patient[key] = golden[key]
    if golden.get("address"):
        patient["address"] = [golden["address"]]
    links = [{"other": {"reference": f"Patient/{pid}"}, "type": "seealso"} for pid in patient_ids]
    if merged_into:
        links.insert(0, {"other": {"reference": f"Patient/{merged_into}",
                                   "display": "已合并到该主索引人员 merged into"}, "type": "replaced-by"})
    if links:
        patient["link"] = links
    return reveal(patient, cipher, full=reveal_full)


def display_snapshot(snapshot: dict[str, Any], cipher: FieldCipher, *, reveal_full: bool) -> dict[str, Any]:
    """A source record's snapshot for people: name text, masked (or full) 身份证 and phone."""
    as_patient = {"resourceType": "Patient",
                  "identifier": [i for i in (snapshot.get("id_card"), snapshot.get("insurance")) if i],
                  "telecom": [snapshot["phone"]] if snapshot.get("phone") else []}
    shown = reveal(as_patient, cipher, full=reveal_full)
    values = {i.get("system"): i.get("value") for i in shown["identifier"]}
    name = snapshot.get("name") or {}
    address = snapshot.get("address") or {}
    return {
        "name": name.get("text") or "".join([name.get("family") or "", *(name.get("given") or [])]) or None,
        "gender": snapshot.get("gender"), "birth_date": snapshot.get("birthDate"),
        "id_number": next((v for s, v in values.items() if s in ID_CARD_SYSTEMS), None),
        "insurance_no": values.get(INSURANCE_SYSTEM),
        "phone": shown["telecom"][0]["value"] if shown["telecom"] else None,
        "address": address.get("text") or "".join(address.get("line") or []) or None,
    }
