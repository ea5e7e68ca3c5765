"""Every console route fuzzed against the real service: odd ids, queries, form fields and
uploads, with and without a valid CSRF token. No answer is a 5xx and the log stays clean.

The console is not in the OpenAPI schema (it answers HTML), so the schema-driven fuzz of
test_api_fuzz.py does not reach it: this one generates its requests with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.acceptance.processes import seeded_service
from tests.support.postgres import PgServer

pytestmark = pytest.mark.acceptance

EXAMPLES_PER_ROUTE = 60

GET_ROUTES = [
    "/console",
    "/console/campaigns/new",
    "/console/campaigns/{id}",
    "/console/campaigns/{id}/live",
    "/console/campaigns/{id}/responses.csv",
    "/console/sign-in",
]
POST_ROUTES = [
    "/console/sign-in",
    "/console/sign-out",
    "/console/campaigns/new",
    "/console/campaigns/{id}/start",
    "/console/campaigns/{id}/pause",
    "/console/campaigns/{id}/resume",
    "/console/campaigns/{id}/cancel",
    "/console/campaigns/{id}/{action}",
    "/console/campaigns/{id}/contacts",
    "/console/campaigns/{id}/do-not-call",
    "/console/campaigns/{id}/do-not-call/remove",
]
FIELDS = ["document", "number", "token", "file", "offset", "dnc_search", "notice", "x"]


@pytest.fixture(scope="module")
def console(
    pg_server: PgServer, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    with (
        seeded_service(pg_server, pg_template, tmp_path_factory, "console-fuzz") as service,
        httpx.Client(base_url=service.url, timeout=30) as client,
    ):
        client.get("/console")  # the CSRF cookie
        yield client


# The same examples every run: a failure here is reproducible.
FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
segments = st.one_of(
    st.sampled_from(["1", "0", "-1", "999999", str(2**63), str(2**70), "1e3", "\x00", "abc"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=30),
)
values = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["+390212345678", "name: x", '{"name": NaN}', "\x00", "[[[[[[[[", "9" * 40]),
)
form = st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)
uploads = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["c.csv", "c.json", "c.yaml", "", "x"]),
        st.binary(max_size=300),
    ),
)


def _path(template: str, campaign: str, action: str) -> str:
    # Percent-encoded as a browser would: a NUL or a slash reaches the service as %00, %2F.
    return template.replace("{id}", quote(campaign, safe="")).replace(
        "{action}", quote(action, safe="")
    )


@pytest.mark.parametrize("route", GET_ROUTES)
def test_no_get_gets_a_5xx(console: httpx.Client, route: str) -> None:
    @given(campaign=segments, query=form)
    @FUZZ
    def fuzz(campaign: str, query: dict[str, str]) -> None:
        answer = console.get(_path(route, campaign, ""), params=query)
        assert answer.status_code < 500, (route, campaign, query, answer.text[:500])

    fuzz()


@pytest.mark.parametrize("route", POST_ROUTES)
def test_no_form_gets_a_5xx(console: httpx.Client, route: str) -> None:
    csrf = console.cookies.get("voicesurvey_csrf")
    assert csrf

    @given(
        campaign=segments,
        action=segments,
        fields=form,
        upload=uploads,
        with_token=st.booleans(),
    )
    @FUZZ
    def fuzz(
        campaign: str,
        action: str,
        fields: dict[str, str],
        upload: tuple[str, bytes] | None,
        with_token: bool,
    ) -> None:
        data: dict[str, Any] = dict(fields)
        if with_token:
            data["csrf_token"] = csrf
        files = None if upload is None else {"file": (upload[0], upload[1], "text/csv")}
        answer = console.post(_path(route, campaign, action), data=data, files=files)
        assert answer.status_code < 500, (route, campaign, fields, answer.text[:500])

    fuzz()
