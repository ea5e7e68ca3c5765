"""A real PgBouncer in transaction mode in front of the test server, for the pooler tests.

PgBouncer will not run as root: as root it is started as the user the embedded server runs as
(who can reach that server's socket), or `nobody` for a server on TCP.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

NOT_INSTALLED = (
    "PgBouncer is not installed, so the transaction-pooler test did not run: "
    "`apt-get install pgbouncer` (python3 dev.py test does it when run as root)"
)


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(p).is_file()), None
    )


@dataclass(frozen=True)
class Bouncer:
    port: int
    user: str
    log: Path

    def url(self, database: str) -> str:
        """An asyncpg URL to `database` through the pooler."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def logins(self, database: str) -> int:
        """How many client connections to `database` PgBouncer let in (it logs each one)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count(f"login attempt: db={database} ")


@contextlib.contextmanager
def running_pgbouncer(server_url: str) -> Iterator[Bouncer]:
    """PgBouncer (pool_mode = transaction) in front of the server of `server_url`."""
    binary = pgbouncer_binary()
    assert binary is not None, NOT_INSTALLED
    url = make_url(server_url)
    host = str(url.query.get("host") or url.host or "127.0.0.1")
    port = int(str(url.query.get("port") or url.port or 5432))
    user = url.username or "postgres"
    password = f" password={url.password}" if url.password else ""
    listen = _free_port()
    # Its own directory, outside the tests' private ones: PgBouncer may run as another user.
    workdir = Path(tempfile.mkdtemp(prefix="voicesurvey-pgbouncer-"))
    workdir.chmod(0o755)
    log = workdir / "pgbouncer.log"
    config = workdir / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={host} port={port} user={user}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = any
admin_users = {user}
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = {log}
pidfile = {workdir / "pgbouncer.pid"}
"""
    )
    command = [binary, str(config)]
    if os.geteuid() == 0:
        command = [binary, "-u", _run_as(host), str(config)]
    if os.geteuid() == 0:
        shutil.chown(workdir, user=_run_as(host))
    output = workdir / "stderr.log"
    with output.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_listening(listen, proc, output)
        yield Bouncer(listen, user, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _run_as(host: str) -> str:
    if host.startswith("/"):
        # The embedded server's socket is reachable by the user it runs as.
        return Path(host).owner()
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("nobody").pw_name
    return "daemon"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited with {proc.returncode}: {text[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")
