from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import jizuo.migrations.all_models  # noqa: F401  (registers every table on Base.metadata)
from jizuo.core.db import Base
from jizuo.migrations import include_object

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=Base.metadata, compare_type=True, include_object=include_object
        )
        with context.begin_transaction():
            # Two processes (two uvicorn workers, or CI jobs) must not migrate at once.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727372)")
            context.run_migrations()


run_migrations_online()
