"""The item catalogue as shipped (data/catalogue.yaml), the code systems it uses, and the national re-test
reasons. `CodeMap` is the in-memory form a check and the projection use: (system, code) → item code."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOINC = "http://loinc.org"
DISTRICT_LAB = "https://jizuo.dev/fhir/CodeSystem/lab-item"  # value domain JZ.LAB_ITEM
DISTRICT_EXAM = "https://jizuo.dev/fhir/CodeSystem/exam-item"
LOCAL_PREFIX = "https://jizuo.example.org/fhir/CodeSystem/lab-local/"  # + institution code (HL7 v2 ORU mapping)
RESULT_TYPES = ("Observation", "DiagnosticReport", "ImagingStudy")

_DATA = Path(__file__).parent / "data" / "catalogue.yaml"


@cache
def shipped() -> dict[str, Any]:
    return dict(yaml.safe_load(_DATA.read_text(encoding="utf-8")))


def district_system(kind: str) -> str:
    return DISTRICT_LAB if kind == "lab" else DISTRICT_EXAM


def local_system(organization_code: str) -> str:
    return LOCAL_PREFIX + organization_code


def shipped_codes(item: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(system, code, institution code or None) of one shipped item."""
    codes: list[tuple[str, str, str | None]] = [(district_system(item["kind"]), item["code"], None)]
    if item.get("loinc"):
        codes.append((LOINC, str(item["loinc"]), None))
    for org_code, local in (item.get("local") or {}).items():
        codes.append((local_system(org_code), str(local), org_code))
    return codes


def retest_reasons() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in shipped()["retest_reasons"]}


@dataclass(frozen=True)
class ItemRule:
    code: str
    name: str
    kind: str
    window_days: int
    min_rank: int
    needs_qc: bool
    price: float


@dataclass
class CodeMap:
    """Every code of every active item. Loaded per check from the (small) catalogue tables."""

    by_code: dict[tuple[str, str], str] = field(default_factory=dict)
    local: dict[tuple[str, str], str] = field(default_factory=dict)  # (institution code, local code) → item
    items: dict[str, ItemRule] = field(default_factory=dict)

    def item_of(self, system: str | None, code: str, organization_code: str | None) -> str | None:
        """An ordered code: district code, LOINC, or the ordering institution's local code (with its local
        system, or with no system at all, as a HIS sends its own order codes)."""
        if system:
            found = self.by_code.get((system, code))
            if found:
                return found
        if organization_code and (not system or system == local_system(organization_code)):
            return self.local.get((organization_code, code))
        return None

    def items_of_coding(self, codings: list[dict[str, Any]]) -> set[str]:
        """Items a stored result's codings mean (any institution's local codes count: a result is recognised
        whatever route it came by)."""
        found = set()
        for coding in codings:
            if not isinstance(coding, dict):
                continue
            item = self.by_code.get((str(coding.get("system") or ""), str(coding.get("code") or "")))
            if item:
                found.add(item)
        return found
