"""The synthetic clinical history of the demo district: deterministic, valid FHIR, consistent references."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from jizuo.fhir.demo import codes
from jizuo.fhir.validation import ID_CARD_SYSTEM, validate_resource
from jizuo.platform.demo.clinical import generate_clinical_history, registry_resources
from jizuo.platform.demo.generator import build_structure, iter_residents
from jizuo.platform.demo.seed import stable_id

SEED = 20261125


@pytest.fixture(scope="module")
def district() -> tuple[Any, ...]:
    return build_structure(SEED)


def generate(district: tuple[Any, ...], residents: int) -> list[dict[str, Any]]:
    organizations, _, practitioners, teams = district
    return list(generate_clinical_history(list(iter_residents(SEED, residents)), organizations, practitioners,
                                          SEED, teams=teams))


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "reference"] + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def test_history_is_deterministic_and_a_prefix_of_a_larger_run(district: tuple[Any, ...]) -> None:
    small = generate(district, 20)
    assert small == generate(district, 20)
    larger = generate(district, 40)
    assert larger[:len(small)] == small


def test_every_resource_is_valid_fhir(district: tuple[Any, ...]) -> None:
    organizations, _, practitioners, _ = district
    for resource in [*generate(district, 60), *registry_resources(organizations, practitioners)]:
        validate_resource(resource)


def test_references_point_to_generated_or_registry_resources(district: tuple[Any, ...]) -> None:
    organizations, _, practitioners, _ = district
    history = generate(district, 80)
    known = {f"{r['resourceType']}/{r['id']}" for r in [*history, *registry_resources(organizations, practitioners)]}
    dangling = {ref for resource in history for ref in references(resource) if ref not in known}
    assert not dangling
    assert {f"Organization/{stable_id('org', o.code)}" for o in organizations} <= known
    assert {f"Practitioner/{stable_id('practitioner', p.code)}" for p in practitioners} <= known


def test_patients_carry_the_resident_identity_home_centre_and_family_doctor(district: tuple[Any, ...]) -> None:
    residents = list(iter_residents(SEED, 50))
    patients = {r["id"]: r for r in generate(district, 50) if r["resourceType"] == "Patient"}
    assert set(patients) == {str(r.id) for r in residents}
    for resident in residents:
        patient = patients[str(resident.id)]
        assert patient["identifier"][0] == {"use": "official", "system": ID_CARD_SYSTEM, "value": resident.id_number}
        assert patient["name"][0]["text"] == resident.name
        assert patient["name"][0]["family"] + patient["name"][0]["given"][0] == resident.name
        home = stable_id("org", resident.home_centre_code)
        assert patient["managingOrganization"]["reference"] == f"Organization/{home}"
        assert ("generalPractitioner" in patient) == (resident.signed_team_code is not None)


def test_counts_and_clinical_content_are_plausible(district: tuple[Any, ...]) -> None:
    residents = list(iter_residents(SEED, 300))
    history = generate(district, 300)
    assert 20 <= len(history) / len(residents) <= 40
    types = Counter(r["resourceType"] for r in history)
    assert types["Observation"] > types["Encounter"] > types["Patient"] == 300
    assert types["DiagnosticReport"] and types["MedicationRequest"] and types["Condition"]
    conditions = {(r["subject"]["reference"], r["code"]["coding"][0]["code"]) for r in history
                  if r["resourceType"] == "Condition"}
    for resident in residents:
        for kind in resident.chronic:
            assert (f"Patient/{resident.id}", codes.CHRONIC_ICD[kind][0]) in conditions
    prescribed = {r["subject"]["reference"] for r in history if r["resourceType"] == "MedicationRequest"}
    assert prescribed == {f"Patient/{r.id}" for r in residents if r.chronic}
    high = [r for r in history if r["resourceType"] == "Observation" and "valueQuantity" in r
            and r.get("referenceRange") and "high" in r["referenceRange"][0]
            and r["valueQuantity"]["value"] > r["referenceRange"][0]["high"]["value"]]
    assert high and all(r["interpretation"][0]["coding"][0]["code"] == "H" for r in high)
    loinc = {c["code"] for r in history if r["resourceType"] == "Observation" for c in r["code"]["coding"]}
    assert {"85354-9", "718-7", "6690-2", "777-3", "1742-6", "1920-8", "2160-0", "1558-6", "4548-4"} <= loinc
    imaging = [r for r in history if r["resourceType"] == "DiagnosticReport" and "conclusion" in r]
    assert imaging and all(r["category"][0]["coding"][0]["code"] == "RAD" for r in imaging)
