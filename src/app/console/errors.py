"""How the console answers a visitor it does not let in, or a form it does not trust."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.console.access import CsrfRefused, NotAllowed, SignInRequired
from app.console.rendering import is_htmx, page

SIGN_IN = "/console/sign-in"


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    if is_htmx(request):
        # A poll from a page whose session ran out: htmx sends the whole page to sign in.
        return Response(status_code=401, headers={"HX-Redirect": SIGN_IN})
    return RedirectResponse(SIGN_IN, status_code=303)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    message = (
        "The console answers only this machine while ADMIN_API_TOKEN is unset. Set the token "
        "to sign in from elsewhere or through a proxy."
    )
    return page(request, "error.html", {"message": message}, status_code=403)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    message = (
        "This form has expired or was sent from another site, so nothing was done. "
        "Reload the page and try again."
    )
    return page(request, "error.html", {"message": message}, status_code=403)


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(NotAllowed, _not_allowed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
