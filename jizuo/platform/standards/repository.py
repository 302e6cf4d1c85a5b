"""Every query of the catalogue. The catalogue holds no personal data: the caller's scope is checked by the
service (standards:read / standards:write) and nothing here filters by institution."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.standards.models import StdDataElement, StdDataSetVersion, StdValueDomain

# ---------------------------------------------------------------------------------------------- seeding


async def insert_missing_domains(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    result = await db.execute(insert(StdValueDomain).on_conflict_do_nothing(index_elements=["code"])
                              .returning(StdValueDomain.code), rows)
    return len(result.all())


async def insert_missing_elements(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    result = await db.execute(insert(StdDataElement).on_conflict_do_nothing(index_elements=["id"])
                              .returning(StdDataElement.id), rows)
    return len(result.all())


async def data_set_versions_known(db: AsyncSession) -> dict[str, tuple[set[str], int, bool]]:
    """code → (versions stored, highest revision, has a published version)."""
    rows = await db.execute(select(StdDataSetVersion.code, StdDataSetVersion.version, StdDataSetVersion.revision,
                                   StdDataSetVersion.status))
    known: dict[str, tuple[set[str], int, bool]] = {}
    for code, version, revision, status in rows:
        versions, top, published = known.get(code, (set(), 0, False))
        versions.add(version)
        known[code] = (versions, max(top, revision), published or status == "published")
    return known


# ---------------------------------------------------------------------------------------------- reads


async def published_ref(db: AsyncSession, code: str) -> tuple[uuid.UUID, str] | None:
    """(row id, version) of the current version of a data set: the one cheap query of the ingest hot path."""
    row = (await db.execute(select(StdDataSetVersion.id, StdDataSetVersion.version)
                            .where(StdDataSetVersion.code == code, StdDataSetVersion.status == "published"))).first()
    return (row[0], row[1]) if row else None


async def spec_of(db: AsyncSession, version_id: uuid.UUID) -> dict[str, Any] | None:
    spec: dict[str, Any] | None = await db.scalar(select(StdDataSetVersion.spec)
                                                  .where(StdDataSetVersion.id == version_id))
    return spec


async def catalogue_fingerprint(db: AsyncSession) -> tuple[Any, ...]:
    """Changes whenever anything get_catalogue returns changes: elements and domains are append-only (count and
    newest row), published data sets are identified by their row ids (fresh UUIDs for every version)."""
    elements = (await db.execute(select(func.count(), func.max(StdDataElement.created_at)))).one()
    domains = (await db.execute(select(func.count(), func.max(StdValueDomain.created_at)))).one()
    published = (await db.scalars(select(StdDataSetVersion.id).where(StdDataSetVersion.status == "published")
                                  .order_by(StdDataSetVersion.id))).all()
    return (tuple(elements), tuple(domains), tuple(published))


async def all_domains(db: AsyncSession) -> Sequence[StdValueDomain]:
    return (await db.scalars(select(StdValueDomain).order_by(StdValueDomain.code))).all()


async def all_elements(db: AsyncSession) -> Sequence[StdDataElement]:
    return (await db.scalars(select(StdDataElement).order_by(StdDataElement.id))).all()


async def published_versions(db: AsyncSession) -> Sequence[StdDataSetVersion]:
    return (await db.scalars(select(StdDataSetVersion).where(StdDataSetVersion.status == "published")
                             .order_by(StdDataSetVersion.code))).all()


async def all_versions(db: AsyncSession) -> Sequence[StdDataSetVersion]:
    return (await db.scalars(select(StdDataSetVersion)
                             .order_by(StdDataSetVersion.code, StdDataSetVersion.revision))).all()


async def versions_of(db: AsyncSession, code: str) -> Sequence[StdDataSetVersion]:
    return (await db.scalars(select(StdDataSetVersion).where(StdDataSetVersion.code == code)
                             .order_by(StdDataSetVersion.revision.desc()))).all()


async def get_version(db: AsyncSession, code: str, version: str, *, for_update: bool = False
                      ) -> StdDataSetVersion | None:
    query = select(StdDataSetVersion).where(StdDataSetVersion.code == code, StdDataSetVersion.version == version)
    return await db.scalar(query.with_for_update() if for_update else query)


async def get_element(db: AsyncSession, element_id: str) -> StdDataElement | None:
    return await db.get(StdDataElement, element_id)


async def get_domain(db: AsyncSession, code: str) -> StdValueDomain | None:
    return await db.get(StdValueDomain, code)


async def search_elements(db: AsyncSession, *, q: str | None, value_domain: str | None, offset: int, limit: int
                          ) -> tuple[Sequence[StdDataElement], int]:
    query = select(StdDataElement)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(StdDataElement.id.ilike(pattern), StdDataElement.name.ilike(pattern)))
    if value_domain:
        query = query.where(StdDataElement.value_domain == value_domain)
    total = await db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await db.scalars(query.order_by(StdDataElement.id).offset(offset).limit(limit))).all()
    return rows, total


async def elements_using_domain(db: AsyncSession, code: str) -> Sequence[StdDataElement]:
    return (await db.scalars(select(StdDataElement).where(StdDataElement.value_domain == code)
                             .order_by(StdDataElement.id))).all()


# ---------------------------------------------------------------------------------------------- writes


def add(db: AsyncSession, row: StdValueDomain | StdDataElement | StdDataSetVersion) -> None:
    db.add(row)


async def lock_data_set(db: AsyncSession, code: str) -> int:
    """Lock every version row of a data set (publishing and numbering are serialised per code); returns the
    highest revision, 0 for an unknown code."""
    revisions = (await db.scalars(select(StdDataSetVersion.revision).where(StdDataSetVersion.code == code)
                                  .with_for_update())).all()
    return max(revisions, default=0)


async def retire_published(db: AsyncSession, code: str, at: datetime) -> None:
    await db.execute(update(StdDataSetVersion)
                     .where(StdDataSetVersion.code == code, StdDataSetVersion.status == "published")
                     .values(status="retired", retired_at=at))
