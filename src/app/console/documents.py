"""A campaign document pasted or uploaded in the console: read as the API reads it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.campaigns.errors import InvalidInput
from app.campaigns.schemas import CampaignDocument
from app.campaigns.service import read_survey
from app.web.bodies import load_yaml


@dataclass(frozen=True)
class FieldError:
    path: str  # dotted, from the document's top: "questions.2.max"; "document" for the whole
    message: str


class DocumentRefused(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def path_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the field path a person reads; the leading "body" is dropped."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "document"


def read_document(raw: bytes | str) -> CampaignDocument:
    """Parse JSON or YAML and validate it; raise DocumentRefused listing every field at fault."""
    text = raw.decode("utf-8", errors="strict") if isinstance(raw, bytes) else raw
    if "\x00" in text:
        raise DocumentRefused([FieldError("document", "contains a NUL character")])
    data = _parse(text)
    try:
        document = CampaignDocument.model_validate(data)
    except ValidationError as exc:
        raise DocumentRefused(
            [FieldError(path_of(e["loc"]), str(e["msg"])) for e in exc.errors()]
        ) from None
    try:
        read_survey(document)
    except InvalidInput as exc:
        raise DocumentRefused([FieldError(path_of(exc.loc), exc.message)]) from None
    return document


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise DocumentRefused([FieldError("document", f"not valid JSON: {exc}")]) from None
    try:
        data = load_yaml(text)
    except RequestValidationError as exc:
        raise DocumentRefused(
            [FieldError(path_of(e["loc"]), str(e["msg"])) for e in exc.errors()]
        ) from None
    if _has_non_finite(data):
        raise DocumentRefused([FieldError("document", "numbers must be finite")])
    # As the API does: YAML's dates and times are read as the strings JSON would carry.
    return json.loads(json.dumps(data, default=str))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _has_non_finite(data: Any) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
