"""What the campaign services refuse, in words an operator can act on."""

from __future__ import annotations

from collections.abc import Sequence


class CampaignError(Exception):
    """Base of the errors the campaign services raise; the edges map each to a status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CampaignError):
    """The campaign (or another named thing) does not exist."""


class Conflict(CampaignError):
    """The request is valid but the campaign's current state does not allow it."""


class InvalidInput(CampaignError):
    """The input is malformed; `loc` names the offending field, as pydantic would."""

    def __init__(self, message: str, loc: Sequence[str | int] = ()) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
