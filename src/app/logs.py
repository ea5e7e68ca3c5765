"""Logging set-up (text or JSON lines) and the masking of phone numbers in every log line.

Masking is done where lines are formatted, on the final text: the message, its arguments, the
record's extras, an exception's traceback and a stack alike, whoever logged them. A phone number
is a run of digit groups, as people type them:

- the groups are joined by one space, dash, dot or "+", and a group may sit in parentheses;
  in a URL the same pieces may be percent-encoded ("%2B", "%20", "%28", "%29");
- it starts with "+" (or "%2B") anywhere but after a digit, and then needs 8 to 15 digits; or it
  starts with a digit or "(" that is not part of a word, a decimal, a date or a UUID (not after
  a letter, digit, "_", "." or "-"), and then needs 9 to 15 digits;
- it does not run on into a word ("1234567890ns", hex), nor into a time or a port ("...09:00");
- a bare run longer than 15 digits is not a number (E.164 allows 15); a run of groups longer
  than that is masked whole, so two numbers side by side never escape;
- two groups joined by one dot are a decimal number, four groups of 1-3 digits joined by dots
  an IPv4 address: neither is masked.

The first two digits and the last three are kept, as `mask_phone` does; every other digit
becomes "*", the separators stay:

    masked                              left as it is
    +393331234567  -> +39*******567     attempt=123456 pid=4242 contacts=50000000 (8 digits)
    3331234567     -> 33*****567        2025-03-04T09:00:04+00:00, 2025-03-03 09:00:00,123
    12025550184    -> 12******184       0.30000000000000004, 1718000000.123456 (decimals)
    333 123 4567   -> 33* *** *567      192.168.100.200, 127.0.0.1:8880 (addresses, ports)
    (202) 555-0184 -> (20*) ***-*184    CA0123456789abcdef0123456789abcdef (SIDs, hex)
    02-1234-5678   -> 02-****-*678      550e8400-e29b-41d4-a716-446655440000 (UUIDs)
    333.123.4567   -> 33*.***.*567      took 1234567890ns (a unit glued on)
    to=%2B393331234567 -> to=%2B39*******567   1234567890123456 (16 digits: not a number)

So any integer of nine digits or more is masked (ids and counts that large do not occur here),
a number written with a single dot ("333.1234567") reads as a decimal and is not, nor is one
split by "/" or written with fewer than nine digits.
"""

from __future__ import annotations

import copy
import json
import logging
import pkgutil
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

FORMAT = "%(asctime)s %(levelname)s [pid %(process)d] %(name)s: %(message)s"

LogFormat = Literal["text", "json"]

# The pieces of a number as typed, and as percent-encoded in a URL's query string.
_PLUS = r"(?:\+|%2[Bb])"
_OPEN = r"(?:\(|%28)"
_CLOSE = r"(?:\)|%29)"
_JOIN = rf"{_CLOSE}?(?:[ .+\-]|%20)?{_OPEN}?"
_NUMBER = re.compile(
    rf"""
    (?: (?<!\d)(?P<plus>{_PLUS})     # international: "+" anywhere but after a digit
      | (?<![\w.\-])                 # national: not inside a word, a decimal, a date, a UUID
    )
    (?>{_OPEN}?\d+(?:{_JOIN}\d+)*)   # atomic: the whole run, never a shorter part of it
    (?!\w|[.\-]\w|:\d)               # not running on into a word, a UUID, a time, a port
    """,
    re.VERBOSE,
)
_ESCAPE_OR_DIGIT = re.compile(r"%[0-9A-Fa-f]{2}|\d")
_DECIMAL = re.compile(r"\d+\.\d+")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
MAX_DIGITS = 15  # E.164

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
# Uvicorn adds the message again with ANSI colours: noise in a JSON object.
_NOT_EXTRAS = _RECORD_FIELDS | {"color_message"}
# The top-level loggers of the server running the app: theirs are the service's own lines.
_SERVER_LOGGERS = frozenset({"uvicorn", "gunicorn"})


def mask_phone(number: str | None) -> str:
    """Keep the country prefix and the last three digits: enough to tell calls apart."""
    if not number:
        return "-"
    digits = number.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return f"+{digits[:2]}{'*' * (len(digits) - 5)}{digits[-3:]}"


def mask_numbers(text: str) -> str:
    """Mask every phone number in free text, E.164 or national (see the module's rule)."""
    return _NUMBER.sub(_masked_match, text)


def _masked_match(match: re.Match[str]) -> str:
    span = match.group()
    digits = sum(1 for token in _ESCAPE_OR_DIGIT.findall(span) if len(token) == 1)
    international = match.group("plus") is not None
    body = span[len(match.group("plus") or "") :]
    if digits < (8 if international else 9):
        return span
    if digits > MAX_DIGITS and body.isdigit():
        return span
    if not international and (_DECIMAL.fullmatch(span) or _IPV4.fullmatch(span)):
        return span
    return _star_digits(span, digits)


def _star_digits(span: str, digits: int) -> str:
    """Replace all but the first two and the last three digits with "*"; escapes stay."""
    position = 0

    def star(token: re.Match[str]) -> str:
        nonlocal position
        if len(token.group()) > 1:  # a percent-escape: its digits are not the number's
            return token.group()
        position += 1
        return token.group() if position <= 2 or position > digits - 3 else "*"

    return _ESCAPE_OR_DIGIT.sub(star, span)


