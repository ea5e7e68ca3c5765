"""LOG_FORMAT=json: one object per line; the checklist's lines stay the message in both formats.

The checklist's lines are read from what the service itself writes when it starts: two
instances of the real application on the test database, as two workers would run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import logging.config
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.logs import LogFormat, configure_logging, make_handler, server_log_config
from app.main import create_app
from tests.support.seed import seed_campaign

Emit = Callable[..., str]

# The checklist's lines, each with the logger that must emit it, once per worker or once in all.
CHECKLIST_LINES = [
    ("app.main", "Application starting", 2),
    ("app.telephony.factory", "Creating telephony provider: mock", 2),
    ("app.scheduler.runner", "Scheduler enabled", 2),
    ("app.scheduler.runner", "Scheduler leader lock acquired", 1),
    ("app.scheduler.runner", "Scheduler leader lock busy; standby", 1),
]
# The one seeded contact, +393000000001, masked in the dispatcher's line.
INITIATE_CALL = re.compile(
    r"initiate_call attempt=\d+ contact=\d+ attempt_number=1 to=\+39\*{7}001"
)
# TextFormatter's layout: asctime (date and time), level, pid, logger, message.
TEXT_LINE = re.compile(r"\S+ \S+ (?P<level>[A-Z]+) \[pid \d+\] (?P<logger>[\w.]+): (?P<message>.*)")


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


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    """The real `app` logger, restored afterwards.

    Without our handler, so that configure_logging installs one writing to this test's stderr.
    """
    log = logging.getLogger("app")
    saved = (list(log.handlers), log.level, log.propagate)
    log.handlers = [h for h in log.handlers if not getattr(h, "_voicesurvey", False)]
    yield log
    log.handlers, log.level, log.propagate = saved[0], saved[1], saved[2]


@contextlib.asynccontextmanager
async def two_workers(settings: Settings) -> AsyncIterator[None]:
    """Two instances of the real application, started and stopped as two workers would be."""
    async with contextlib.AsyncExitStack() as stack:
        for application in (create_app(settings), create_app(settings)):
            await stack.enter_async_context(application.router.lifespan_context(application))
        yield


async def stderr_until(capsys: pytest.CaptureFixture[str], done: Callable[[str], bool]) -> str:
    """What has been written to stderr, read until `done` holds for it."""
    err = ""
    try:
        async with asyncio.timeout(15):
            while not done(err):  # polls captured output: there is no event to wait on
                await asyncio.sleep(0.02)
                err += capsys.readouterr().err
    except TimeoutError:
        raise AssertionError(f"the service never got that far; it wrote:\n{err}") from None
    return err


def parse(fmt: LogFormat, line: str) -> tuple[str, str]:
    """(logger, message) of one line; every line the service writes must be well formed."""
    if fmt == "json":
        entry = json.loads(line)
        assert entry["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, line
        assert entry["pid"] == os.getpid() and datetime.fromisoformat(entry["ts"]), line
        return entry["logger"], entry["message"]
    match = TEXT_LINE.fullmatch(line)
    assert match is not None, f"not a log line: {line!r}"
    return match["logger"], match["message"]


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_the_service_writes_the_checklist_lines_in_either_format(
    fmt: LogFormat,
    make_settings: Callable[..., Settings],
    sessions: async_sessionmaker[AsyncSession],
    app_logger: logging.Logger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed_campaign(sessions, contacts=1)
    settings = make_settings(
        log_format=fmt, scheduler_enabled=True, scheduler_interval_seconds=0.05
    )

    async with two_workers(settings):
        # Read before shutdown: once the leader stops, the standby may rightly take over.
        err = await stderr_until(capsys, lambda out: "standby" in out and "initiate_call" in out)

    lines = [parse(fmt, line) for line in err.splitlines()]
    for logger, message, times in CHECKLIST_LINES:
        assert lines.count((logger, message)) == times, (logger, message, err)
    calls = [m for logger, m in lines if logger == "app.scheduler.dispatch" and "initiate" in m]
    assert len(calls) == 1 and INITIATE_CALL.fullmatch(calls[0]), err
    assert "3000000001" not in err


def test_configure_logging_installs_one_handler_and_switches_format(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    configure_logging("INFO", "json")
    configure_logging("DEBUG", "json")

    ours = [h for h in app_logger.handlers if getattr(h, "_voicesurvey", False)]
    assert len(ours) == 1
    assert app_logger.propagate is False
    logging.getLogger("app.main").debug("a debug line")
    err = capsys.readouterr().err
    assert one_object(err)["message"] == "a debug line"


def test_configure_logging_text_is_the_default(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    logging.getLogger("app.main").info("an info line")

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.rstrip("\n").endswith(f"INFO [pid {os.getpid()}] app.main: an info line")


# --- every handler masks: uvicorn's, the root logger's, anyone's ------------------------------

# A traceback, an access line and a message, each holding a number in another format.
NATIONAL = ("333 123 4567", "(202) 555-0184", "3331234567")
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def logging_state() -> Iterator[None]:
    """Every logger this section touches, put back as it was afterwards."""
    names = ["", "app", "third.party", *SERVER_LOGGERS]
    loggers = [logging.getLogger(name or None) for name in names]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def log_through_uvicorn() -> None:
    """What uvicorn logs when an app raises: its access line, then the traceback."""
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/c?to=333+123+4567", "1.1", 500
    )
    try:
        raise LookupError(f"no route to {NATIONAL[1]}") from KeyError(NATIONAL[2])
    except LookupError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")


def assert_masked(output: str) -> None:
    for number in NATIONAL:
        assert number not in output
    assert "4567" not in output and "0184" not in output
    assert "(20*) ***-*184" in output and "33*****567" in output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_configure_logging_masks_what_uvicorn_set_up_before_it(
    fmt: LogFormat, logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # as `uvicorn app.main:app` does before the import
    configure_logging("INFO", fmt)
    log_through_uvicorn()

    captured = capsys.readouterr()
    assert_masked(captured.out + captured.err)
    assert "Exception in ASGI application" in captured.err
    assert "33*+***+*567" in captured.out  # the access line, on stdout as uvicorn writes it
    if fmt == "json":
        failure = one_object(captured.err)
        assert failure["logger"] == "uvicorn.error"
        assert failure["exc"] == "LookupError: no route to (20*) ***-*184"
        assert "The above exception was the direct cause" in failure["traceback"]
        assert one_object(captured.out)["logger"] == "uvicorn.access"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_server_log_config_masks_from_uvicorns_first_line(
    fmt: LogFormat, logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(server_log_config(fmt))  # as `voicesurvey serve` has uvicorn do
    log_through_uvicorn()

    captured = capsys.readouterr()
    assert_masked(captured.out + captured.err)
    if fmt == "json":
        assert one_object(captured.err)["exc"] == "LookupError: no route to (20*) ***-*184"
    else:
        assert captured.err.startswith("ERROR:    Exception in ASGI application")


def test_configure_logging_switches_uvicorns_lines_back_to_text(
    logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    formats: list[LogFormat] = ["json", "json", "text"]
    for fmt in formats:
        configure_logging("INFO", fmt)
    logging.getLogger("uvicorn.error").info("Application startup complete.")

    assert capsys.readouterr().err == "INFO:     Application startup complete.\n"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_third_party_records_go_through_the_masking(
    fmt: LogFormat, logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    try:
        raise ConnectionError(f"cannot reach {NATIONAL[1]}")
    except ConnectionError:
        logging.getLogger("third.party").warning("dialling %s", NATIONAL[0], exc_info=True)
    logging.getLogger("third.party").info("below the root's level: %s", NATIONAL[2])

    err = capsys.readouterr().err
    assert "below the root's level" not in err
    assert "33* *** *567" in err and "(20*) ***-*184" in err
    for number in NATIONAL:
        assert number not in err
    if fmt == "json":
        assert one_object(err)["logger"] == "third.party"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_stack_is_masked(
    fmt: LogFormat, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    logger.addHandler(make_handler(fmt))
    # The stack shows this line's source, and with it the number written in it.
    logger.warning("calling 3331234567", stack_info=True)

    err = capsys.readouterr().err
    assert "3331234567" not in err
    assert err.count("33*****567") == 2  # the message, and the source line in the stack
    if fmt == "json":
        assert "33*****567" in one_object(err)["stack"]


def test_a_handler_someone_else_installed_is_masked(
    logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = logging.StreamHandler(io.StringIO())
    logging.getLogger("third.party").addHandler(theirs)
    configure_logging()
    try:
        raise ValueError(f"bad number {NATIONAL[0]}")
    except ValueError:
        logging.getLogger("third.party").error("lookup failed", exc_info=True)

    assert isinstance(theirs.stream, io.StringIO)
    written = theirs.stream.getvalue()
    assert "33* *** *567" in written and NATIONAL[0] not in written
    assert "33* *** *567" in capsys.readouterr().err  # then the root's handler, ours
