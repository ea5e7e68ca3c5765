"""Logging set-up and the masking of personal data in log lines."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s [pid %(process)d] %(name)s: %(message)s"


def mask_phone(number: str | None) -> str:
    """Keep the country prefix and the last three digits: enough to tell calls apart."""
    if not number:
        return "-"
    digits = number.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return f"+{digits[:2]}{'*' * (len(digits) - 5)}{digits[-3:]}"


def one_line(exc: BaseException) -> str:
    """An exception as one grep-able line: its type and the first line of its message."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def configure_logging(level: str = "INFO") -> None:
    """Send the app's log lines to stderr once per process, whoever calls first."""
    logger = logging.getLogger("app")
    logger.setLevel(level)
    if any(getattr(h, "_voicesurvey", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._voicesurvey = True  # type: ignore[attr-defined]  # marks our handler as installed
    logger.addHandler(handler)
    logger.propagate = False
