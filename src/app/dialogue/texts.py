"""Texts in several languages, and what is piped into them.

A text of the document is a string (the same in every language) or a map language → string
that covers every language of the survey. It may carry placeholders, rendered when spoken:

    {contact.name}            a field of the contact: name, external_id or any imported column
    {contact.city|la sua città}   … with what to say when the contact has no such field
    {answer.brand|}           an earlier answer, said in the call's language

Anything else between braces is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.dialogue.errors import InvalidSurvey

PLACEHOLDER = re.compile(r"\{(contact|answer)\.([A-Za-z0-9_.-]+)(?:\|([^{}]*))?\}")


@dataclass(frozen=True)
class Text:
    """One text in each language (pairs: frozen, and in the document's order)."""

    values: tuple[tuple[str, str], ...]

    def get(self, language: str) -> str:
        for tag, text in self.values:
            if tag == language:
                return text
        return self.values[0][1]  # every language is covered: only reached for another one

    def all(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.values)


def parse_text(raw: object, where: str, languages: Sequence[str]) -> Text:
    """Read a text of the document; raise InvalidSurvey naming a missing language."""
    if isinstance(raw, str):
        if not raw.strip():
            raise InvalidSurvey(f"{where}: must not be empty")
        return Text(tuple((language, raw.strip()) for language in languages))
    if not isinstance(raw, Mapping):
        raise InvalidSurvey(f"{where}: a text, or a map of language to text")
    for tag in raw:
        if tag not in languages:
            raise InvalidSurvey(f"{where}.{tag}: not one of the survey's languages")
    values = []
    for language in languages:
        text = raw.get(language)
        if not isinstance(text, str) or not text.strip():
            raise InvalidSurvey(f"{where}.{language}: required (a text in every language)")
        values.append((language, text.strip()))
    return Text(tuple(values))


def check_placeholders(text: Text, where: str, *, answers: frozenset[str]) -> None:
    """Raise InvalidSurvey when `text` pipes an answer that is not known at that point."""
    for said in text.all():
        for match in PLACEHOLDER.finditer(said):
            if match.group(1) == "answer" and match.group(2) not in answers:
                raise InvalidSurvey(
                    f"{where}: {{answer.{match.group(2)}}} names no earlier question"
                )


def render(text: str, *, contact: Mapping[str, str], answer: Callable[[str], str | None]) -> str:
    """The text with its placeholders filled: the value, else the default, else nothing."""

    def fill(match: re.Match[str]) -> str:
        kind, name, default = match.group(1), match.group(2), match.group(3) or ""
        value = contact.get(name) if kind == "contact" else answer(name)
        return value if value not in (None, "") else default

    return PLACEHOLDER.sub(fill, text)


def render_markers(text: str) -> str:
    """The text for a reader with no respondent: each placeholder as [contact.name], [answer.ID].

    Unlike `render`, a default is never shown: it is what only respondents without the value
    heard, and showing it would hide that the wording varied from one respondent to another.
    """
    return PLACEHOLDER.sub(lambda match: f"[{match.group(1)}.{match.group(2)}]", text)
