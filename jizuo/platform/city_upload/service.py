"""Uploading accepted records to the city platform's 前置库, one table per data set.

The outbound tables (`ds_<data set code>`) carry the catalogue's fields as text columns plus
`jz_institution`, `jz_record_key`, `jz_batch_id`, `jz_upload_state` and `jz_uploaded_at`. Rows are upserted
on (institution, record key), so an upload is idempotent: re-sending a batch — after a network failure or
because the city asked — leaves one row per record, refreshed, with `jz_upload_state` back to 'new' for the
city to read again. Batches are cut by ingest record id, so consecutive uploads never overlap or skip.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlparse

import orjson
import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.core.config import Settings
from jizuo.core.embedded_pg import start_embedded_postgres, to_sync_url
from jizuo.core.errors import NotFound
from jizuo.core.security import get_field_cipher
from jizuo.platform.city_upload.models import UploadBatch
from jizuo.platform.ingest.models import IngestRecord
from jizuo.platform.registry.models import Organization
from jizuo.platform.standards.spec import DataSetSpec

UPLOADABLE = ("accepted", "released")
CITY_DATABASE = "jizuo_city"


def city_database_url(settings: Settings) -> str:
    """The configured city 前置库, or — for demos and tests — a `jizuo_city` database beside ours (on the
    embedded server, or on the DATABASE_URL server when the account may create databases)."""
    if settings.city_database_url:
        return to_sync_url(settings.city_database_url)
    if settings.database_url:
        ours = to_sync_url(settings.database_url)
        with psycopg.connect(ours, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (CITY_DATABASE,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(CITY_DATABASE)))
        return urlparse(ours)._replace(path=f"/{CITY_DATABASE}").geturl()
    return start_embedded_postgres(settings.pg_dir, CITY_DATABASE)


def table_name(dataset_code: str) -> str:
    return "ds_" + re.sub(r"[^a-z0-9]+", "_", dataset_code.lower()).strip("_")


async def _last_uploaded(db: AsyncSession, dataset_code: str) -> int:
    last = await db.scalar(select(func.max(UploadBatch.to_record_id)).where(UploadBatch.dataset_code == dataset_code))
    return int(last or 0)


async def cut_batch(db: AsyncSession, dataset_code: str, limit: int, actor: str) -> UploadBatch | None:
    """The next batch of not-yet-uploaded accepted records of a data set (None: nothing new)."""
    after = await _last_uploaded(db, dataset_code)
    ids = list(await db.scalars(select(IngestRecord.id).where(
        IngestRecord.dataset_code == dataset_code, IngestRecord.id > after,
        IngestRecord.status.in_(UPLOADABLE)).order_by(IngestRecord.id).limit(limit)))
    if not ids:
        return None
    batch = UploadBatch(dataset_code=dataset_code, from_record_id=ids[0], to_record_id=ids[-1], rows=len(ids),
                        state="pending", attempts=0, requested_by=actor)
    db.add(batch)
    await db.flush()
    return batch


async def _batch_rows(db: AsyncSession, batch: UploadBatch, data_set: DataSetSpec) -> list[list[Any]]:
    cipher = get_field_cipher()
    rows = await db.execute(
        select(IngestRecord.record_key, IngestRecord.data_enc, Organization.code)
        .outerjoin(Organization, Organization.id == IngestRecord.institution_id)
        .where(IngestRecord.dataset_code == batch.dataset_code, IngestRecord.status.in_(UPLOADABLE),
               IngestRecord.id.between(batch.from_record_id, batch.to_record_id))
        .order_by(IngestRecord.id))
    names = [f.name for f in data_set.fields]
    out = []
    for record_key, data_enc, org_code in rows:
        fields = orjson.loads(cipher.decrypt(data_enc)) if data_enc else {}
        out.append([org_code or "", record_key, *(fields.get(n) or None for n in names)])
    return out


async def _write_city(city_url: str, data_set: DataSetSpec, batch_id: uuid.UUID, rows: list[list[Any]]) -> None:
    table = sql.Identifier(table_name(data_set.code))
    names = [f.name for f in data_set.fields]
    columns = [sql.Identifier(n) for n in names]
    async with await psycopg.AsyncConnection.connect(city_url, connect_timeout=10) as conn:
        async with conn.cursor() as cur:
            await cur.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {t} (jz_institution text NOT NULL, jz_record_key text NOT NULL, "
                "jz_batch_id uuid NOT NULL, jz_upload_state text NOT NULL DEFAULT 'new', "
                "jz_uploaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (jz_institution, jz_record_key))"
            ).format(t=table))
            await cur.execute("SELECT column_name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND table_name = %s",
                              [table_name(data_set.code)])
            present = {row[0] for row in await cur.fetchall()}
            for name in names:  # a new catalogue version may add fields; ALTER only then (it locks the table)
                if name not in present:
                    await cur.execute(sql.SQL("ALTER TABLE {t} ADD COLUMN {c} text").format(
                        t=table, c=sql.Identifier(name)))
            insert = sql.SQL(
                "INSERT INTO {t} (jz_institution, jz_record_key, {cols}, jz_batch_id) VALUES ({values}) "
                "ON CONFLICT (jz_institution, jz_record_key) DO UPDATE SET {updates}, "
                "jz_batch_id = EXCLUDED.jz_batch_id, jz_upload_state = 'new', jz_uploaded_at = now()"
            ).format(t=table, cols=sql.SQL(", ").join(columns),
                     values=sql.SQL(", ").join(sql.Placeholder() * (len(columns) + 3)),
                     updates=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=c) for c in columns))
            await cur.executemany(insert, [[*row, batch_id] for row in rows])
        await conn.commit()


async def send_batch(factory: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, city_url: str) -> UploadBatch:
    """Send (or re-send) one batch; the batch's state says how it went — a failure is kept for a resend."""
    from jizuo.platform.standards import service as standards  # the catalogue's store (issue 6)

    async with factory() as db:
        batch = await db.get(UploadBatch, batch_id, with_for_update=True)
        if batch is None:
            raise NotFound("上传批次不存在", code="upload_batch_not_found")
        data_set = await standards.get_dataset_spec(db, batch.dataset_code)
        rows = await _batch_rows(db, batch, data_set)
        batch.attempts += 1
        try:
            await _write_city(city_url, data_set, batch.id, rows)
        except (psycopg.Error, OSError) as exc:
            batch.state, batch.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        else:
            batch.state, batch.error, batch.sent_at = "sent", None, utcnow()
        await db.commit()
        return batch


