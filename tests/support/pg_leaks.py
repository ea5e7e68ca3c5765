"""Find the PostgreSQL servers a test run started and left running.

A server belongs to the run when it started after the run began and either inherited the run's
marker variable (every process the tests start does, pg_ctl's servers included) or keeps its
data under the run's temporary directory. A PostgreSQL the tests did not start -- the system
one, a demo under .data/, another engineer's test run -- matches neither.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

# Set for the whole run; inherited by every process the tests start.
SESSION_ENV = "VOICESURVEY_TEST_RUN"
# psutil derives a start time from the boot time, which /proc gives in whole seconds.
CLOCK_SLACK = 2.0


@dataclass(frozen=True)
class Postmaster:
    """The parent process of one running server."""

    pid: int
    data_dir: Path | None
    started: float
    run: str | None  # the SESSION_ENV it inherited; None when unset or unreadable

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.started).strftime("%H:%M:%S")
        return f"pid {self.pid}, data directory {self.data_dir}, started {when}"


@dataclass(frozen=True)
class RunMarker:
    """What identifies the servers one test run starts."""

    marker: str
    began: float

    @classmethod
    def begin(cls) -> RunMarker:
        """Mark this process's environment, so that every process started from now carries it."""
        run = cls(marker=uuid.uuid4().hex, began=time.time())
        os.environ[SESSION_ENV] = run.marker
        return run

    def started(self, server: Postmaster, temp_dirs: Iterable[Path]) -> bool:
        if server.started < self.began - CLOCK_SLACK:
            return False
        if server.run == self.marker:
            return True
        return server.data_dir is not None and any(
            server.data_dir.is_relative_to(d) for d in temp_dirs
        )

    def leaked(self, temp_dirs: Iterable[Path], grace: float = 5.0) -> list[Postmaster]:
        """The run's servers still running once `grace` seconds have let stopping ones exit."""
        dirs = [d.resolve() for d in temp_dirs]
        deadline = time.monotonic() + grace
        while True:
            found = [p for p in postmasters() if self.started(p, dirs)]
            if not found or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)


def postmasters() -> list[Postmaster]:
    """Every PostgreSQL postmaster on this machine that can be seen."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "create_time", "ppid"]):
        info = proc.info
        if info["name"] != "postgres" or not info["cmdline"]:
            continue
        try:
            if psutil.Process(info["ppid"]).name() == "postgres":
                continue  # a backend or worker of a server: its postmaster is listed itself
        except psutil.Error:
            pass
        found.append(
            Postmaster(proc.pid, _data_dir(proc, info["cmdline"]), info["create_time"], _run(proc))
        )
    return found


def report(servers: Iterable[Postmaster]) -> str:
    lines = ["PostgreSQL servers started by this test run are still running:"]
    lines += [f"  {server.describe()}" for server in servers]
    lines.append("Stop each in the fixture that started it (e.g. own_postgres.stop(data_dir)).")
    return "\n".join(lines)


def _data_dir(proc: psutil.Process, cmdline: list[str]) -> Path | None:
    try:
        return Path(proc.cwd())  # a postmaster works in its data directory, whatever -D said
    except psutil.Error:
        pass  # another user's process: fall back on its command line
    for flag, value in itertools.pairwise(cmdline):
        if flag == "-D":
            return Path(value)
    return None


def _run(proc: psutil.Process) -> str | None:
    try:
        return proc.environ().get(SESSION_ENV)
    except psutil.Error:
        return None
