"""Extract the FHIR R4 (4.0.1) search parameters and element types from the official examples package.

Usage:
    cd /tmp && npm pack hl7.fhir.r4.examples@4.0.1
    python scripts/extract_search_params.py /tmp/hl7.fhir.r4.examples-4.0.1.tgz

Writes two compact, commit-ready files (FHIR specification content is CC0):

- ``jizuo/fhir/data/search_parameters.json``: every SearchParameter of ``Bundle-searchParams.json``, reduced to
  the fields the search engine needs (code, base, type, expression, xpathUsage, target, modifier, comparator,
  multipleOr/And, component, url).
- ``jizuo/fhir/data/element_types.json``: for every resource and complex datatype, element path -> its
  datatype(s). The search-parameter compiler needs it to turn a FHIRPath step over a choice element
  (``Observation.value``) into the JSON keys it really has (``valueQuantity``, ``valueString``…) and to know
  the datatype of every indexed value statically. Taken from the same 4.0.1 StructureDefinitions (rather than
  from ``fhir.resources``, which models R4B) so paths match the R4 search parameters exactly.

Element type encoding: ``"CodeableConcept"`` for one type, ``"Quantity|string"`` for a choice element (key ends
in ``[x]``), ``"@component"`` for an inline BackboneElement/Element whose children live under that path of the
same owner (also used for ``contentReference``, e.g. ``Questionnaire.item.item`` -> ``"@item"``).
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "jizuo" / "fhir" / "data"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
SYSTEM_TYPES = {"http://hl7.org/fhirpath/System.String": "string"}


def _read_package(source: Path) -> dict[str, Any]:
    """Return {file name: parsed JSON} for the files we need, from a .tgz or an extracted folder."""
    wanted: dict[str, Any] = {}

    def keep(name: str) -> bool:
        return name == "Bundle-searchParams.json" or name.startswith("StructureDefinition-")

    if source.is_dir():
        base = source / "package" if (source / "package").is_dir() else source
        for path in base.iterdir():
            if keep(path.name):
                wanted[path.name] = json.loads(path.read_text(encoding="utf-8"))
        return wanted
    with tarfile.open(source, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if member.isfile() and keep(name):
                handle = tar.extractfile(member)
                if handle is not None:
                    wanted[name] = json.loads(handle.read().decode("utf-8"))
    return wanted


def compact_search_parameter(res: dict[str, Any]) -> dict[str, Any]:
    """Keep only what the engine uses; omit empty fields to keep the file small."""
    out: dict[str, Any] = {
        "code": res["code"],
        "base": res["base"],
        "type": res["type"],
        "url": res["url"],
    }
    optional = {
        "expression": res.get("expression"),
        "xpathUsage": res.get("xpathUsage"),
        "target": res.get("target"),
        "modifier": res.get("modifier"),
        "comparator": res.get("comparator"),
        "multipleOr": res.get("multipleOr"),
        "multipleAnd": res.get("multipleAnd"),
        "component": [{"definition": c["definition"], "expression": c["expression"]} for c in res.get("component", [])],
    }
    out.update({k: v for k, v in optional.items() if v not in (None, [], "")})
    return out


def _element_type(element: dict[str, Any]) -> str | None:
    if "contentReference" in element:
        # "#Questionnaire.item" -> children of Questionnaire.item
        return "@" + element["contentReference"].split(".", 1)[1]
    codes: list[str] = []
    for t in element.get("type", []):
        code = t["code"]
        if code.startswith("http://hl7.org/fhirpath/System."):
            ext = {e["url"]: e.get("valueUrl") for e in t.get("extension", [])}
            code = ext.get(FHIR_TYPE_EXT) or SYSTEM_TYPES.get(code, "string")
        codes.append(code)
    if not codes:
        return None
    if codes in (["BackboneElement"], ["Element"]) and "." in element["path"]:
        return "@" + element["path"].split(".", 1)[1]
    return "|".join(codes)


def element_types(files: dict[str, Any]) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for name, sd in sorted(files.items()):
        if not name.startswith("StructureDefinition-") or sd.get("resourceType") != "StructureDefinition":
            continue
        if sd.get("kind") not in ("resource", "complex-type") or sd.get("derivation") == "constraint":
            continue
        if sd.get("url", "").rsplit("/", 1)[-1] != sd["type"]:
            continue  # logical models and extensions definitions
        table: dict[str, str] = {}
        for element in sd.get("snapshot", {}).get("element", []):
            path: str = element["path"]
            if "." not in path:
                continue
            etype = _element_type(element)
            if etype is not None:
                table[path.split(".", 1)[1]] = etype
        tables[sd["type"]] = table
    return tables


def _write_lines(path: Path, header: dict[str, str], key: str, items: list[Any] | dict[str, Any]) -> None:
    """JSON with one parameter / type table per line: compact, yet diffs stay readable after a regeneration."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    lines = [f"{dump(k)}:{dump(v)}" for k, v in header.items()]
    if isinstance(items, dict):
        body = ",\n".join(f"{dump(k)}:{dump(v)}" for k, v in sorted(items.items()))
        lines.append(f"{dump(key)}:{{\n{body}\n}}")
    else:
        body = ",\n".join(dump(item) for item in items)
        lines.append(f"{dump(key)}:[\n{body}\n]")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="hl7.fhir.r4.examples-4.0.1.tgz or its extracted folder")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    files = _read_package(args.package)
    bundle = files["Bundle-searchParams.json"]
    params = [compact_search_parameter(e["resource"]) for e in bundle["entry"]]
    params.sort(key=lambda p: (p["base"][0], p["code"]))
    args.out.mkdir(parents=True, exist_ok=True)
    header = {
        "source": "hl7.fhir.r4.examples 4.0.1 Bundle-searchParams.json (CC0)",
        "generator": "scripts/extract_search_params.py",
    }
    _write_lines(args.out / "search_parameters.json", header, "parameters", params)
    types = element_types(files)
    header["source"] = "hl7.fhir.r4.examples 4.0.1 StructureDefinition-*.json snapshots (CC0)"
    _write_lines(args.out / "element_types.json", header, "types", types)
    print(f"{len(params)} search parameters, {len(types)} type tables -> {args.out}")


if __name__ == "__main__":
    main()
