"""Who is on the other end of a request: the socket peer, never what headers claim.

Behind a reverse proxy every request comes from the proxy's address, and the client's own
address travels in headers that anyone can write (`X-Forwarded-For: 127.0.0.1, …`). uvicorn
rewrites `request.client` from those headers for trusted proxies (`--forwarded-allow-ips`), so a
request carrying any of them is never taken for a local one: only a request with none of them,
from a loopback socket, is.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

FORWARDING_HEADERS = (
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
)


def is_loopback_address(host: str | None) -> bool:
    """Whether `host` is a loopback IP address (a name, even `localhost`, is not trusted)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_forwarded(request: HTTPConnection) -> bool:
    """Whether the request says it was relayed for someone else."""
    return any(name in request.headers for name in FORWARDING_HEADERS)


def is_local(request: HTTPConnection) -> bool:
    """A request straight from this machine: a loopback socket peer and no forwarding headers."""
    peer = request.client.host if request.client else None
    return is_loopback_address(peer) and not is_forwarded(request)
