"""HL7 v2 intake: each message read, attributed to its sending facility, de-duplicated, mapped, written to
FHIR through the MPI, recorded with its outcome, and answered with its ACK. Nothing here commits.

Every message becomes one `IngestRecord` (seq = its number in the batch) holding the raw ER7 SM4-encrypted
(as the JSON {"message": ...}, so the quarantine shows it), its outcome and its reasons:
- accepted: written (the FHIR resources are listed on the record) → AA;
- duplicate: the same message (same facility + MSH-10 control id, same content but for MSH-7) was taken
  before → AA, nothing written again;
- quarantined: rejected (AR) or its content failed (AE), with the reasons in Chinese.
A message's writes run in a savepoint: one the FHIR layer refuses leaves nothing behind (all or nothing).
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, JizuoError
from jizuo.core.security import FieldCipher, get_field_cipher
from jizuo.fhir import store
from jizuo.fhir.personal_data import reveal
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Role
from jizuo.platform.ingest import repository as ingest_repo
from jizuo.platform.ingest.hl7v2 import repository as repo
from jizuo.platform.ingest.hl7v2.ack import build_ack
from jizuo.platform.ingest.hl7v2.mapping_adt import ADT_TRIGGERS, Mapped, adt_keys, map_adt
from jizuo.platform.ingest.hl7v2.mapping_oru import map_oru, oru_keys
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, parse_message, split_messages, timestamp
from jizuo.platform.ingest.hl7v2.patient import Facility
from jizuo.platform.ingest.mapping import NAMESPACE
from jizuo.platform.ingest.pipeline import record_fingerprints
from jizuo.platform.ingest.writer import SummarisingSink, system_context, write_records
from jizuo.platform.mpi import service as mpi

log = logging.getLogger(__name__)
DATASET = "hl7v2"
UTF8 = "UNICODE UTF-8"
FACILITY_TTL = 300.0


@dataclass(frozen=True)
class Sender:
    """Who sends. Over HTTP: the signed-in caller (an institution may send only its own facility's messages,
    the district administrator any). Over MLLP: a peer on the trusted network, acting as the facility named
    in each message (actor "mllp:<facility code>")."""

    username: str | None = None
    own_facility: str | None = None
    institution_id: uuid.UUID | None = None
    scope: AccessScope | None = None

    def actor(self, facility: Facility | None) -> str:
        return self.username or f"mllp:{facility.code if facility else 'unknown'}"

    def steward_scope(self, facility: Facility) -> AccessScope:
        """Who performs an A40 merge in the MPI: the caller, or — over MLLP — the facility's interface acting
        as that institution's steward, which reaches only that institution's own records."""
        if self.scope is not None:
            return self.scope
        actor = self.actor(facility)
        return AccessScope(user_id=uuid.uuid5(NAMESPACE, actor), username=actor, role=Role.INSTITUTION_ADMIN,
                           organization_id=uuid.UUID(facility.id), organization_code=facility.code)


@dataclass
class FacilityCache:
    """Registry lookups of MSH-4, remembered for a few minutes (a connection may stay open for days)."""

    found: dict[str, tuple[float, Facility]] = field(default_factory=dict)

    async def get(self, db: AsyncSession, code: str) -> Facility | None:
        hit = self.found.get(code)
        if hit and time.monotonic() - hit[0] < FACILITY_TTL:
            return hit[1]
        row = await repo.active_organization(db, code)
        if row is None:
            return None
        facility = Facility(*row)
        self.found[code] = (time.monotonic(), facility)
        return facility


@dataclass
class Incoming:
    """A message read and attributed, before it is taken."""

    raw: str
    message: Message | None = None
    facility: Facility | None = None
    institution_id: uuid.UUID | None = None
    problem: Hl7Problem | None = None
    charset: str = UTF8

    @property
    def dataset_code(self) -> str:
        if self.message is None or self.message.message_type not in ("ADT", "ORU"):
            return DATASET
        return f"{DATASET}.{self.message.message_type}"


@dataclass
class BatchCursor:
    """One open batch: its id, the last message number, and the audit of what was written in it."""

    batch_id: uuid.UUID
    seq: int = 0
    sink: SummarisingSink = field(default_factory=SummarisingSink)


def _supported(message: Message) -> Hl7Problem | None:
    if message.message_type == "ADT":
        if message.trigger in ADT_TRIGGERS:
            return None
        return Hl7Problem(f"不支持的 ADT 事件 {message.trigger or '（空）'}：支持 A01/A03/A04/A08/A28/A31/A40",
                          "AR", "201", "MSH-9")
    if message.message_type == "ORU":
        if message.trigger == "R01":
            return None
        return Hl7Problem(f"不支持的 ORU 事件 {message.trigger or '（空）'}：仅支持 ORU^R01", "AR", "201", "MSH-9")
    return Hl7Problem(f"不支持的消息类型 {message.type_label or '（空）'}：支持 ADT（A01/A03/A04/A08/A28/A31/A40）"
                      "与 ORU^R01", "AR", "200", "MSH-9")


async def read_message(db: AsyncSession, raw: str, sender: Sender, facilities: FacilityCache,
                       charset: str = UTF8, rejection: Hl7Problem | None = None) -> Incoming:
    """Parse and attribute one message. `rejection`: a reason found before parsing (an MLLP framing error):
    the message is still read, to be attributed, then rejected with it."""
    incoming = Incoming(raw, institution_id=sender.institution_id, charset=charset)
    try:
        message = parse_message(raw)
    except Hl7Problem as problem:
        incoming.problem = rejection or problem
        return incoming
    incoming.message = message
    if not message.facility:
        incoming.problem = rejection or Hl7Problem("MSH-4（发送机构）为空，无法确认消息来源", "AR", "101", "MSH-4",
                                                   "hl7v2.facility")
        return incoming
    facility = await facilities.get(db, message.facility)
    if facility is None and message.facility_universal_id:
        facility = await facilities.get(db, message.facility_universal_id)
    if facility is None:
        incoming.problem = rejection or Hl7Problem(
            f"发送机构“{message.facility}”（MSH-4）未在平台机构注册表中登记或已停用", "AR", "204", "MSH-4",
            "hl7v2.facility")
        return incoming
    if sender.own_facility and facility.code != sender.own_facility:
        incoming.problem = rejection or Hl7Problem(
            f"只能发送本机构（{sender.own_facility}）的消息，该消息的发送机构（MSH-4）为 {facility.code}", "AR",
            "204", "MSH-4", "hl7v2.facility")
        return incoming
    incoming.facility, incoming.institution_id = facility, uuid.UUID(facility.id)
    if rejection is not None:
        incoming.problem = rejection
    elif not message.control_id:
        incoming.problem = Hl7Problem("MSH-10（消息控制号）为空", "AR", "101", "MSH-10", "hl7v2.required")
    else:
        incoming.problem = _supported(message)
    return incoming


def _failure(problem: Hl7Problem) -> dict[str, Any]:
    dimension = "completeness" if problem.rule == "hl7v2.required" else "conformity"
    return {"rule": problem.rule, "dimension": dimension, "severity": "error", "message": problem.message,
            "field": problem.location, "element": None}


def _content(message: Message) -> str:
    """The message for duplicate detection: the same message re-sent, even with a new MSH-7, is the same."""
    segments = message.raw.split("\r")
    header = segments[0].split(message.raw[3])
    if len(header) > 6:
        header[6] = ""
    return "\r".join([message.raw[3].join(header), *segments[1:]])


def _event_at(message: Message | None) -> datetime | None:
    if message is None:
        return None
    try:
        sent = timestamp(message.sent_at, "MSH-7")
    except Hl7Problem:
        return None
    return sent.moment if sent else None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _keep_what_the_message_omits(patient: dict[str, Any], previous: dict[str, Any]) -> None:
    """An ADT message replaces the Patient, but an identifier it does not repeat (a 身份证 from another feed,
    a 医保卡) and the links of an earlier merge stay: a message that leaves a field out has not deleted it."""
    systems = {i.get("system") for i in patient.get("identifier") or []}
    kept = [i for i in previous.get("identifier") or [] if i.get("system") not in systems]
    if kept:
        patient["identifier"] = [*patient.get("identifier", []), *kept]
    if previous.get("link") and not patient.get("link"):
        patient["link"] = previous["link"]


async def _write(db: AsyncSession, incoming: Incoming, sender: Sender, sink: SummarisingSink,
                 cipher: FieldCipher) -> tuple[list[str], list[str]]:
    """Map and write one message (inside the caller's savepoint); returns (resources written, notes)."""
    message, facility = incoming.message, incoming.facility
    assert message is not None and facility is not None
    keys = adt_keys(message, facility) if message.message_type == "ADT" else oru_keys(message, facility)
    found = await store.get_current_many(db, keys)
    stored = {key: (None if key not in found or found[key].deleted else found[key].resource) for key in keys}
    mapped: Mapped = map_adt(message, facility, stored) if message.message_type == "ADT" \
        else map_oru(message, facility, stored)
    resources = list(mapped.resources)
    for resource in resources:
        previous = stored.get(("Patient", resource["id"])) if resource["resourceType"] == "Patient" else None
        if previous is not None:
            _keep_what_the_message_omits(resource, reveal(copy.deepcopy(previous), cipher, full=True))
    for old_id, new_id in mapped.merges:
        old = reveal(copy.deepcopy(stored[("Patient", old_id)] or {}), cipher, full=True)
        old.pop("meta", None)
        old["active"] = False
        old["link"] = [{"other": {"reference": f"Patient/{new_id}"}, "type": "replaced-by"}]
        resources.append(old)
    actor = sender.actor(facility)
    ctx = system_context(db, sink, actor)
    result = await write_records(ctx, [resources])
    if 0 in result.refused:
        raise _Refused(result.refused[0])
    notes = list(mapped.notes)
    for old_id, new_id in mapped.merges:
        notes.extend(await _merge_in_mpi(db, sink, sender.steward_scope(facility), old_id, new_id))
    return result.written.get(0, []), notes


async def _merge_in_mpi(db: AsyncSession, sink: SummarisingSink, scope: AccessScope, old_id: str, new_id: str
                        ) -> list[str]:
    """A40 in the MPI: the merged-away record joins the survivor's person (a steward's link, which later
    automatic matching leaves alone)."""
    try:
        person = await mpi.person_of_record(db, sink, scope, new_id)
        await mpi.link_record(db, sink, scope, old_id, uuid.UUID(person["person_id"]), "HL7 ADT^A40 合并患者")
    except Conflict as exc:
        if exc.code != "mpi_already_linked":
            return [f"主索引未能合并：{exc.detail}"]
    except JizuoError as exc:
        return [f"主索引未能合并：{exc.detail}"]
    return []


def _summary(written: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for ref in written:
        kind = ref.split("/", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return "、".join(f"{kind} {n}" for kind, n in counts.items()) or "无"


async def take_message(db: AsyncSession, batch: BatchCursor, incoming: Incoming, sender: Sender) -> str:
    """Record, and when it passes write, one read message; returns its ACK (ER7)."""
    cipher = get_field_cipher()
    batch.seq += 1
    received_at = utcnow()
    message, facility = incoming.message, incoming.facility
    record: dict[str, Any] = {
        "batch_id": batch.batch_id, "seq": batch.seq, "dataset_code": incoming.dataset_code,
        "institution_id": incoming.institution_id, "status": "quarantined", "record_key": None,
        "content_hash": cipher.blind_index(incoming.raw).hex(),
        "data_enc": cipher.encrypt(orjson.dumps({"message": incoming.raw}).decode()), "failures": [],
        "dimensions": [], "required_total": 0, "required_filled": 0, "late": False,
        "event_at": _event_at(message), "received_at": received_at, "resources": [],
    }
    previous = None
    if message is not None and message.control_id:
        key, content = record_fingerprints(cipher, (message.facility, message.control_id),
                                           {"message": _content(message)})
        record["record_key"], record["content_hash"] = key, content
        latest = await ingest_repo.latest_by_key(db, incoming.dataset_code, incoming.institution_id, [key])
        previous = latest.get(key)
    problem, text = incoming.problem, ""
    if problem is None and previous and previous[1] == record["content_hash"] and previous[2] != "quarantined":
        record["status"] = "duplicate"
        text = f"重复消息：控制号 {message.control_id if message else ''} 的相同消息已接收过，未重复写入"
    elif problem is None:
        sink = SummarisingSink()
        try:
            async with db.begin_nested():
                written, notes = await _write(db, incoming, sender, sink, cipher)
        except Hl7Problem as exc:
            problem = exc
        except _Refused as exc:
            problem = Hl7Problem(exc.reason, "AE", "102", None, "fhir.validation")
        except (JizuoError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            # A message our mapping cannot handle must not take the batch (or the connection) down with it:
            # it is held, with a reason the sender can pass on, and the log has the details.
            log.exception("HL7 v2 message %s could not be mapped", message.control_id if message else "?")
            problem = Hl7Problem("平台处理该消息时出错（内部错误），消息已保留在隔离区，请联系平台运维", "AE", "207",
                                 None, "hl7v2.internal")
        else:
            record["status"], record["resources"] = "accepted", written
            record["failures"] = [{"rule": "hl7v2.mpi", "dimension": "consistency", "severity": "warning",
                                   "message": n, "field": "MRG-1", "element": None}
                                  for n in notes if n.startswith("主索引")]
            text = "；".join([f"已接收，写入 {_summary(written)}", *notes])
            batch.sink.counts.update(sink.counts)
            batch.sink.details.extend(sink.details[:20])
    if problem is not None:
        record["failures"] = [_failure(problem)]
        text = problem.message
    record["dimensions"] = sorted({f["dimension"] for f in record["failures"] if f["severity"] == "error"})
    await ingest_repo.insert_records(db, [record])
    if previous and previous[2] == "quarantined" and record["status"] != "duplicate":
        # The same message sent again replaces the one held: the quarantine keeps the newest attempt.
        await ingest_repo.resolve_records(db, [previous[0]], "superseded", sender.actor(facility), received_at,
                                          "已由重新发送的同一消息替代")
    status = record["status"]
    await ingest_repo.add_counts(db, batch.batch_id, cursor=batch.seq, received=1,
                                 accepted=int(status == "accepted"), quarantined=int(status == "quarantined"),
                                 duplicates=int(status == "duplicate"))
    code = "AA" if problem is None else problem.ack_code
    return build_ack(message, code, text, problem, incoming.charset)


async def open_batch(db: AsyncSession, source: str, institution_id: uuid.UUID | None, submitted_by: str | None,
                     notes: dict[str, Any] | None = None) -> BatchCursor:
    batch = await ingest_repo.create_batch(db, source=source, dataset_code=DATASET, institution_id=institution_id,
                                           submitted_by=(submitted_by or "")[:64] or None, status="processing",
                                           notes=notes or {})
    return BatchCursor(batch.id)


async def flush_audit(db: AsyncSession, batch: BatchCursor, actor: Actor) -> None:
    """Audit what the batch wrote since the last flush: one row per action and resource type."""
    trail = AuditTrail()
    batch.sink.write_to(trail, batch.batch_id, actor=actor)
    await trail.flush(db)


async def finish_batch(db: AsyncSession, batch: BatchCursor) -> None:
    await ingest_repo.finish_batch(db, batch.batch_id, utcnow())


async def ingest_messages(db: AsyncSession, sender: Sender, raw_text: str, source: str
                          ) -> tuple[uuid.UUID, list[str]]:
    """One or more ER7 messages → one batch, one record per message; returns (batch id, ACKs in order)."""
    facilities = FacilityCache()
    incomings = [await read_message(db, raw, sender, facilities) for raw in split_messages(raw_text)]
    institution = sender.institution_id
    if institution is None:
        # The district administrator sending for one facility: the batch is that institution's.
        named = {i.institution_id for i in incomings}
        institution = named.pop() if len(named) == 1 else None
    batch = await open_batch(db, source, institution, sender.username, {"messages": len(incomings)})
    acks = [await take_message(db, batch, incoming, sender) for incoming in incomings]
    await flush_audit(db, batch, Actor.of(sender.scope) if sender.scope else Actor(username=sender.username))
    await finish_batch(db, batch)
    return batch.batch_id, acks


async def close_stale_mllp_batches(db: AsyncSession, started_at: datetime) -> int:
    return await repo.close_open_mllp_batches(db, started_at, utcnow())
