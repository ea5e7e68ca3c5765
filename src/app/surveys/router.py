"""`POST /api/surveys/try`: play a campaign document from typed replies; nobody is called."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError

from app.campaigns.errors import InvalidInput
from app.campaigns.router import DOCUMENT_MAX_BYTES
from app.campaigns.service import read_survey
from app.dialogue import CallContext
from app.surveys.schemas import TranscriptOut, TryRequest
from app.surveys.trial import InvalidTrial, check_quotas, play
from app.web.deps import require_admin
from app.web.responses import errors

# A document as large as POST /campaigns takes, and the replies and contact fields besides.
# app.main's BodyLimitMiddleware caps bodies before this route sees them: until its list names
# this route with this limit, its default (64 KiB) is the one that applies.
TRY_MAX_BYTES = DOCUMENT_MAX_BYTES + (1 << 20)

router = APIRouter(
    prefix="/api",
    tags=["surveys"],
    dependencies=[Depends(require_admin)],
    responses=errors(401, 403),
)


@router.post("/surveys/try", responses=errors(400, 413), max_body_size=TRY_MAX_BYTES)
def try_survey(request: TryRequest) -> TranscriptOut:
    """Play a campaign document through the dialogue engine from replies; the transcript.

    The document is checked as `POST /api/campaigns` checks it. The call is answered, then each
    reply is given in turn until the dialogue ends or the replies run out.
    """
    try:
        survey = read_survey(request.document)
        full = check_quotas(survey, request.full_quotas, "full_quotas")
    except InvalidInput as exc:
        # read_survey names the path from the document's root; here it sits under "document".
        path = exc.loc[1:] if exc.loc[:1] == ("body",) else exc.loc
        raise _invalid(("body", "document", *path), exc.message) from None
    except InvalidTrial as exc:
        raise _invalid(("body", *exc.loc), exc.message) from None
    context = CallContext(
        language=request.language, contact=dict(request.contact), full_quotas=full
    )
    return TranscriptOut.of(play(survey, request.heard(), context=context))


def _invalid(loc: Sequence[str | int], message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": tuple(loc), "msg": message}])
