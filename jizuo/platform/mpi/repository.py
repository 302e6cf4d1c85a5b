"""Every query of the MPI. Persons and links are district-wide data: the service decides who may call."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.platform.mpi.models import MpiEvent, MpiLink, MpiPerson, MpiReview, MpiSourceRecord
from jizuo.platform.mpi.normalise import Features
from jizuo.platform.registry.codes import LEVEL_RANK
from jizuo.platform.registry.models import Organization

FEATURE_COLUMNS = tuple(Features.__dataclass_fields__)
CANDIDATE_LIMIT = 300
_CANDIDATE_COLUMNS = [MpiSourceRecord.patient_id, MpiSourceRecord.person_id,
                      *(getattr(MpiSourceRecord, c) for c in FEATURE_COLUMNS)]


# --- source records -------------------------------------------------------------------------------------

async def institution(db: AsyncSession, reference_id: str | None, code: str | None) -> tuple[str, str, int] | None:
    """(code, name, level rank) of a registry organization, by FHIR id (= registry UUID) or by code."""
    query = select(Organization.code, Organization.name, Organization.level)
    if reference_id:
        try:
            query = query.where(Organization.id == uuid.UUID(reference_id))
        except ValueError:
            return None
    elif code:
        query = query.where(Organization.code == code)
    else:
        return None
    row = (await db.execute(query)).first()
    return (row.code, row.name, LEVEL_RANK.get(row.level, 0)) if row else None


async def upsert_source(db: AsyncSession, values: dict[str, Any]) -> None:
    statement = pg_insert(MpiSourceRecord).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in ("patient_id", "person_id")}
    await db.execute(statement.on_conflict_do_update(index_elements=["patient_id"], set_=changed))


async def get_source(db: AsyncSession, patient_id: str) -> MpiSourceRecord | None:
    return await db.get(MpiSourceRecord, patient_id, populate_existing=True)


async def mark_source_deleted(db: AsyncSession, patient_id: str) -> None:
    await db.execute(update(MpiSourceRecord).where(MpiSourceRecord.patient_id == patient_id)
                     .values(deleted=True, person_id=None))


async def candidates(db: AsyncSession, feats: Features, exclude: str | None) -> list[dict[str, Any]]:
    """Records sharing any blocking key with `feats`: one statement, each branch an index scan (BitmapOr)."""
    keys = []
    for column in ("id_bidx", "insurance_bidx", "phone_bidx", "birth"):
        value = getattr(feats, column)
        if value is not None:
            keys.append(getattr(MpiSourceRecord, column) == value)
    if feats.name_fuzzy and feats.birth_year:
        keys.append(and_(MpiSourceRecord.name_fuzzy == feats.name_fuzzy,
                         MpiSourceRecord.birth_year == feats.birth_year))
    found = await _fetch(db, keys, exclude) if keys else []
    if feats.id_fuzzy and not (feats.id_valid and any(r["id_bidx"] == feats.id_bidx for r in found)):
        # One digit off: the GIN index on the masked hashes. PostgreSQL cannot estimate `&&` on rare
        # elements (it guesses ~9 % of the table), so with a LIMIT or other filters it walks another index
        # or the table: the bare `&&` is asked alone, with the GIN index insisted on, and filtered here.
        await db.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await db.execute(select(*_CANDIDATE_COLUMNS, MpiSourceRecord.deleted)
                                .where(MpiSourceRecord.id_fuzzy.overlap(feats.id_fuzzy)))
        await db.execute(text("SET LOCAL enable_seqscan = on"))
        seen = {r["patient_id"] for r in found} | {exclude}
        for row in rows:
            record = dict(row._mapping)
            if record.pop("deleted") or record["person_id"] is None or record["patient_id"] in seen:
                continue
            found.append(record)
    return found[:CANDIDATE_LIMIT + 50]


async def _fetch(db: AsyncSession, keys: list[Any], exclude: str | None) -> list[dict[str, Any]]:
    query = select(*_CANDIDATE_COLUMNS).where(or_(*keys), MpiSourceRecord.deleted.is_(False),
                                              MpiSourceRecord.person_id.is_not(None))
    if exclude:
        query = query.where(MpiSourceRecord.patient_id != exclude)
    rows = await db.execute(query.limit(CANDIDATE_LIMIT))
    return [dict(row._mapping) for row in rows]


async def sources_of_persons(db: AsyncSession, person_ids: Sequence[uuid.UUID]) -> list[MpiSourceRecord]:
    if not person_ids:
        return []
    rows = await db.scalars(select(MpiSourceRecord).where(MpiSourceRecord.person_id.in_(list(person_ids)),
                                                          MpiSourceRecord.deleted.is_(False))
                            .order_by(MpiSourceRecord.institution_rank.desc(), MpiSourceRecord.patient_id)
                            .execution_options(populate_existing=True))
    return list(rows)


async def set_person_of_sources(db: AsyncSession, patient_ids: Sequence[str], person_id: uuid.UUID | None) -> None:
    await db.execute(update(MpiSourceRecord).where(MpiSourceRecord.patient_id.in_(list(patient_ids)))
                     .values(person_id=person_id))


# --- persons --------------------------------------------------------------------------------------------

async def new_person(db: AsyncSession) -> uuid.UUID:
    person_id = uuid.uuid4()
    await db.execute(insert(MpiPerson).values(id=person_id, status="active", golden={}, version=1))
    return person_id


async def get_person(db: AsyncSession, person_id: uuid.UUID, *, for_update: bool = False) -> MpiPerson | None:
    if for_update:
        return (await db.scalars(select(MpiPerson).where(MpiPerson.id == person_id).with_for_update())).first()
    return await db.get(MpiPerson, person_id, populate_existing=True)


async def save_golden(db: AsyncSession, person_id: uuid.UUID, golden: dict[str, Any], status: str | None) -> None:
    values: dict[str, Any] = {"golden": golden, "version": MpiPerson.version + 1, "updated_at": utcnow()}
    if status is not None:
        values["status"] = status
    await db.execute(update(MpiPerson).where(MpiPerson.id == person_id).values(**values))


async def set_person_status(db: AsyncSession, person_id: uuid.UUID, status: str, merged_into: uuid.UUID | None
                            ) -> None:
    await db.execute(update(MpiPerson).where(MpiPerson.id == person_id)
                     .values(status=status, merged_into=merged_into, updated_at=utcnow()))


# --- links ----------------------------------------------------------------------------------------------

async def active_link(db: AsyncSession, patient_id: str) -> MpiLink | None:
    return (await db.scalars(select(MpiLink).where(MpiLink.patient_id == patient_id, MpiLink.status == "active")
                             .execution_options(populate_existing=True))).first()


async def active_links_of_person(db: AsyncSession, person_id: uuid.UUID) -> list[MpiLink]:
    return list(await db.scalars(select(MpiLink).where(MpiLink.person_id == person_id, MpiLink.status == "active")
                                 .order_by(MpiLink.created_at, MpiLink.patient_id)
                                 .execution_options(populate_existing=True)))


async def links_by_ids(db: AsyncSession, link_ids: Sequence[uuid.UUID]) -> list[MpiLink]:
    if not link_ids:
        return []
    return list(await db.scalars(select(MpiLink).where(MpiLink.id.in_(list(link_ids)))
                                 .execution_options(populate_existing=True)))


async def add_link(db: AsyncSession, **values: Any) -> uuid.UUID:
    link_id = uuid.uuid4()
    await db.execute(insert(MpiLink).values(id=link_id, status="active", **values))
    return link_id


async def retire_links(db: AsyncSession, link_ids: Sequence[uuid.UUID], actor: str, reason: str) -> None:
    if link_ids:
        await db.execute(update(MpiLink).where(MpiLink.id.in_(list(link_ids)))
                         .values(status="retired", retired_at=utcnow(), retired_by=actor, reason=reason))


async def reactivate_links(db: AsyncSession, link_ids: Sequence[uuid.UUID]) -> None:
    if link_ids:
        await db.execute(update(MpiLink).where(MpiLink.id.in_(list(link_ids)))
                         .values(status="active", retired_at=None, retired_by=None, reason=None))


async def stream_active_links(db: AsyncSession, batch: int = 5000) -> AsyncIterator[Any]:
    result = await db.stream(select(MpiLink.patient_id, MpiLink.person_id, MpiLink.score, MpiLink.method,
                                    MpiLink.model_version).where(MpiLink.status == "active")
                             .order_by(MpiLink.patient_id).execution_options(yield_per=batch))
    async for row in result:
        yield row


# --- reviews --------------------------------------------------------------------------------------------

async def add_review(db: AsyncSession, **values: Any) -> uuid.UUID:
    review_id = uuid.uuid4()
    await db.execute(insert(MpiReview).values(id=review_id, status="open", **values))
    return review_id


async def get_review(db: AsyncSession, review_id: uuid.UUID) -> MpiReview | None:
    return await db.get(MpiReview, review_id)


async def list_reviews(db: AsyncSession, status: str, offset: int, limit: int) -> tuple[list[MpiReview], int]:
    total = await db.scalar(select(func.count()).select_from(MpiReview).where(MpiReview.status == status))
    rows = await db.scalars(select(MpiReview).where(MpiReview.status == status)
                            .order_by(MpiReview.score.desc(), MpiReview.created_at).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def close_open_reviews(db: AsyncSession, patient_id: str, status: str, actor: str) -> None:
    await db.execute(update(MpiReview).where(MpiReview.patient_id == patient_id, MpiReview.status == "open")
                     .values(status=status, decided_by=actor, decided_at=utcnow()))


# --- events (the outbox) --------------------------------------------------------------------------------

async def add_event(db: AsyncSession, **values: Any) -> int:
    seq = await db.scalar(insert(MpiEvent).values(**values).returning(MpiEvent.seq))
    await db.execute(text("SELECT pg_notify('jizuo_mpi', :payload)"),
                     {"payload": f'{{"seq": {seq}, "action": "{values["action"]}"}}'})
    return int(seq or 0)


async def get_event(db: AsyncSession, seq: int, *, for_update: bool = False) -> MpiEvent | None:
    query = select(MpiEvent).where(MpiEvent.seq == seq)
    return (await db.scalars(query.with_for_update() if for_update else query)).first()


async def mark_reverted(db: AsyncSession, seq: int, by_seq: int) -> None:
    await db.execute(update(MpiEvent).where(MpiEvent.seq == seq).values(reverted_by_seq=by_seq))


async def list_events(db: AsyncSession, after: int, limit: int, person_id: str | None) -> list[MpiEvent]:
    query = select(MpiEvent).where(MpiEvent.seq > after)
    if person_id:
        query = query.where(MpiEvent.person_ids.contains([person_id]))
    return list(await db.scalars(query.order_by(MpiEvent.seq).limit(limit)))


async def latest_merge_of(db: AsyncSession, person_id: str) -> MpiEvent | None:
    return (await db.scalars(select(MpiEvent).where(MpiEvent.action == "merge", MpiEvent.reverted_by_seq.is_(None),
                                                    MpiEvent.person_ids[1] == person_id)
                             .order_by(MpiEvent.seq.desc()).limit(1))).first()
