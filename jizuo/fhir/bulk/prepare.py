"""The CPU half of bulk import: one batch of NDJSON lines → rows ready for COPY, or a reason for rejection.

Runs in worker processes (spawned, so nothing is inherited but what the initializer gets) or in a thread
for small imports. Everything returned is plain tuples/strings/numbers: cheap to pickle back to the parent,
which only assigns row ids and writes. Validation (fhir.resources) is the dominant cost, which is why this
runs on every core (DESIGN §7).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from jizuo.core.errors import JizuoError
from jizuo.core.runtime import settle_garbage_collector
from jizuo.core.security import FieldCipher
from jizuo.fhir.errors import FhirError
from jizuo.fhir.personal_data import protect
from jizuo.fhir.store import index_rows
from jizuo.fhir.validation import validate_resource

# Resources without an id get uuid5(namespace, content digest): importing the same file twice yields the
# same ids, so a re-import updates nothing instead of duplicating everything.
CONTENT_NAMESPACE = uuid.UUID("b7f0c0de-5a1e-4f6b-8d3e-2c9a1b7e4f10")
INDEX_KINDS = ("tokens", "strings", "dates", "references", "quantities", "numbers", "uris")
MAX_REASON = 500

Line = tuple[str, int, bytes]
"""(source label, 1-based line or entry number, raw JSON bytes)."""


@dataclass(slots=True)
class Prepared:
    res_type: str
    id: str
    resource: str  # stored form (stamped, personal data encrypted), JSON text: what COPY writes to jsonb
    digest: str  # of the client-visible content without meta.versionId/lastUpdated: "is this a change?"
    index: tuple[list[tuple[Any, ...]], ...]  # one list per INDEX_KINDS entry, rows without rid/res_type


@dataclass(slots=True)
class Rejected:
    source: str
    line: int
    reason: str
    raw: bytes


@dataclass(slots=True)
class PreparedBatch:
    items: list[tuple[str, int, Prepared]]
    rejected: list[Rejected]


_cipher: FieldCipher | None = None


def init_worker(cipher: FieldCipher) -> None:
    """Process-pool initializer: the parent's keys, so a worker never depends on its own settings."""
    global _cipher
    _cipher = cipher
    validate_resource({"resourceType": "Patient"})  # build the pydantic models before the first batch
    settle_garbage_collector()


def content_digest(resource: dict[str, Any]) -> str:
    """Digest of what a client would see, minus the server-set version stamp."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and ("versionId" in meta or "lastUpdated" in meta):
        rest = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        resource = {**resource, "meta": rest} if rest else {k: v for k, v in resource.items() if k != "meta"}
    return hashlib.blake2b(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def reason_of(exc: Exception) -> str:
    if isinstance(exc, FhirError) and exc.issues:
        text = "；".join(str(i.get("diagnostics", "")) for i in exc.issues[:3])
        if len(exc.issues) > 3:
            text += f"；等 {len(exc.issues)} 个问题"
    elif isinstance(exc, JizuoError):
        text = exc.detail
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_REASON]


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def prepare_one(raw: bytes, now: datetime, cipher: FieldCipher) -> Prepared:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FhirError(f"不是合法的 JSON：{exc}", issue="structure", code="invalid_json") from exc
    resource = validate_resource(body)
    if not resource.get("id"):
        resource = {**resource, "id": str(uuid.uuid5(CONTENT_NAMESPACE, content_digest(resource)))}
    digest = content_digest(resource)
    meta = dict(resource.get("meta") or {})
    meta.update(versionId="1", lastUpdated=_instant(now))
    stamped = {**resource, "meta": meta}
    stored, replacements = protect(stamped, cipher)
    rows = index_rows(0, stored, replacements)
    return Prepared(resource["resourceType"], resource["id"], orjson.dumps(stored).decode(), digest,
                    tuple(getattr(rows, kind) for kind in INDEX_KINDS))


def prepare_batch(lines: list[Line], now: datetime, cipher: FieldCipher | None = None) -> PreparedBatch:
    """Parse, validate, stamp, protect and index every line; failures become Rejected, never exceptions."""
    cipher = cipher or _cipher
    assert cipher is not None, "prepare_batch needs the field cipher (init_worker or an argument)"
    out = PreparedBatch([], [])
    for source, line, raw in lines:
        try:
            out.items.append((source, line, prepare_one(raw, now, cipher)))
        except Exception as exc:  # one bad line must never fail its batch: it is reported and kept
            out.rejected.append(Rejected(source, line, reason_of(exc), raw))
    return out
