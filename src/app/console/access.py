"""Who may use the console: the same rule as the API, carried by a cookie instead of a header.

With ADMIN_API_TOKEN set, the sign-in page takes the token and answers with a session cookie:
`<issued>.<signature>`, signed with a key derived from the token (so changing the token signs
everyone out), HttpOnly and SameSite=Strict. Without a token the console, like the API, answers
requests straight from this machine only (see app.web.peers).

Every form carries a CSRF token that must equal the `voicesurvey_csrf` cookie (double submit):
another site can make the browser send a form, but can neither read nor set our cookie, and a
SameSite=Strict cookie is not even sent with its requests. It works the same with and without an
admin token, and needs no secret shared between workers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic import SecretStr

from app.config import Settings
from app.web.peers import is_local

SESSION_COOKIE = "voicesurvey_console"
CSRF_COOKIE = "voicesurvey_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
COOKIE_PATH = "/console"


class SignInRequired(Exception):
    """The request carries no valid session: the browser goes to the sign-in page."""


class NotAllowed(Exception):
    """No token is set and the request is not from this machine."""


class CsrfRefused(Exception):
    """A form without the CSRF token of the browser's cookie."""


def _key(token: SecretStr) -> bytes:
    return hashlib.sha256(
        b"voicesurvey-console-session\0" + token.get_secret_value().encode()
    ).digest()


def _signature(token: SecretStr, issued: int) -> str:
    return hmac.new(_key(token), str(issued).encode(), hashlib.sha256).hexdigest()


def new_session(token: SecretStr, now: float) -> str:
    issued = int(now)
    return f"{issued}.{_signature(token, issued)}"


def valid_session(value: str | None, token: SecretStr, now: float) -> bool:
    """A cookie this service signed with the current token, less than SESSION_SECONDS old."""
    issued_text, _, signature = (value or "").partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    fresh = 0 <= now - issued < SESSION_SECONDS
    return hmac.compare_digest(signature, _signature(token, issued)) and fresh


def token_matches(given: str, token: SecretStr) -> bool:
    return hmac.compare_digest(given.encode(), token.get_secret_value().encode())


def check_access(request: Request, settings: Settings) -> None:
    """Raise SignInRequired or NotAllowed unless the request may see the console."""
    token = settings.admin_api_token
    if token is None:
        if not is_local(request):
            raise NotAllowed
        return
    if not valid_session(request.cookies.get(SESSION_COOKIE), token, time.time()):
        raise SignInRequired


@dataclass(frozen=True)
class Csrf:
    token: str
    fresh: bool  # the browser has no cookie yet: the response must set it


def csrf_for(request: Request) -> Csrf:
    current = request.cookies.get(CSRF_COOKIE)
    if current and len(current) == 43:
        return Csrf(current, fresh=False)
    return Csrf(secrets.token_urlsafe(32), fresh=True)


def check_csrf(request: Request, given: str | None) -> None:
    """Refuse a state-changing request whose token does not match the cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    given = given or request.headers.get(CSRF_HEADER)
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused
    # Browsers say where a request comes from; a cross-site form is refused even if it somehow
    # carried the token.
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise CsrfRefused


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def sign_in(request: Request, response: Response, token: SecretStr) -> None:
    set_cookie(request, response, SESSION_COOKIE, new_session(token, time.time()), SESSION_SECONDS)


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
