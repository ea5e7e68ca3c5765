"""Start a server command (`uvicorn ...`, `voicesurvey serve`) and read everything it wrote."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.acceptance.processes import ROOT, free_port, wait_until


class Server:
    """One server process on a free loopback port, stdout and stderr in one file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @classmethod
    def uvicorn(cls, app: str, env: dict[str, str], log_path: Path) -> Server:
        return cls(["uvicorn", app, "--workers", "1"], env, log_path)

    @classmethod
    def voicesurvey_serve(cls, env: dict[str, str], log_path: Path, workers: int = 1) -> Server:
        return cls(["app.cli", "serve", "--workers", str(workers)], env, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_started(self) -> None:
        wait_until(
            lambda: "Application startup complete" in self.log() or self.proc.poll() is not None,
            60,
            "start-up",
        )
        assert self.proc.poll() is None, f"the server exited; it wrote:\n{self.log()}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line from the first JSON object on, each of which must be one."""
    lines = log.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("{")), len(lines))
    return [json.loads(line) for line in lines[first:]]
