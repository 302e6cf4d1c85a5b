"""FHIR test fixtures without a database: the official R4 example resources.

The examples come from the npm package ``hl7.fhir.r4.examples@4.0.1`` (CC0), cached under
``.jizuo-test/fhir-examples/``; ``JIZUO_FHIR_EXAMPLES`` may point at an already downloaded .tgz or folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".jizuo-test" / "fhir-examples"
PACKAGE = "hl7.fhir.r4.examples@4.0.1"
TGZ_NAME = "hl7.fhir.r4.examples-4.0.1.tgz"


def _ensure_package() -> Path:
    """The extracted package folder, downloading the .tgz with npm once if needed."""
    unpacked = CACHE / "package"
    if (unpacked / "Bundle-searchParams.json").exists():
        return unpacked
    source = Path(os.environ["JIZUO_FHIR_EXAMPLES"]) if os.environ.get("JIZUO_FHIR_EXAMPLES") else CACHE / TGZ_NAME
    if source.is_dir():
        return source / "package" if (source / "package").is_dir() else source
    if not source.exists():
        if shutil.which("npm") is None:
            pytest.skip(f"npm is not installed: cannot fetch {PACKAGE} (set JIZUO_FHIR_EXAMPLES to a copy)")
        CACHE.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", str(CACHE)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not source.exists():
            pytest.skip(f"npm pack {PACKAGE} failed: {result.stderr.strip()[-300:]}")
    with tarfile.open(source, "r:gz") as tar:
        tar.extractall(CACHE, filter="data")
    return unpacked


def _walk_resources(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource, its contained resources and the resources inside Bundle entries (recursively)."""
    found = [resource]
    for contained in resource.get("contained") or ():
        if isinstance(contained, dict):
            found += _walk_resources(contained)
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry") or ():
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict):
                found += _walk_resources(inner)
    return found


@pytest.fixture(scope="session")
def fhir_examples_dir() -> Path:
    return _ensure_package()


@pytest.fixture(scope="session")
def fhir_examples(fhir_examples_dir: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """{resource type: [(label, resource)]} over every example file, Bundle entry and contained resource."""
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in sorted(fhir_examples_dir.glob("*.json")):
        if path.name.startswith(("SearchParameter-", "StructureDefinition-", "package", ".index")):
            continue
        try:
            resource = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        for i, found in enumerate(_walk_resources(resource)):
            label = path.name if i == 0 else f"{path.name}#{i}"
            by_type.setdefault(found["resourceType"], []).append((label, found))
    return by_type
