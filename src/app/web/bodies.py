"""Request bodies: YAML is accepted wherever JSON is, by handing FastAPI the JSON equivalent."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

import yaml
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.types import Message

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
# YAML is parsed whole, into objects many times its size: a body of several megabytes is
# refused whatever larger limit its route has (a big contact list goes as CSV, streamed).
YAML_MAX_BYTES = 4 << 20


async def _capped_body(request: Request, cap: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(
                413, f"request body too large: at most {cap} bytes of YAML are accepted here"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases.

    Aliases let a few hundred bytes expand into gigabytes once re-serialised as JSON
    ("billion laughs"); a campaign document never needs them.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            # types-pyyaml leaves peek_event unannotated.
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", mark)
        return super().compose_node(parent, index)


def load_yaml(raw: bytes | str) -> Any:
    """Parse a YAML document, or raise RequestValidationError saying where it is broken."""
    try:
        data = yaml.load(raw, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise _invalid(("body",), f"body is not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise _invalid(("body",), "body is not valid YAML: nested too deeply") from None
    _json_keys(data)
    return data


def _json_keys(data: Any) -> None:
    """Raise RequestValidationError at the first mapping key JSON cannot carry (a date, a list)."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [(("body",), data)]
    while pending:  # a stack, not recursion: any depth PyYAML accepted is checked
        path, item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise _invalid(path, f"keys must be text; {key!r} is a {type(key).__name__}")
                pending.append(((*path, str(key)), value))
        elif isinstance(item, list):
            pending.extend(((*path, index), value) for index, value in enumerate(item))


def _invalid(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "yaml_invalid", "loc": loc, "msg": msg}])


async def yaml_as_json(request: Request) -> Request:
    """Return `request` unchanged, or, for a YAML body, a copy carrying the same data as JSON."""
    if media_type(request) not in YAML_TYPES:
        return request
    data = load_yaml(await _capped_body(request, YAML_MAX_BYTES))
    # YAML has dates and times where JSON has strings.
    payload = json.dumps(data, default=str).encode()
    headers = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")
    ]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)


async def rechunk(body: AsyncIterable[bytes], size: int) -> AsyncGenerator[bytes, None]:
    """The body again, in pieces of at least `size` bytes (the last may be shorter): a reader
    fed a few large pieces works in bulk, whatever the sizes the network delivered."""
    buffer = bytearray()
    async for chunk in body:
        buffer += chunk
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
