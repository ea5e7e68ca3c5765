#!/usr/bin/env python3
"""Bootstrap the project's virtual environment, then run the demo or the test suite.

    python3 dev.py demo    # the service on an embedded PostgreSQL with the mock provider
    python3 dev.py test    # ruff, mypy and the whole pytest suite against a real PostgreSQL
    python3 dev.py run ARGS...  # any `voicesurvey` CLI command inside the environment

Only the standard library is used here: this file runs before anything is installed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "dev.py"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the pinned dependencies when they changed."""
    wanted = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        print("Creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    print("Installing pinned dependencies ...", flush=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser_present() -> bool:
    own = glob.glob(str(Path.home() / ".cache/ms-playwright/chromium-*/chrome-linux*/chrome"))
    return bool(os.environ.get("CHROMIUM_PATH") or own or any(shutil.which(b) for b in BROWSERS))


def _pgbouncer_present() -> bool:
    return bool(shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").is_file())


# Debian packages the tests use: a browser for the console, PgBouncer for the pooler test.
SYSTEM_PACKAGES = {"chromium": _browser_present, "pgbouncer": _pgbouncer_present}


def ensure_system_packages() -> None:
    """Install the tests' system packages that are missing, when this runs as root on Debian;
    elsewhere the tests that need them say how to get them."""
    missing = [name for name, present in SYSTEM_PACKAGES.items() if not present()]
    if not missing or os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print(f"Installing {' and '.join(missing)} for the tests (apt-get) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0"]

    def apt_get(*args: str) -> int:
        return subprocess.run([*apt, *args], env=env, stdout=subprocess.DEVNULL).returncode

    if apt_get("install", *missing) != 0:  # the package lists may be stale or missing
        apt_get("update")
        apt_get("install", *missing)


def run(cmd: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def test(extra: list[str]) -> int:
    steps = [
        [str(BIN / "ruff"), "check", "src", "tests", "bench", "dev.py"],
        [str(BIN / "ruff"), "format", "--check", "src", "tests", "bench", "dev.py"],
        [str(BIN / "mypy")],
        [str(PY), "-m", "pytest", *extra],
    ]
    for step in steps:
        print("$", " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
        code = run(step)
        if code != 0:
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "run"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        ensure_system_packages()
        return test(rest)
    if command == "demo":
        return run([str(BIN / "voicesurvey"), "demo", *rest])
    return run([str(BIN / "voicesurvey"), *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
