"""What goes wrong reading a survey."""

from __future__ import annotations


class InvalidSurvey(ValueError):
    """The campaign document cannot drive a dialogue; the message starts with the field's path."""

    @property
    def path(self) -> tuple[str | int, ...]:
        """The path of the field at fault, read from the message ("questions.1.text: …")."""
        where = str(self).split(": ", 1)[0]
        return tuple(int(part) if part.isdigit() else part for part in where.split("."))
