"""Logging set-up (text or JSON lines) and the masking of personal data in log lines."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

FORMAT = "%(asctime)s %(levelname)s [pid %(process)d] %(name)s: %(message)s"

LogFormat = Literal["text", "json"]

# An E.164 number: "+" then 8 to 15 digits, not part of a longer run of digits.
_E164 = re.compile(r"(?<!\d)\+\d{8,15}(?!\d)")

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def mask_phone(number: str | None) -> str:
    """Keep the country prefix and the last three digits: enough to tell calls apart."""
    if not number:
        return "-"
    digits = number.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return f"+{digits[:2]}{'*' * (len(digits) - 5)}{digits[-3:]}"


def mask_numbers(text: str) -> str:
    """Mask every E.164-looking number in free text the way `mask_phone` does."""
    return _E164.sub(lambda match: mask_phone(match.group()), text)


def one_line(exc: BaseException) -> str:
    """An exception as one grep-able line: its type and the first line of its message."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class PhoneMaskFilter(logging.Filter):
    """Mask phone numbers left in a record's message or arguments (callers should mask first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        return True


def _masked(value: object) -> object:
    # Numbers stay numbers so that "%d" still formats; anything else is judged by its text.
    if value is None or isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask_numbers(text)
    return value if masked == text else masked


class TextFormatter(logging.Formatter):
    """The classic one-line format; a traceback, if any, follows on its own lines, masked too."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return mask_numbers(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, pid, message, the record's extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_FIELDS and not key.startswith("_")
        }
        entry.update(
            ts=datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            level=record.levelname,
            logger=record.name,
            pid=record.process,
            message=record.getMessage(),
        )
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = one_line(record.exc_info[1])
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        # ASCII escapes keep the object on one physical line whatever the text holds.
        return mask_numbers(json.dumps(entry, default=str, ensure_ascii=True))


def make_formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def make_handler(fmt: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler that masks phone numbers and writes `fmt` lines."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(PhoneMaskFilter())
    handler.setFormatter(make_formatter(fmt))
    return handler


def configure_logging(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Send the app's log lines to stderr through one handler per process, in `fmt`.

    Calling again changes the level and the format but never adds a second handler; the
    app's records do not propagate to the root logger, so no other handler repeats them.
    Uvicorn's own loggers are left as uvicorn configured them.
    """
    logger = logging.getLogger("app")
    logger.setLevel(level)
    for handler in logger.handlers:
        if getattr(handler, "_voicesurvey", False):
            handler.setFormatter(make_formatter(fmt))
            return
    handler = make_handler(fmt)
    handler._voicesurvey = True  # type: ignore[attr-defined]  # marks our handler as installed
    logger.addHandler(handler)
    logger.propagate = False
