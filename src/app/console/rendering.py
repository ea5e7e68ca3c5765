"""Pages: Jinja2 templates shipped in the package, rendered with the CSRF token and safe headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.console.access import CSRF_COOKIE, CSRF_FIELD, csrf_for, set_cookie

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

# Everything the pages use comes from this service; nothing runs inline, no frame may hold them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def moment(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


templates.env.filters["percent"] = percent
templates.env.filters["number"] = number
templates.env.filters["moment"] = moment
templates.env.globals["csrf_field"] = CSRF_FIELD
templates.env.globals["question_types"] = {
    "yes_no": "yes/no",
    "scale": "scale",
    "choice": "choice",
    "number": "number",
    "free_text": "free text",
}


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template; the browser gets its CSRF cookie with the first page it sees."""
    csrf = csrf_for(request)
    values = {
        "csrf_token": csrf.token,
        "signed_in": request.app.state.settings.admin_api_token is not None,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if csrf.fresh:
        set_cookie(request, response, CSRF_COOKIE, csrf.token, max_age=24 * 3600)
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
