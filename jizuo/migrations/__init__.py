"""Alembic migrations, shipped inside the package so `jizuo migrate` works from any install."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from jizuo.core.embedded_pg import to_sync_url

HERE = Path(__file__).parent


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Monthly audit partitions are made at run time, not by models: autogenerate must not drop them."""
    return not (type_ == "table" and reflected and name is not None and name.startswith("audit_event_"))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", to_sync_url(database_url).replace("postgresql://",
                                                                                  "postgresql+psycopg://", 1))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
