"""Every operation of the OpenAPI schema, fuzzed against the real service (uvicorn, PostgreSQL):
no answer is a 5xx, and every answer is one the schema documents (status, media type, body).

Schemathesis generates valid and invalid requests from the schema itself, so an endpoint added
later is fuzzed without a line of this file changing. The number of examples per operation keeps
the whole run to a minute or two on a small machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.acceptance.processes import seeded_service
from tests.support.postgres import PgServer

pytestmark = pytest.mark.acceptance

EXAMPLES_PER_OPERATION = 100


@pytest.fixture(scope="module")
def service_url(
    pg_server: PgServer, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service on a database of its own, with a campaign for the fuzzer's ids to find."""
    with seeded_service(pg_server, pg_template, tmp_path_factory, "fuzz") as service:
        yield service.url


# Every operation of the schema: a new endpoint must be added here, and so gets fuzzed.
OPERATIONS = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "POST /api/campaigns",
    "GET /api/campaigns",
    "GET /api/campaigns/{campaign_id}",
    "POST /api/campaigns/{campaign_id}/contacts",
    "POST /api/campaigns/{campaign_id}/start",
    "POST /api/campaigns/{campaign_id}/pause",
    "POST /api/campaigns/{campaign_id}/resume",
    "POST /api/campaigns/{campaign_id}/cancel",
    "GET /api/campaigns/{campaign_id}/stats",
    "GET /api/campaigns/{campaign_id}/responses",
    "GET /api/campaigns/{campaign_id}/audit",
    "GET /api/campaigns/{campaign_id}/deliveries",
    "POST /api/surveys/try",
    "POST /api/do-not-call",
    "GET /api/do-not-call",
    "DELETE /api/do-not-call/{number}",
    "DELETE /api/contacts/by-phone/{number}",
    "POST /webhooks/telephony/events",
    "POST /webhooks/telephony/voice",
    "POST /webhooks/telephony/inbound",
]


@pytest.fixture(scope="module")
def operations(service_url: str) -> dict[str, APIOperation]:
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json")
    return {result.ok().label: result.ok() for result in schema.get_all_operations()}


def test_every_operation_of_the_schema_is_fuzzed(operations: dict[str, APIOperation]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


# Operations that take no input: there is nothing invalid to send them.
NO_INPUT = {"GET /healthz", "GET /readyz", "GET /metrics"}
CASES = [
    pytest.param(label, mode, id=f"{label} {mode}")
    for label in OPERATIONS
    for mode in GenerationMode
    if not (mode is GenerationMode.NEGATIVE and label in NO_INPUT)
]
# The schema cannot say everything a valid document needs (a known time zone, a window that
# ends after it starts), so a schema-valid request may rightly be refused: that check is left
# out. Every other answer must be one the schema documents, and never a 5xx.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    operations: dict[str, APIOperation], label: str, mode: GenerationMode
) -> None:
    @given(case=operations[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples every run: a failure here is reproducible
        database=None,
    )
    def fuzz(case: Case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()
