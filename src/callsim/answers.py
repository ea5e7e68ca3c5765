"""What a respondent does when asked something: speak, press keys, stay silent or hang up."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Answer(BaseModel):
    """One step: what the respondent does at one Gather."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speech: str | None = None  # an empty string models an empty transcript
    confidence: float = Field(default=0.92, ge=0, le=1)
    digits: str | None = Field(default=None, pattern=r"^[0-9*#]+$")
    silence: bool = False
    hangup: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Answer:
        given = [self.speech is not None, self.digits is not None, self.silence, self.hangup]
        if sum(given) != 1:
            raise ValueError("give exactly one of speech, digits, silence, hangup")
        return self


HANG_UP = Answer(hangup=True)
SILENCE = Answer(silence=True)
