"""The run's end-of-session check fails a run that leaves a PostgreSQL server running.

A pytest session of its own, using tests/conftest.py's real hooks, starts two servers and stops
one, while a server it did not start runs beside it: the run fails and names the one it leaked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.acceptance.processes import ROOT
from tests.support import own_postgres

pytestmark = pytest.mark.acceptance

INNER_CONFTEST = """
from tests.conftest import _run_temp_dir, pytest_sessionfinish, pytest_sessionstart
"""

INNER_TESTS = """
from pathlib import Path

from tests.support import own_postgres


def started(tmp_path_factory, name: str) -> Path:
    data = own_postgres.new_data_dir()
    # Written down for the outer test, which stops and deletes whatever this run leaves.
    (tmp_path_factory.getbasetemp() / f"{name}.data").write_text(str(data))
    own_postgres.create(data)
    return data


def test_leaves_its_server_running(tmp_path_factory):
    started(tmp_path_factory, "leaked")


def test_stops_its_server(tmp_path_factory):
    own_postgres.discard(started(tmp_path_factory, "stopped"))
"""


def inner_data_dirs(pytester: pytest.Pytester) -> dict[str, Path]:
    """The inner run's clusters, by test: "leaked" and "stopped"."""
    notes = pytester.path.glob("runpytest-[0-9]*/*.data")
    return {note.stem: Path(note.read_text()).resolve() for note in notes}


def test_a_server_left_running_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inner run imports `tests` and `app`, and runs from a directory of its own.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "src")]))
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_servers=INNER_TESTS)
    foreign = own_postgres.new_data_dir()  # running before the inner run began: not its own
    try:
        own_postgres.create(foreign)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        data = inner_data_dirs(pytester)
        leaked_pid = own_postgres.postmaster_pid(data["leaked"])
    finally:
        for cluster in [foreign, *inner_data_dirs(pytester).values()]:
            own_postgres.discard(cluster)

    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert leaked_pid is not None
    result.stdout.fnmatch_lines(
        [
            "*= leaked PostgreSQL servers =*",
            "PostgreSQL servers started by this test run are still running:",
            f"  pid {leaked_pid}, data directory {data['leaked']}, started *",
        ]
    )
    output = result.stdout.str()
    assert output.count("  pid ") == 1, output
    assert str(foreign.resolve()) not in output and str(data["stopped"]) not in output
