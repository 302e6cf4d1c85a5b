"""Settings from the environment (prefix JIZUO_); the defaults run the demo with nothing set."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIZUO_", extra="ignore")

    data_dir: Path = Path(".jizuo")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # When set, used instead of the embedded server. Read without the prefix, as operators expect.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    db_pool_size: int = 20
    # HL7 v2 over MLLP (TCP): the listener starts with the server when a port is set (off when unset).
    mllp_port: int | None = None
    mllp_host: str = "127.0.0.1"
    # The city platform's 前置库 that accepted data is uploaded to; unset: a `jizuo_city` database beside ours
    # (demo and tests); production sets the city's PostgreSQL.
    city_database_url: str | None = None

    access_token_minutes: int = 30
    refresh_token_days: int = 7
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    issuer: str = "http://127.0.0.1:8000"

    # Keys for personal-data encryption (SM4) and blind indexes (HMAC-SM3), hex. Left empty, they are
    # generated once into the data directory so a demo needs nothing; production sets them explicitly.
    data_key: str | None = None
    index_key: str | None = None

    demo_seed: int = 20261125
    demo_residents: int = 20000
    # Residents who get a 3-year clinical history in FHIR (the rest have registry data only): loading all
    # 20,000 (~600k resources) takes minutes on two cores; 0 disables, a larger number loads more.
    demo_history_residents: int = 5000
    log_level: str = "info"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def load_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Read a hex secret from `path`, creating it (mode 600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(nbytes)
    path.write_text(value)
    path.chmod(0o600)
    return value