async def upload_pending(factory: async_sessionmaker[AsyncSession], dataset_codes: list[str], city_url: str,
                         actor: str, limit: int = 5000) -> list[UploadBatch]:
    """Re-send batches that failed before, then cut and send new ones until nothing new is left."""
    sent = []
    async with factory() as db:
        failed = list(await db.scalars(select(UploadBatch.id).where(UploadBatch.state.in_(("failed", "pending")),
                                                                    UploadBatch.dataset_code.in_(dataset_codes))
                                       .order_by(UploadBatch.created_at)))
    for batch_id in failed:
        result = await send_batch(factory, batch_id, city_url)
        sent.append(result)
        if result.state == "failed":
            return sent
    for code in dataset_codes:
        while True:
            async with factory() as db:
                batch = await cut_batch(db, code, limit, actor)
                await db.commit()
            if batch is None:
                break
            result = await send_batch(factory, batch.id, city_url)
            sent.append(result)
            if result.state == "failed":
                break  # the city side is down: stop here, the batch waits for a resend
    return sent


async def uploaded_dataset_codes(db: AsyncSession) -> list[str]:
    """The catalogue's data sets (records of HL7 messages and FHIR bundles outside any set have no table)."""
    from jizuo.platform.standards import service as standards

    return sorted((await standards.get_catalogue(db)).data_sets)
