"""Search-index extraction throughput on one core.

    .venv/bin/python bench/fhir_extract.py [path/to/hl7.fhir.r4.examples-4.0.1.tgz or extracted folder]

Prints resources/s of ``extract_index`` over the official R4 examples of the resource types we index, per
type and overall, over a typical Observation and Patient, and the share of parameter evaluations that went
to the fhirpathpy fallback. Without an argument it uses the test cache ``.jizuo-test/fhir-examples/``.
"""

from __future__ import annotations

import json
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jizuo.fhir.searchparams import extract_index, get_plan  # noqa: E402
from jizuo.fhir.searchparams.registry import CORE_RESOURCE_TYPES  # noqa: E402

SCOPE = list(CORE_RESOURCE_TYPES)

TYPICAL_OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "bp-1",
    "meta": {"lastUpdated": "2024-05-01T08:00:00+08:00", "profile": ["http://hl7.org/fhir/StructureDefinition/bp"]},
    "status": "final",
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "vital-signs"}]}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure"}],
             "text": "血压"},
    "subject": {"reference": "Patient/p-1"},
    "encounter": {"reference": "Encounter/e-1"},
    "effectiveDateTime": "2024-05-01T07:55:00+08:00",
    "performer": [{"reference": "Practitioner/d-1"}],
    "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "valueQuantity": {"value": 132, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
         "valueQuantity": {"value": 85, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    ],
}  # fmt: skip

TYPICAL_PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p-1",
    "meta": {"lastUpdated": "2024-05-01T08:00:00+08:00"},
    "identifier": [
        {"system": "urn:oid:2.16.156.10011.1.3", "value": "110101199003071234"},
        {"system": "urn:jizuo:mrn:h1", "value": "MRN0001"},
    ],
    "active": True,
    "name": [{"use": "official", "family": "张", "given": ["伟"], "text": "张伟"}],
    "telecom": [{"system": "phone", "value": "13800000000", "use": "mobile"}],
    "gender": "male",
    "birthDate": "1990-03-07",
    "address": [{"line": ["西湖区文三路 1 号"], "city": "杭州市", "district": "西湖区", "state": "浙江省"}],
    "managingOrganization": {"reference": "Organization/o-1"},
}


def load_examples(source: Path) -> list[dict[str, Any]]:
    if source.is_file():
        tmp = Path(tempfile.mkdtemp(prefix="fhir-examples-"))
        with tarfile.open(source, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        source = tmp
    folder = source / "package" if (source / "package").is_dir() else source
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            resource = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(resource, dict) and resource.get("resourceType") in SCOPE:
            found.append(resource)
    return found


def rate(resources: list[dict[str, Any]], fn: Callable[[dict[str, Any]], object], seconds: float = 1.5) -> float:
    for resource in resources:
        fn(resource)  # warm the per-type plans
    # CPU time of this process, not wall time: on a shared 2-core machine wall time swings with other load.
    count, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for resource in resources:
            fn(resource)
        count += len(resources)
    return count / (time.process_time() - start)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".jizuo-test" / "fhir-examples"
    examples = load_examples(source)
    if not examples:
        sys.exit(f"no examples under {source}: run the FHIR tests once or pass the .tgz")
    print(f"extract_index, single core, {len(examples)} official examples of {len(SCOPE)} types")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in examples:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for rtype in sorted(by_type):
        per_s = rate(by_type[rtype], extract_index, 0.3)
        print(f"  {rtype:<24} {len(by_type[rtype]):>4} examples {per_s:>10,.0f}/s {1e6 / per_s:>7.1f} µs")
    overall = rate(examples, extract_index)
    print(f"all examples: {overall:,.0f} resources/s ({1e6 / overall:.1f} µs each)")
    for label, resource in (("typical Observation", TYPICAL_OBSERVATION), ("typical Patient", TYPICAL_PATIENT)):
        per_s = rate([resource], extract_index)
        print(f"{label}: {per_s:,.0f} resources/s ({1e6 / per_s:.1f} µs), {_row_count(resource)} rows")
    total = fallback = 0
    for resource in examples:
        plan = get_plan(resource["resourceType"])
        if plan is not None:
            total += sum(len(v) for v in plan.by_key.values()) + len(plan.predicates) + len(plan.fallbacks)
            fallback += len(plan.fallbacks)
    print(f"fallback share: {fallback}/{total} compiled parameter branches ({100 * fallback / max(total, 1):.2f} %)")


def _row_count(resource: dict[str, Any]) -> int:
    rows = extract_index(resource)
    return sum(
        len(getattr(rows, t)) for t in ("tokens", "strings", "dates", "references", "quantities", "numbers", "uris")
    )


if __name__ == "__main__":
    main()
