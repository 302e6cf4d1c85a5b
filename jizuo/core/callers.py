"""Who is behind an access token, remembered for a few seconds.

Every request used to read its session, user, institution and teams from the database: one round trip and a
fifth of the CPU of a FHIR read. A server process now keeps the answer per token for up to `ttl` seconds.
It forgets everything at once when something that shapes a caller changes — a sign-out, an account edit, a
team membership: the code that makes the change calls `callers_changed(db)`, which empties this process's cache
immediately and sends `NOTIFY jizuo_callers` in the same transaction, so the other server processes (their
listener, `listen_for_changes`) empty theirs when it commits. The TTL bounds what nothing announces (an
operator editing rows by hand). The cache is on only while the listener is connected; if the connection
drops it is switched off until the listener is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
CHANNEL = "jizuo_callers"


class CallerCache:
    def __init__(self, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.enabled = False
        self._entries: dict[str, tuple[Any, float]] = {}

    def get(self, token: str) -> Any | None:
        if not self.enabled:
            return None
        found = self._entries.get(token)
        if found is None:
            return None
        value, until = found
        if time.monotonic() >= until:
            self._entries.pop(token, None)
            return None
        return value

    def put(self, token: str, value: Any, expires_at: float | None = None) -> None:
        """`expires_at` (epoch seconds): the token's own expiry, never outlived."""
        if not self.enabled:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # simpler than LRU and rare: more live tokens than entries in a few seconds
        until = time.monotonic() + self.ttl
        if expires_at is not None:
            until = min(until, time.monotonic() + (expires_at - time.time()))
        self._entries[token] = (value, until)

    def clear(self) -> None:
        self._entries.clear()


CALLERS = CallerCache()


async def callers_changed(db: AsyncSession) -> None:
    """Call where a session, account or team membership changes (inside the changing transaction)."""
    CALLERS.clear()
    await db.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def listen_for_changes(dsn: str, cache: CallerCache = CALLERS) -> None:
    """Runs for the life of the server: keeps a connection LISTENing and the cache on while it is up."""
    while True:
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _c, lost=lost: lost.set())
            await connection.add_listener(CHANNEL, lambda *_args: cache.clear())
            cache.clear()
            cache.enabled = True
            await lost.wait()
            log.warning("caller cache: listener connection lost; cache off until it reconnects")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("caller cache: cannot listen for changes; cache off, retrying")
        finally:
            cache.enabled = False
            cache.clear()
            if connection is not None and not connection.is_closed():
                await connection.close()
        await asyncio.sleep(5.0)
