"""Run `voicesurvey` commands in-process against the test database."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from app.cli import cli

Invoke = Callable[..., "Result"]


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr


def make_invoke() -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        result = runner.invoke(cli, list(args))
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke
