"""Request bodies: YAML is accepted wherever JSON is, by handing FastAPI the JSON equivalent."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.types import Message

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


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
        return yaml.load(raw, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise RequestValidationError(
            [
                {
                    "type": "yaml_invalid",
                    "loc": ("body",),
                    "msg": f"body is not valid YAML: {problem}",
                }
            ]
        ) from None


async def yaml_as_json(request: Request) -> Request:
    """Return `request` unchanged, or, for a YAML body, a copy carrying the same data as JSON."""
    if media_type(request) not in YAML_TYPES:
        return request
    data = load_yaml(await request.body())
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
