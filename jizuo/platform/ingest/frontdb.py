"""Pulling a data set from an institution's 前置库 (front-end database), incrementally by a watermark column.

Each pull takes the rows past the stored watermark, writes them into a held batch (as CSV, exactly like an
upload) and moves the watermark in the same transaction — so once a pull is committed its rows are never
lost or pulled twice, and the batch is processed (and resumed after a stop) by the ordinary pipeline.
Rows sharing the last watermark value are never split across two pulls: a page that ends inside such a run
is cut back to before it, or, if the run fills the page, the whole run is taken.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.core.errors import ValidationFailed
from jizuo.core.security import get_field_cipher
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.models import FrontDbSource
from jizuo.platform.ingest.pipeline import process_batch

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


def check_identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValidationFailed(f"{what}“{value}”不是合法的表名或列名（字母、数字、下划线，可带模式名）",
                               code="bad_identifier")
    return value


def _identifier(name: str) -> sql.Composable:
    return sql.Identifier(*name.split("."))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


async def fetch_page(dsn: str, table: str, column: str, after: str | None, limit: int
                     ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows of `table` with `column` > `after` (all when None), in watermark order, never splitting a run of
    equal watermark values."""
    where = sql.SQL("WHERE {col} > %s").format(col=_identifier(column)) if after is not None else sql.SQL("")
    query = sql.SQL("SELECT * FROM {table} {where} ORDER BY {col} LIMIT %s").format(
        table=_identifier(table), where=where, col=_identifier(column))
    params: list[Any] = ([after] if after is not None else []) + [limit + 1]
    async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=10) as conn, conn.cursor() as cur:
        await cur.execute(query, params)
        names = [d.name for d in cur.description or []]
        rows = await cur.fetchall()
        position = names.index(column.split(".")[-1]) if column.split(".")[-1] in names else None
        if position is None:
            raise ValidationFailed(f"前置库表 {table} 中没有水位列 {column}", code="no_watermark_column")
        if len(rows) <= limit:
            return names, rows
        last = rows[limit][position]
        kept = [r for r in rows[:limit] if r[position] != last]
        if kept:
            return names, kept
        # The whole page shares one watermark value: take that run entire.
        await cur.execute(sql.SQL("SELECT * FROM {table} WHERE {col} = %s").format(
            table=_identifier(table), col=_identifier(column)), [last])
        return names, await cur.fetchall()


def to_csv(names: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


async def pull(factory: async_sessionmaker[AsyncSession], source_id: uuid.UUID, actor: str) -> uuid.UUID | None:
    """One pull: a new held batch (None when there was nothing new), then processed like an upload."""
    async with factory() as db:
        source = await db.get(FrontDbSource, source_id, with_for_update=True)
        if source is None:
            return None
        dsn = get_field_cipher().decrypt(source.dsn_enc)
        source.last_run_at = utcnow()
        try:
            names, rows = await fetch_page(dsn, source.table_name, source.watermark_column, source.watermark,
                                           source.batch_size)
        except (psycopg.Error, OSError, ValidationFailed) as exc:
            source.last_error = f"{type(exc).__name__}: {exc}"[:500]
            await db.commit()
            return None
        source.last_error = None
        if not rows:
            await db.commit()
            return None
        column = source.watermark_column.split(".")[-1]
        source.watermark = _text(rows[-1][names.index(column)])[:64]
        batch = await repo.create_batch(db, source="frontdb", dataset_code=source.dataset_code,
                                        institution_id=source.institution_id, filename=f"{source.table_name}.csv",
                                        submitted_by=actor, status="received", payload=to_csv(names, rows),
                                        notes={"encoding": "utf-8", "frontdb_source": str(source.id),
                                               "watermark": source.watermark})
        source.last_batch_id = batch.id
        batch_id = batch.id
        await db.commit()
    await process_batch(factory, batch_id)
    return batch_id


async def due_sources(db: AsyncSession) -> list[uuid.UUID]:
    now = utcnow()
    rows = await db.execute(select(FrontDbSource.id, FrontDbSource.last_run_at, FrontDbSource.interval_seconds)
                            .where(FrontDbSource.enabled.is_(True)))
    return [sid for sid, last, every in rows if last is None or now - last >= timedelta(seconds=every)]
