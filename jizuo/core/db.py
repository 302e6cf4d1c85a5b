"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import MetaData, Select, func
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