def one_line(exc: BaseException) -> str:
    """An exception as one grep-able line: its type and the first line of its message."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class PhoneMaskFilter(logging.Filter):
    """Mask phone numbers left in a record's message or arguments, for handlers after ours."""

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


def _masked_json(value: object) -> object:
    """A value for a JSON line, every number in its text masked; the rest as json can write it."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        masked = mask_numbers(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, Mapping):
        return {str(_masked_json(key)): _masked_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked_json(item) for item in value]
    return mask_numbers(value if isinstance(value, str) else str(value))


def _mask_cached_traceback(record: logging.LogRecord) -> None:
    # Formatter.format caches the traceback text on the record for the next handler to reuse.
    if record.exc_text:
        record.exc_text = mask_numbers(record.exc_text)


class TextFormatter(logging.Formatter):
    """The classic one-line format; a traceback, if any, follows on its own lines, masked too."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = mask_numbers(super().format(record))
        _mask_cached_traceback(record)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, pid, message, the record's extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: value
            for key, value in vars(record).items()
            if key not in _NOT_EXTRAS and not key.startswith("_")
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
        # Masked field by field: in the encoded text "\n" would glue to the digits after it.
        # ASCII escapes keep the object on one physical line whatever the text holds.
        return json.dumps(_masked_json(entry), default=str, ensure_ascii=True)


class MaskedFormatter(logging.Formatter):
    """Someone else's formatter (uvicorn's), its output masked; or JSON lines instead."""

    def __init__(self, original: logging.Formatter | None, *, json_lines: bool = False) -> None:
        super().__init__()
        self.original = original if original is not None else logging.Formatter()
        self.json_lines = json_lines
        self._json = JsonFormatter()

    def format(self, record: logging.LogRecord) -> str:
        if self.json_lines:
            return self._json.format(record)
        text = mask_numbers(self.original.format(record))
        _mask_cached_traceback(record)
        return text


def masked_formatter(*, inner: str, json_lines: bool = False, **options: Any) -> MaskedFormatter:
    """For logging.config: the formatter class named `inner`, built with `options`, masked."""
    factory = pkgutil.resolve_name(inner)
    return MaskedFormatter(factory(**options), json_lines=json_lines)


def server_log_config(fmt: LogFormat) -> dict[str, Any]:
    """Uvicorn's own logging config, its formatters masked (and JSON lines when `fmt` is json).

    For `uvicorn.run(log_config=...)`: masked from the server's first line, in every worker.
    """
    from uvicorn.config import LOGGING_CONFIG  # only the server needs uvicorn

    config = copy.deepcopy(LOGGING_CONFIG)
    for spec in config["formatters"].values():
        spec["inner"] = spec.pop("()")
        spec["()"] = f"{__name__}.masked_formatter"  # a name: workers unpickle the config
        spec["json_lines"] = fmt == "json"
    return config


def make_formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to sys.stderr as it is when the record comes, as logging's last resort does.

    So a handler installed once keeps writing where the process's stderr is now, even where
    sys.stderr is swapped (a CLI runner, a test capturing output) and the old stream closed.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass  # always the current stderr: a stream handed in is not kept


def make_handler(fmt: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) that masks phone numbers and writes `fmt` lines."""
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.addFilter(PhoneMaskFilter())
    handler.setFormatter(make_formatter(fmt))
    return handler


def configure_logging(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Send log lines to stderr in `fmt`, phone numbers masked in every handler's output.

    The app's logger gets one handler of ours at `level` and does not propagate, so no other
    handler repeats its lines; the root logger gets one too, for third-party libraries, its
    level left as it is. Calling again changes the level and the format, never adds a second
    handler. Handlers installed by others (uvicorn's, before the app is even imported) keep
    their layout but have their output masked; the server's write JSON too when `fmt` is json.
    A handler added after this call is not covered: call again.
    """
    app_logger = logging.getLogger("app")
    app_logger.setLevel(level)
    app_logger.propagate = False
    for logger in (app_logger, logging.getLogger()):
        _install_handler(logger, fmt)
    for logger in _all_loggers():
        json_lines = fmt == "json" and logger.name.split(".")[0] in _SERVER_LOGGERS
        for handler in logger.handlers:
            _mask_handler(handler, json_lines=json_lines)


def _install_handler(logger: logging.Logger, fmt: LogFormat) -> None:
    for handler in logger.handlers:
        if getattr(handler, "_voicesurvey", False):
            handler.setFormatter(make_formatter(fmt))
            return
    handler = make_handler(fmt)
    handler._voicesurvey = True  # type: ignore[attr-defined]  # marks our handler as installed
    logger.addHandler(handler)


def _all_loggers() -> Iterator[logging.Logger]:
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):  # not a PlaceHolder for a logger's children
            yield logger


def _mask_handler(handler: logging.Handler, *, json_lines: bool) -> None:
    current = handler.formatter
    if isinstance(current, TextFormatter | JsonFormatter):
        return  # ours: it masks already
    original = current.original if isinstance(current, MaskedFormatter) else current
    handler.setFormatter(MaskedFormatter(original, json_lines=json_lines))
