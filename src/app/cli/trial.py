"""`voicesurvey try FILE`: talk to the survey in the terminal before it calls anyone.

Interactive at a terminal; with `--replies FILE`, or replies piped on stdin, it plays them and
prints the transcript, so a document can be checked by a script.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from app.campaigns.errors import InvalidInput
from app.campaigns.service import read_survey
from app.cli.campaigns import read_document
from app.cli.common import err, fail, out
from app.dialogue import CallContext, Digits, Speech, Survey
from app.surveys.trial import (
    Branch,
    Heard,
    InvalidTrial,
    Transcript,
    Trial,
    Turn,
    check_quotas,
    read_reply,
)

AGENT, LISTEN, REPLY, BRANCH = "cyan", "dim", "bold", "yellow"
SIGNS = {
    Branch.ANSWERED: "✓",
    Branch.SKIPPED: "↓",
    Branch.NOT_APPLICABLE: "↷",
    Branch.CONFIRMING: "?",
    Branch.ASKED_AGAIN: "↺",
    Branch.SCREENED_OUT: "✗",
}


def try_(
    file: Annotated[Path, typer.Argument(help="Campaign document, YAML or JSON.")],
    language: Annotated[
        str | None,
        typer.Option(help="The contact's language (e.g. en-US); unset, the survey's default."),
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option(help="A contact field piped as {contact.KEY}: KEY=VALUE; repeatable."),
    ] = None,
    full_quota: Annotated[
        list[str] | None,
        typer.Option(help="Treat this quota as full (its respondents are screened out)."),
    ] = None,
    replies: Annotated[
        Path | None,
        typer.Option(help="Read the replies from this file, one per line, and print the run."),
    ] = None,
) -> None:
    """Play a survey in the terminal: type what the respondent says; nobody is called.

    A reply of digits, * and # is keys (* repeats, # skips); an empty one is silence; "words
    @0.4" is speech heard with that confidence, to try confirmation.
    """
    survey = _survey(file)
    context = CallContext(
        language=language,
        contact=_fields(contact or []),
        full_quotas=_full_quotas(survey, full_quota or []),
    )
    trial = Trial(survey, context)
    lines: Iterable[str] | None = _lines(replies) if replies is not None else None
    if lines is None and not sys.stdin.isatty():
        lines = _stdin_lines()
    try:
        if lines is None:
            _interactive(trial)
        else:
            _scripted(trial, lines)
    except KeyboardInterrupt:
        out.print()  # the line the prompt was on
        _summary(trial.transcript())
        err.print("stopped")
        raise typer.Exit(130) from None
    _summary(trial.transcript())


def _survey(file: Path) -> Survey:
    document = read_document(file)
    try:
        return read_survey(document)
    except InvalidInput as exc:
        _fail(f"{file}: {exc.message}")


def _fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            _fail(f"--contact {pair}: expected KEY=VALUE, e.g. name=Anna")
        fields[key.strip()] = value
    return fields


def _full_quotas(survey: Survey, names: list[str]) -> frozenset[str]:
    try:
        return check_quotas(survey, names, "--full-quota")
    except InvalidTrial as exc:
        _fail(f"--full-quota: {exc.message}")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text")
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}")


def _stdin_lines() -> Iterator[str]:
    # Read as it comes (the input may be endless) and decoded here, so bad bytes are one line.
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            _fail(f"stdin, line {number}: not UTF-8 text")


def _interactive(trial: Trial) -> None:
    _show(trial.start())
    while not trial.done:
        try:
            typed = Prompt.ask(Text("respondent", style=REPLY), console=out)
        except EOFError:
            out.print()
            return
        _show(trial.reply(read_reply(typed)))


def _scripted(trial: Trial, lines: Iterable[str]) -> None:
    _show(trial.start())
    replies: Iterator[str] = iter(lines)
    for number, line in enumerate(replies, start=1):
        heard = read_reply(line)
        _line(f"respondent: {_heard(heard)}", REPLY)
        _show(trial.reply(heard))
        if trial.done:
            # Later lines are not read: the input may be endless (`yes |`).
            if next(replies, None) is not None:
                _line(f"(the dialogue is over: replies after line {number} were not used)", LISTEN)
            return


def _show(turn: Turn) -> None:
    for event in turn.events:
        where = f"{event.question_id}: " if event.question_id else ""
        label = event.kind.value.replace("_", " ")
        _line(f"  {SIGNS[event.kind]} {where}{label}, {event.detail}", BRANCH)
    for sentence in turn.said:
        _line(f"agent: {sentence}", AGENT)
    if turn.listen is not None:
        hints = f": {', '.join(turn.listen.hints)}" if turn.listen.hints else ""
        _line(f"  (listening: {turn.listen.kind}{hints})", LISTEN)


def _heard(heard: Heard) -> str:
    if isinstance(heard, Speech):
        sure = "" if heard.confidence in (None, 1.0) else f" (confidence {heard.confidence:g})"
        return f"{heard.text}{sure}"
    if isinstance(heard, Digits):
        return f"keys {heard.digits}"
    return "(silence)"


def _summary(transcript: Transcript) -> None:
    table = Table("question", "answer", "heard", "note", title="Answers", title_justify="left")
    for answer in transcript.answers:
        value = "" if answer.value is None else json.dumps(answer.value, ensure_ascii=False)
        notes = [] if answer.skipped is None else [f"skipped: {answer.skipped.value}"]
        if answer.confirmed is not None:
            notes.append("confirmed" if answer.confirmed else "not confirmed")
        if answer.corrected:
            notes.append("corrected")
        table.add_row(answer.question_id, value, answer.raw, ", ".join(notes))
    out.print(table)
    _line(_ending(transcript), "bold")
    if transcript.quotas:
        _line(f"counts towards quotas: {', '.join(transcript.quotas)}", "")


def _ending(transcript: Transcript) -> str:
    waiting = transcript.waiting
    if waiting is not None:
        at = "the consent question" if waiting.question_id is None else waiting.question_id
        return f"waiting for the next reply at {at}: {waiting.prompt}"
    outcome = "ended" if transcript.outcome is None else transcript.outcome.value
    why = f" ({transcript.screened_by})" if transcript.screened_by else ""
    return f"outcome: {outcome}{why}"


def _fail(message: str) -> NoReturn:
    # fail() prints markup: a bracket in a file name or a typed value must print as written.
    fail(escape(message))


def _line(text: str, style: str) -> None:
    # A Text, not markup: the document's own words may hold brackets. One line each, unwrapped,
    # so that a transcript can be read by a script.
    out.print(Text(text, style=style), soft_wrap=True)
