"""Ctrl-C during `voicesurvey demo` stops the service cleanly: exit 130, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.processes import service_env, wait_until

pytestmark = pytest.mark.acceptance


def test_ctrl_c_stops_the_demo_cleanly(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "demo", "--contacts", "40"],
            cwd=tmp_path,
            env={**service_env(database_url), "COLUMNS": "120"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: "started" in log.read_text(), 60, "the campaign to start")
            demo.send_signal(signal.SIGINT)
            code = demo.wait(60)
        finally:
            if demo.poll() is None:
                demo.kill()

    text = log.read_text()
    assert code == 130, text
    assert "demo stopped; the service shut down cleanly" in text
    assert "Traceback" not in text
