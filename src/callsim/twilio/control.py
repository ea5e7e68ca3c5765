"""The emulator's own control API, under `/_emulator` (not part of Twilio's).

- `POST   /_emulator/respondents`: register a respondent for its `number` (see respondent.py);
- `GET    /_emulator/respondents`, `DELETE /_emulator/respondents`: list, forget them all;
- `GET    /_emulator/calls`: every call with what happened (`?wait=S` waits up to S seconds for
  all calls to finish);
- `GET    /_emulator/calls/{sid}`: one call (`?wait=S` waits for it to finish);
- `GET|PUT /_emulator/options`: read or change delivery options (partial update);
- `POST   /_emulator/reset`: forget calls and respondents, restore the start-up options;
- `POST   /_emulator/inbound`: someone calls the number: `{"from": "+39…", "to": "+39…",
  "answers": [...]}` → 201 with the call's record (`sid`); the emulator fetches the number's
  Voice URL (option `inbound_url`) as Twilio does for an incoming call, plays the TwiML with the
  caller answering each Gather from `answers` (then hanging up), and posts `completed` to the
  number's status callback URL (option `inbound_status_url`) when set. `from` may be anything a
  caller id can be (`anonymous`, empty).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from callsim.answers import Answer
from callsim.twilio.calls import INBOUND, EmulatedCall, new_sid
from callsim.twilio.player import start_inbound
from callsim.twilio.respondent import Respondent
from callsim.twilio.state import Emulator

router = APIRouter(prefix="/_emulator")

WaitSeconds = Annotated[float, Query(ge=0, le=120)]
# The account an incoming call arrives for when the emulator accepts any.
ANY_ACCOUNT = "AC" + "0" * 32


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


@router.post("/respondents", status_code=201)
async def register_respondent(respondent: Respondent, request: Request) -> dict[str, Any]:
    emulator_of(request).respondents[respondent.number] = respondent
    return respondent.model_dump()


@router.get("/respondents")
async def list_respondents(request: Request) -> list[dict[str, Any]]:
    return [r.model_dump() for r in emulator_of(request).respondents.values()]


@router.delete("/respondents", status_code=204)
async def forget_respondents(request: Request) -> None:
    emulator_of(request).respondents.clear()


@router.get("/calls")
async def list_calls(request: Request, wait: WaitSeconds = 0.0) -> list[dict[str, Any]]:
    calls = list(emulator_of(request).calls.values())
    await _wait_for(calls, wait)
    return [call.record() for call in calls]


@router.get("/calls/{sid}")
async def read_call(sid: str, request: Request, wait: WaitSeconds = 0.0) -> dict[str, Any]:
    call = emulator_of(request).calls.get(sid)
    if call is None:
        raise HTTPException(404, f"no call {sid}")
    await _wait_for([call], wait)
    return call.record()


@router.get("/options")
async def read_options(request: Request) -> dict[str, Any]:
    return emulator_of(request).options.model_dump()


@router.put("/options")
async def change_options(changes: dict[str, Any], request: Request) -> dict[str, Any]:
    try:
        return emulator_of(request).set_options(changes).model_dump()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/reset", status_code=204)
async def reset(request: Request) -> None:
    emulator_of(request).reset()


class IncomingCall(BaseModel):
    """Someone calling the number."""

    model_config = ConfigDict(extra="forbid")

    from_: str = Field(default="", alias="from", max_length=64)  # a caller id, even a withheld one
    to: str = Field(min_length=1, max_length=64)  # the number called
    answers: list[Answer] = Field(default_factory=list)


@router.post("/inbound", status_code=201)
async def place_inbound(incoming: IncomingCall, request: Request) -> dict[str, Any]:
    emulator = emulator_of(request)
    options = emulator.options
    if not options.inbound_url:
        raise HTTPException(409, "set the number's Voice URL first (option inbound_url)")
    params = {"Url": [options.inbound_url], "Method": ["POST"]}
    if options.inbound_status_url:
        params["StatusCallback"] = [options.inbound_status_url]
    call = EmulatedCall(
        sid=new_sid(),
        account_sid=emulator.account_sid or ANY_ACCOUNT,
        to=incoming.to,
        from_=incoming.from_,
        request=params,
        # A caller id need not be a number: the respondent is built, not validated.
        respondent=Respondent.model_construct(
            number=incoming.from_, behaviour="answer", answers=incoming.answers
        ),
        direction=INBOUND,
    )
    start_inbound(emulator, call)
    return call.record()


async def _wait_for(calls: list[EmulatedCall], seconds: float) -> None:
    if seconds <= 0 or not calls:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.gather(*(call.finished.wait() for call in calls))
