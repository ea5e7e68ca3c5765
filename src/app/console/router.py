"""The operator console at /console: thin routes over the services the API uses.

Every page but sign-in goes through `guard` (the API's access rule, carried by a cookie); every
POST checks the CSRF token first, then acts, then redirects (so a reload never repeats it) or,
for an upload whose report is the answer, renders it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app.campaigns import service as campaigns
from app.campaigns.errors import CampaignError, NotFound
from app.campaigns.router import DOCUMENT_MAX_BYTES, IMPORT_MAX_BYTES
from app.checks.gates import CheckContext
from app.checks.service import run_checks
from app.console import access
from app.console.documents import DocumentRefused, FieldError, read_document
from app.console.rendering import is_htmx, page
from app.console.views import campaign_rows, live_view
from app.reports.export import response_layout
from app.reports.router import responses_csv
from app.suppression import service as suppression
from app.web.deps import SessionDep, SettingsDep
from app.web.params import CampaignId

PAGE_SIZE = 50
UPLOAD_CHUNK = 256 << 10
# Bodies of the console's forms: a document, an upload of contacts, a number.
FORM_LIMITS = {
    "/console/campaigns/new": DOCUMENT_MAX_BYTES * 2 + (64 << 10),
    "/console/campaigns/{campaign_id}/contacts": IMPORT_MAX_BYTES + (64 << 10),
}
NOTICES = {
    "started": "Campaign started: calls begin at the next tick of the scheduler.",
    "paused": "Campaign paused: no new calls; calls in progress finish.",
    "resumed": "Campaign resumed.",
    "cancelled": "Campaign cancelled: no further calls are placed.",
    "listed": "The number is on the do-not-call list.",
    "unlisted": "The number was taken off the do-not-call list.",
}
PAST = {"start": "started", "pause": "paused", "resume": "resumed", "cancel": "cancelled"}


def guard(request: Request, settings: SettingsDep) -> None:
    access.check_access(request, settings)


public = APIRouter(prefix="/console", include_in_schema=False)
router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(guard)])


def _text(value: object) -> str:
    """A form field as text: an upload where text was expected counts as empty."""
    return value if isinstance(value, str) else ""


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@contextlib.asynccontextmanager
async def checked_form(request: Request, **limits: int) -> AsyncIterator[FormData]:
    """The form, once its CSRF token matches the browser's cookie; its uploads are closed
    (their temporary files deleted) when the block ends."""
    async with request.form(max_files=1, max_fields=20, **limits) as form:
        token = form.get(access.CSRF_FIELD)
        access.check_csrf(request, token if isinstance(token, str) else None)
        yield form


# Sign-in -----------------------------------------------------------------------------------


@public.get("/sign-in")
async def sign_in_page(request: Request, settings: SettingsDep) -> Response:
    if settings.admin_api_token is None:
        return see_other("/console")
    return page(request, "sign_in.html", {"error": None})


@public.post("/sign-in")
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    token = settings.admin_api_token
    if token is None:
        return see_other("/console")
    async with checked_form(request) as form:
        given = form.get("token")
        if not isinstance(given, str) or not access.token_matches(given, token):
            return page(
                request, "sign_in.html", {"error": "That is not the admin token."}, status_code=401
            )
        response = see_other("/console")
        access.sign_in(request, response, token)
        return response


@public.post("/sign-out")
async def sign_out(request: Request) -> Response:
    async with checked_form(request):
        response = see_other("/console/sign-in")
        access.sign_out(response)
        return response


# Campaigns ---------------------------------------------------------------------------------


@router.get("")
async def campaign_list(
    request: Request,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    rows = await campaign_rows(session, PAGE_SIZE + 1, offset)
    return page(
        request,
        "campaigns.html",
        {
            "rows": rows[:PAGE_SIZE],
            "offset": offset,
            "next_offset": offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
            "page_size": PAGE_SIZE,
        },
    )


@router.get("/campaigns/new")
async def new_campaign_page(request: Request) -> Response:
    return page(request, "new_campaign.html", {"document": "", "errors": []})


@router.post("/campaigns/new")
async def new_campaign(request: Request, session: SessionDep) -> Response:
    async with checked_form(request, max_part_size=DOCUMENT_MAX_BYTES) as form:
        raw: bytes | str = ""
        try:
            raw = await _document_text(form)
            document = read_document(raw)
            campaign = await campaigns.create_campaign(session=session, document=document)
        except DocumentRefused as exc:
            return _refused(request, raw, exc.errors)
        except UnicodeDecodeError:
            return _refused(request, "", [FieldError("document", "the file is not UTF-8 text")])
        except CampaignError as exc:
            return _refused(request, raw, [FieldError("document", exc.message)])
        return see_other(f"/console/campaigns/{campaign.id}")


async def _document_text(form: FormData) -> bytes | str:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(DOCUMENT_MAX_BYTES + 1)
        if len(data) > DOCUMENT_MAX_BYTES:
            raise DocumentRefused([FieldError("file", f"larger than {DOCUMENT_MAX_BYTES:,} bytes")])
        return data
    pasted = form.get("document")
    return pasted if isinstance(pasted, str) else ""


def _refused(request: Request, raw: bytes | str, errors: list[FieldError]) -> Response:
    shown = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return page(
        request,
        "new_campaign.html",
        {"document": shown, "errors": errors},
        status_code=422,
    )


@router.get("/campaigns/{campaign_id}")
async def campaign_page(
    campaign_id: CampaignId,
    request: Request,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=20)] = None,
    dnc_search: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    return await _campaign_page(request, session, campaign_id, notice=notice, search=dnc_search)


async def _campaign_page(
    request: Request,
    session: SessionDep,
    campaign_id: int,
    *,
    notice: str | None = None,
    search: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    try:
        live = await live_view(session, campaign_id, request.app.state.settings)
    except NotFound as exc:
        return page(request, "error.html", {"message": exc.message}, status_code=404)
    dnc, dnc_error = await _dnc_entries(session, search)
    context = {
        "live": live,
        "notice": NOTICES.get(notice or ""),
        "dnc": dnc,
        "dnc_search": search or "",
        "dnc_error": dnc_error,
        **extra,
    }
    return page(request, "campaign.html", context, status_code=status_code)


@router.get("/campaigns/{campaign_id}/live")
async def campaign_live(campaign_id: CampaignId, request: Request, session: SessionDep) -> Response:
    try:
        live = await live_view(session, campaign_id, request.app.state.settings)
    except NotFound as exc:
        return page(request, "error.html", {"message": exc.message}, status_code=404)
    # htmx stops polling on 286: a finished campaign no longer changes.
    return page(request, "_live.html", {"live": live}, status_code=286 if live.finished else 200)


@router.post("/campaigns/{campaign_id}/contacts")
async def import_contacts(
    campaign_id: CampaignId, request: Request, session: SessionDep
) -> Response:
    async with checked_form(request) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _campaign_page(
                request, session, campaign_id, status_code=422, error="Choose a CSV file to import."
            )
        kind = "application/json" if upload.filename.lower().endswith(".json") else "text/csv"
        try:
            report = await campaigns.import_contacts(
                session=session, campaign_id=campaign_id, body=_chunks(upload), media_type=kind
            )
        except CampaignError as exc:
            await session.rollback()
            return await _campaign_page(
                request, session, campaign_id, status_code=422, error=exc.message
            )
        return await _campaign_page(request, session, campaign_id, imported=report)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


@router.get("/campaigns/{campaign_id}/responses.csv")
async def download_csv(campaign_id: CampaignId, request: Request, session: SessionDep) -> Response:
    try:
        layout = await response_layout(session=session, campaign_id=campaign_id)
    except NotFound as exc:
        return page(request, "error.html", {"message": exc.message}, status_code=404)
    await session.close()  # the stream reads on a session of its own
    return responses_csv(request.app.state.sessions, campaign_id, layout)


# Do-not-call -------------------------------------------------------------------------------


async def _dnc_entries(session: SessionDep, search: str | None) -> tuple[list[Any], str | None]:
    try:
        listed = await suppression.list_entries(session=session, search=search, limit=20)
    except CampaignError as exc:
        return [], exc.message
    return list(listed.entries), None


@router.post("/campaigns/{campaign_id}/do-not-call")
async def list_number(campaign_id: CampaignId, request: Request, session: SessionDep) -> Response:
    async with checked_form(request) as form:
        number = form.get("number")
        report = await suppression.import_numbers(
            session=session,
            numbers=[_text(number)],
            source="console",
            reason="asked in the console",
        )
        if report.rejected:
            return await _campaign_page(
                request,
                session,
                campaign_id,
                status_code=422,
                dnc_add_error=f"number: {report.rejected[0].error}",
            )
        return see_other(f"/console/campaigns/{campaign_id}?notice=listed")


@router.post("/campaigns/{campaign_id}/do-not-call/remove")
async def unlist_number(campaign_id: CampaignId, request: Request, session: SessionDep) -> Response:
    async with checked_form(request) as form:
        number = form.get("number")
        try:
            await suppression.remove(
                session=session, number=number if isinstance(number, str) else ""
            )
        except CampaignError as exc:
            await session.rollback()
            return await _campaign_page(
                request, session, campaign_id, status_code=409, dnc_add_error=exc.message
            )
        return see_other(f"/console/campaigns/{campaign_id}?notice=unlisted")


# The go-live checklist ---------------------------------------------------------------------


@router.get("/checklist")
async def checklist(request: Request, settings: SettingsDep) -> Response:
    ctx = CheckContext(settings, request.app.state.engine, settings.public_base_url, None)
    report = await run_checks(ctx)
    name = "_checklist.html" if is_htmx(request) else "checklist.html"
    return page(request, name, {"report": report})


# Status changes: declared last, so the routes above are matched first -----------------


@router.post("/campaigns/{campaign_id}/{action}")
async def change_status(
    campaign_id: CampaignId, action: str, request: Request, session: SessionDep
) -> Response:
    async with checked_form(request):
        if action not in PAST:
            return page(request, "error.html", {"message": "unknown action"}, status_code=404)
        try:
            await campaigns.change_status(session=session, campaign_id=campaign_id, action=action)
        except CampaignError as exc:
            return await _campaign_page(
                request, session, campaign_id, status_code=409, error=exc.message
            )
        return see_other(f"/console/campaigns/{campaign_id}?notice={PAST[action]}")
