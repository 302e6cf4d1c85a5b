"""Input of bulk import: NDJSON (plain or gzip) and FHIR Bundle files, as a stream of raw resource lines.

Bundles are flattened into the same stream as NDJSON, so they go through the same validation and COPY path.
`urn:uuid:` full URLs become the resource ids (`urn:uuid:X` → `Type/X`): a UUID is a valid FHIR id, and
re-importing the same bundle then reaches the same resources instead of creating new ones.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from jizuo.fhir.bulk.prepare import Line, Rejected
from jizuo.fhir.bundles import _rewrite_references
from jizuo.fhir.validation import ID_PATTERN

REJECTED_SUFFIX = ".rejected.ndjson"
SUFFIXES = (".ndjson", ".ndjson.gz", ".json")
BUNDLE_TYPES = frozenset({"transaction", "batch", "collection"})
URN_NAMESPACE = uuid.UUID("0c6b5d8e-2f1a-4c3b-9e7d-5a4f3b2c1d0e")


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, and the importable files of a directory (sorted, recursive), minus our own rejects."""
    found: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.is_file() and _importable(p))
        else:
            found.append(item)
    return found


def _importable(path: Path) -> bool:
    name = path.name
    return name.endswith(SUFFIXES) and not name.endswith(REJECTED_SUFFIX)


def read_file(path: Path, rejected: list[Rejected]) -> Iterator[Line]:
    """Lines of one file; whole-file problems (an unreadable Bundle) are appended to `rejected`."""
    label = str(path)
    if path.name.endswith(".json"):
        yield from bundle_lines(label, path.read_bytes(), rejected)
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            stripped = raw.strip()
            if stripped:
                yield label, number, stripped


def ndjson_lines(label: str, chunks: Iterable[bytes], start: int = 1) -> Iterator[Line]:
    """Split an already-read NDJSON body; blank lines are skipped but still counted for line numbers."""
    number = start - 1
    for raw in b"".join(chunks).split(b"\n"):
        number += 1
        stripped = raw.strip()
        if stripped:
            yield label, number, stripped


def _entry_id(full_url: str, resource: dict[str, Any]) -> str | None:
    if isinstance(resource.get("id"), str):
        return str(resource["id"])
    if full_url.startswith("urn:uuid:") and ID_PATTERN.match(full_url[9:]):
        return full_url[9:]
    if full_url.startswith("urn:"):
        return str(uuid.uuid5(URN_NAMESPACE, full_url))
    return None


def bundle_lines(label: str, raw: bytes, rejected: list[Rejected]) -> Iterator[Line]:
    """Entries of a transaction/batch/collection Bundle (a lone resource in a .json file is one line)."""
    try:
        bundle = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        rejected.append(Rejected(label, 0, f"文件不是合法的 JSON：{exc}", raw[:2000]))
        return
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        yield label, 1, raw
        return
    if bundle.get("type") not in BUNDLE_TYPES:
        rejected.append(Rejected(label, 0, f"只导入 transaction、batch、collection 类型的 Bundle，"
                                           f"而不是 {bundle.get('type')!r}", b""))
        return
    entries = [e if isinstance(e, dict) else {} for e in bundle.get("entry") or []]
    mapping: dict[str, str] = {}
    for entry in entries:
        resource, full_url = entry.get("resource"), str(entry.get("fullUrl") or "")
        if isinstance(resource, dict) and full_url.startswith("urn:"):
            new_id = _entry_id(full_url, resource)
            if new_id:
                mapping[full_url] = f"{resource.get('resourceType')}/{new_id}"
    for number, entry in enumerate(entries, start=1):
        resource, request = entry.get("resource"), entry.get("request") or {}
        problem = _unsupported(request, resource)
        if problem:
            kept = resource if isinstance(resource, dict) else entry
            rejected.append(Rejected(label, number, f"Bundle.entry[{number - 1}]：{problem}", orjson.dumps(kept)))
            continue
        assert isinstance(resource, dict)
        full_url = str(entry.get("fullUrl") or "")
        if full_url in mapping:
            resource = {**resource, "id": mapping[full_url].split("/", 1)[1]}
        elif request.get("method") == "PUT" and "id" not in resource:
            resource = {**resource, "id": str(request["url"]).strip("/").split("/")[-1]}
        yield label, number, orjson.dumps(_rewrite_references(resource, mapping) if mapping else resource)


def _unsupported(request: dict[str, Any], resource: Any) -> str | None:
    """Bulk import stores resources; requests that need the transaction engine go through POST /fhir."""
    method = request.get("method")
    if method not in (None, "POST", "PUT"):
        return f"批量导入不支持 {method} 请求，请使用 POST /fhir 提交该 Bundle"
    if request.get("ifNoneExist") or request.get("ifMatch") or "?" in str(request.get("url") or ""):
        return "批量导入不支持条件操作（ifNoneExist/ifMatch/条件 URL），请使用 POST /fhir 提交该 Bundle"
    if not isinstance(resource, dict):
        return "条目没有 resource"
    if method == "PUT":
        parts = str(request.get("url") or "").strip("/").split("/")
        if len(parts) != 2 or parts[0] != resource.get("resourceType") or parts[1] != resource.get("id", parts[1]):
            return f"PUT 地址 {request.get('url')!r} 与资源类型或 id 不一致"
    return None
