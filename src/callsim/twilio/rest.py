"""The slice of Twilio's REST API the `twilio` library uses for calls.

- `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`: create (form params as the library sends
  them, repeated names kept), 201 with the Call resource, or Twilio's JSON error (21211 ...);
- `GET  .../Calls/{Sid}.json`: fetch (or the respondent's `fetch_fault`);
- `POST .../Calls/{Sid}.json`: update `Status=completed|canceled` (hang up / cancel).

Requests authenticate with HTTP basic auth: account SID and auth token (20003 otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from callsim.twilio.calls import API_VERSION, EmulatedCall, new_sid
from callsim.twilio.player import start_call
from callsim.twilio.state import Emulator

router = APIRouter(prefix=f"/{API_VERSION}/Accounts/{{account_sid}}")

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# A stalled fetch answers this late: past any sensible client timeout, short enough to let the
# emulator shut down soon after a test.
STALL_SECONDS = 5.0

MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {uri} was not found",
    20500: "An internal server error has occurred",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21211: "The 'To' number {to} is not a valid phone number.",
    21213: "No 'From' number is specified",
    21214: "'To' phone number cannot be reached",
    21215: "Geo Permission configuration is not permitting call",
    21217: "Phone number does not appear to be valid",
    21220: "Call is not in-progress. Cannot redirect.",
    13223: "Dial: Invalid phone number format",
    13224: "Dial: Twilio does not support calling this number or the number is invalid",
}


def twilio_error(status: int, code: int, **fields: str) -> JSONResponse:
    """An error body in the shape the library turns into TwilioRestException."""
    message = MESSAGES.get(code, "Error").format(**fields)
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def authenticated(request: Request, account_sid: str) -> bool:
    emulator = emulator_of(request)
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if emulator.account_sid is not None and user != emulator.account_sid:
        return False
    return user == account_sid and hmac.compare_digest(password, emulator.auth_token)


async def form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    params: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        params.setdefault(name, []).append(str(value))
    return params


@router.post("/Calls.json")
async def create_call(account_sid: str, request: Request) -> JSONResponse:
    if not authenticated(request, account_sid):
        return twilio_error(401, 20003)
    emulator = emulator_of(request)
    params = await form_lists(request)
    refused = _refusal(emulator, params)
    if refused is not None:
        return refused
    to, from_ = params["To"][-1], params["From"][-1]
    call = EmulatedCall(
        sid=new_sid(),
        account_sid=account_sid,
        to=to,
        from_=from_,
        request=params,
        respondent=emulator.respondent_for(to),
    )
    start_call(emulator, call)
    return JSONResponse(call.resource(), status_code=201)


def _refusal(emulator: Emulator, params: dict[str, list[str]]) -> JSONResponse | None:
    to = (params.get("To") or [""])[-1]
    if not to:
        return twilio_error(400, 21201)
    if not (params.get("From") or [""])[-1]:
        return twilio_error(400, 21213)
    if not (params.get("Url") or [""])[-1]:
        return twilio_error(400, 21205)
    if not E164.match(to):
        return twilio_error(400, 21211, to=to)
    respondent = emulator.respondents.get(to)
    if respondent is not None and respondent.behaviour == "invalid":
        return twilio_error(400, respondent.error_code or 21211, to=to)
    return None


@router.get("/Calls/{sid}.json")
async def fetch_call(account_sid: str, sid: str, request: Request) -> Response:
    if not authenticated(request, account_sid):
        return twilio_error(401, 20003)
    call = emulator_of(request).calls.get(sid)
    if call is None:
        return twilio_error(404, 20404, uri=request.url.path)
    call.fetches += 1
    fault = call.respondent.fetch_fault
    if fault == "error":
        return twilio_error(500, 20500)
    if fault == "timeout":
        await asyncio.sleep(STALL_SECONDS)
    if fault == "garbage":
        return Response("<html>502 Bad Gateway</html>", status_code=200, media_type="text/html")
    return JSONResponse(call.resource())


@router.post("/Calls/{sid}.json")
async def update_call(account_sid: str, sid: str, request: Request) -> JSONResponse:
    if not authenticated(request, account_sid):
        return twilio_error(401, 20003)
    call = emulator_of(request).calls.get(sid)
    if call is None:
        return twilio_error(404, 20404, uri=request.url.path)
    params = await form_lists(request)
    status = (params.get("Status") or [""])[-1]
    if status not in ("completed", "canceled"):
        return _unsupported(params)
    if call.is_final:
        return twilio_error(400, 21220)
    call.hang_up(status)
    return JSONResponse(call.resource())


def _unsupported(params: dict[str, Any]) -> JSONResponse:
    body = {
        "code": 20001,
        "message": f"the emulator only updates Status=completed|canceled, got {sorted(params)}",
        "more_info": "https://www.twilio.com/docs/errors/20001",
        "status": 400,
    }
    return JSONResponse(body, status_code=400)
