"""LOG_FORMAT=json: one object per line; the checklist's lines stay the message in both formats."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.logs import LogFormat, configure_logging, make_handler

Emit = Callable[..., str]

CHECKLIST_LINES = [
    ("app.main", "Application starting"),
    ("app.scheduler.runner", "Scheduler enabled"),
    ("app.scheduler.runner", "Scheduler leader lock acquired"),
    ("app.scheduler.runner", "Scheduler leader lock busy; standby"),
    ("app.telephony.factory", "Creating telephony provider"),
]


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("app.test_json_logs")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


def emitter(logger: logging.Logger, fmt: LogFormat) -> Emit:
    def emit(msg: object, *args: object, **kwargs: Any) -> str:
        stream = io.StringIO()
        handler = make_handler(fmt, stream)
        logger.addHandler(handler)
        try:
            logger.info(msg, *args, **kwargs)
        finally:
            logger.removeHandler(handler)
        return stream.getvalue()

    return emit


@pytest.fixture
def emit_json(logger: logging.Logger) -> Emit:
    return emitter(logger, "json")


@pytest.fixture
def emit_text(logger: logging.Logger) -> Emit:
    return emitter(logger, "text")


def one_object(output: str) -> dict[str, Any]:
    assert output.endswith("\n")
    assert output.count("\n") == 1
    entry: dict[str, Any] = json.loads(output)
    return entry


def test_json_record_has_the_core_fields(emit_json: Emit) -> None:
    entry = one_object(emit_json("hello %s", "world"))

    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "app.test_json_logs"
    assert entry["pid"] == os.getpid()
    ts = datetime.fromisoformat(entry["ts"])
    assert ts.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - ts) < timedelta(minutes=1)
    assert "exc" not in entry


@pytest.mark.parametrize("message", ["a\nb", "a\r\nb", "x\u2028y", "trailing\n", "é è ü"])
def test_json_record_is_one_line_whatever_the_message(emit_json: Emit, message: str) -> None:
    output = emit_json(message)

    assert len(output.splitlines()) == 1
    assert one_object(output)["message"] == message


def test_json_record_carries_the_extras(emit_json: Emit) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    extra = {"attempt_id": 7, "campaign": "q4", "ok": True, "when": when, "level": "spoofed"}

    entry = one_object(emit_json("dispatched", extra=extra))

    assert entry["attempt_id"] == 7
    assert entry["campaign"] == "q4"
    assert entry["ok"] is True
    assert entry["when"] == str(when)
    assert entry["level"] == "INFO"  # an extra never overrides a core field


def test_json_exception_is_a_single_line_exc_field(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(make_handler("json", stream))
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("Scheduler tick failed")

    output = stream.getvalue()
    entry = one_object(output)
    assert entry["message"] == "Scheduler tick failed"
    assert entry["level"] == "ERROR"
    assert entry["exc"] == "ValueError: boom"
    assert entry["traceback"].startswith("Traceback (most recent call last):")
    assert "raise ValueError" in entry["traceback"]


def test_json_masks_numbers_in_message_extras_and_exceptions(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(make_handler("json", stream))
    try:
        raise RuntimeError("number +14155550123 unreachable")
    except RuntimeError:
        logger.exception("to=%s", "+390212345678", extra={"to": "+447911123456"})

    output = stream.getvalue()
    entry = one_object(output)
    assert entry["message"] == "to=+39*******678"
    assert entry["to"] == "+44*******456"
    assert entry["exc"] == "RuntimeError: number +14******123 unreachable"
    for digits in ("0212345", "7911123", "4155550"):
        assert digits not in output


def test_text_masks_numbers_in_the_traceback(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(make_handler("text", stream))
    try:
        raise RuntimeError("number +14155550123 unreachable")
    except RuntimeError:
        logger.exception("call failed")

    output = stream.getvalue()
    assert "RuntimeError: number +14******123 unreachable" in output
    assert "4155550" not in output


@pytest.mark.parametrize(("name", "line"), CHECKLIST_LINES)
def test_checklist_lines_are_the_message_in_both_formats(name: str, line: str) -> None:
    log = logging.getLogger(name)
    outputs = {}
    formats: tuple[LogFormat, ...] = ("text", "json")
    for fmt in formats:
        stream = io.StringIO()
        handler = make_handler(fmt, stream)
        log.addHandler(handler)
        try:
            log.warning(line)
        finally:
            log.removeHandler(handler)
        outputs[fmt] = stream.getvalue()

    assert outputs["text"].rstrip("\n").endswith(f"{name}: {line}")
    assert one_object(outputs["json"])["message"] == line


def test_initiate_call_line_keeps_its_shape(emit_text: Emit, emit_json: Emit) -> None:
    args = ("initiate_call attempt=%s contact=%s attempt_number=%s to=%s", 12345, 678, 1)
    expected = "initiate_call attempt=12345 contact=678 attempt_number=1 to=+39*******678"

    assert emit_text(*args, "+39*******678").rstrip("\n").endswith(expected)
    assert emit_text(*args, "+390212345678").rstrip("\n").endswith(expected)
    assert one_object(emit_json(*args, "+390212345678"))["message"] == expected


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    """The real `app` logger, restored afterwards."""
    log = logging.getLogger("app")
    saved = (list(log.handlers), log.level, log.propagate)
    log.handlers = [h for h in log.handlers if not getattr(h, "_voicesurvey", False)]
    yield log
    log.handlers, log.level, log.propagate = saved[0], saved[1], saved[2]


def test_configure_logging_installs_one_handler_and_switches_format(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    configure_logging("INFO", "json")
    configure_logging("DEBUG", "json")

    ours = [h for h in app_logger.handlers if getattr(h, "_voicesurvey", False)]
    assert len(ours) == 1
    assert app_logger.propagate is False
    logging.getLogger("app.main").debug("Application starting")
    err = capsys.readouterr().err
    assert one_object(err)["message"] == "Application starting"


def test_configure_logging_text_is_the_default(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    logging.getLogger("app.main").info("Application starting")

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.rstrip("\n").endswith(f"INFO [pid {os.getpid()}] app.main: Application starting")
