"""Synthea R4 patient bundles (tests/data/synthea/) load as transactions through `POST /fhir`, every resource
reads back equal to what was sent (ids and `urn:uuid` references as the server assigned them), and the patient's
data is found by search and `$everything`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFor, bearer
from tests.fhir.test_examples_roundtrip import _same, _without_meta

SYNTHEA = Path(__file__).resolve().parents[1] / "data" / "synthea"
BUNDLES = {path.name.split("_")[0]: path.read_bytes() for path in sorted(SYNTHEA.glob("*.json"))}


def _rewritten(value: Any, mapping: dict[str, str]) -> Any:
    """The entry as the server should store it: every `urn:uuid:` reference replaced by the new `Type/id`."""
    if isinstance(value, dict):
        return {k: _rewritten(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewritten(v, mapping) for v in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value


@pytest.mark.parametrize("name", sorted(BUNDLES))
async def test_a_synthea_bundle_loads_and_reads_back_equal(client: httpx.AsyncClient, token_for: TokenFor,
                                                            name: str) -> None:
    assert len(BUNDLES) == 2
    headers = {**bearer(await token_for("doctor")), "Content-Type": "application/fhir+json"}
    bundle = json.loads(BUNDLES[name])
    done = await client.post("/fhir", content=BUNDLES[name], headers=headers)
    assert done.status_code == 200, done.text[:500]
    responses = done.json()["entry"]
    assert len(responses) == len(bundle["entry"])
    mapping = {entry["fullUrl"]: "/".join(response["response"]["location"].split("/")[:2])
               for entry, response in zip(bundle["entry"], responses, strict=True)}

    mismatched = []
    for entry in bundle["entry"]:
        location = mapping[entry["fullUrl"]]
        read = (await client.get(f"/fhir/{location}", headers=headers)).json()
        expected = {**_rewritten(entry["resource"], mapping), "id": location.split("/")[1]}
        if not _same(_without_meta(read), _without_meta(expected)):
            mismatched.append(location)
    assert not mismatched, mismatched[:5]

    patient = next(mapping[e["fullUrl"]] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    found = await client.get("/fhir/Observation", params={"patient": patient, "_summary": "count"}, headers=headers)
    assert found.json()["total"] == kinds["Observation"]
    loinc = next(c["code"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
                 for c in e["resource"]["code"]["coding"])
    by_code = await client.get("/fhir/Observation", params={"patient": patient, "code": f"http://loinc.org|{loinc}"},
                               headers=headers)
    assert by_code.json()["entry"]
    everything = (await client.get(f"/fhir/{patient}/$everything", headers=headers)).json()
    compartment = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in everything["entry"]}
    assert {mapping[e["fullUrl"]] for e in bundle["entry"]
            if e["resource"]["resourceType"] in ("Patient", "Observation", "Encounter", "Condition")} <= compartment
