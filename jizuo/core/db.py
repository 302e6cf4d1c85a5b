"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import JSON, MetaData, Select, Table, func, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.config import Settings
from jizuo.core.embedded_pg import start_embedded_postgres, to_async_url, to_sync_url

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Query-narrowing helpers take any SELECT and return the same kind: `def f(query: Q) -> Q`.
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def resolve_database_url(settings: Settings) -> str:
    """The libpq URL of the database: DATABASE_URL if set, else the embedded server (started here)."""
    if settings.database_url:
        return to_sync_url(settings.database_url)
    return start_embedded_postgres(settings.pg_dir)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # Search SQL differs in selectivity from one value to the next (one patient vs. a common lab code):
        # a generic cached plan picked after five executions can be 100× slower, so plan every execution.
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "jizuo",
                                          "plan_cache_mode": "force_custom_plan"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


async def driver_connection(db: AsyncSession, *, writing: bool = True) -> Any:
    """The session's asyncpg connection, to run the hottest statements (FHIR store, audit, projections)
    without the ORM's per-statement cost (about as much Python again as asyncpg's own). A transactional
    session's transaction is begun first, as SQLAlchemy would begin it for its own first statement. Writers
    get it only inside a transaction (outside one each statement would commit on its own); None otherwise, or
    for another driver: the callers then go through SQLAlchemy."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    driver, adapted = raw.driver_connection, cast(Any, raw.dbapi_connection)
    if driver is None or not hasattr(driver, "copy_records_to_table"):
        return None
    if not driver.is_in_transaction() and getattr(adapted, "isolation_level", None) != "autocommit" \
            and getattr(adapted, "_transaction", True) is None:
        await adapted._start_transaction()  # SQLAlchemy's asyncpg adapter (pinned in requirements.lock)
    return driver if driver.is_in_transaction() or not writing else None


def unnest_arrays(table: Table, columns: Sequence[str], first: int) -> str:
    """`$first::type[], …`: one typed array parameter per column, for `unnest`. A length limit is left off the
    cast (an explicit cast to VARCHAR(n) truncates silently), so the column itself refuses a value too long."""
    dialect = postgresql.dialect()
    types = [re.sub(r"^(VARCHAR|CHAR)\(\d+\)$", r"\1", table.c[name].type.compile(dialect=dialect))
             for name in columns]
    return ", ".join(f"${first + i}::{pg_type}[]" for i, pg_type in enumerate(types))


@cache
def unnest_insert_sql(table: Table, columns: tuple[str, ...], first: int = 1) -> str:
    """`INSERT INTO table (columns) SELECT * FROM unnest($first::type[], …)`: many rows, one array per column."""
    arrays = unnest_arrays(table, columns, first)
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


def column_arrays(table: Table, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """The arrays for unnest_insert_sql; JSON values as text, as SQLAlchemy's asyncpg codec takes them."""
    arrays = []
    for name in columns:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSON):
            values = [None if v is None else json_text(v) for v in values]
        arrays.append(values)
    return arrays


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits are legal JSON numbers; orjson refuses them
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def insert_rows(db: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """A multi-row INSERT in one statement on the session's asyncpg connection. Every row must name every column
    the first row names (no Python-side defaults are applied); other drivers go through SQLAlchemy."""
    if not rows:
        return
    driver = await driver_connection(db)
    if driver is None:
        await db.execute(insert(table), list(rows))
        return
    columns = tuple(rows[0])
    await driver.execute(unnest_insert_sql(table, columns), *column_arrays(table, columns, rows))
