"""Leader election on a PostgreSQL session-level advisory lock, held on a dedicated connection.

The lock only saves work: dispatch stays correct with two leaders (row claims, unique indexes),
because a dropped connection, a pooler or a server restart can briefly produce two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import asyncpg

from app.db.engine import SERVER_SETTINGS

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x56530001
PROBE_TIMEOUT_SECONDS = 5.0

# Backends holding the leader lock in this database ($1: the key); pg_locks shows a bigint key
# split into classid (high 32 bits) and objid (low 32 bits).
LOCK_HOLDERS = """
SELECT l.pid FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

_HOLDS_LOCK = f"SELECT EXISTS ({LOCK_HOLDERS} AND l.pid = pg_backend_pid())"


class LeaderElection:
    """Owns one connection outside the pool; the lock lives and dies with it."""

    def __init__(self, dsn: str, key: int = LEADER_LOCK_KEY) -> None:
        self._dsn = dsn
        self._key = key
        self._conn: asyncpg.Connection | None = None
        self.is_leader = False
        self.last_error: str | None = None  # why the last election could not be held

    async def try_acquire(self) -> bool:
        """Try once to take the lock; connection errors count as 'not leader'."""
        try:
            conn = await self._connection()
            acquired = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._key, timeout=PROBE_TIMEOUT_SECONDS
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            await self._drop(f"leader election failed: {exc}")
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self.last_error = None
        self.is_leader = bool(acquired)
        return self.is_leader

    async def still_held(self) -> bool:
        """Probe the lock; a dead connection or a missing lock ends leadership at once."""
        if not self.is_leader or self._conn is None:
            return False
        try:
            held = await self._conn.fetchval(_HOLDS_LOCK, self._key, timeout=PROBE_TIMEOUT_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            await self._drop(f"leader probe failed: {exc}")
            return False
        if not held:
            self.is_leader = False
        return bool(held)

    async def release(self) -> None:
        if self._conn is not None and self.is_leader:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        await self._drop(None)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            settings = {
                **SERVER_SETTINGS,
                "application_name": f"voicesurvey-scheduler-{os.getpid()}",
            }
            self._conn = await asyncpg.connect(
                self._dsn, timeout=PROBE_TIMEOUT_SECONDS, server_settings=settings
            )
        return self._conn

    async def _drop(self, reason: str | None) -> None:
        self.is_leader = False
        conn, self._conn = self._conn, None
        if reason:
            log.debug("%s", reason)
        if conn is not None and not conn.is_closed():
            conn.terminate()
        await asyncio.sleep(0)
