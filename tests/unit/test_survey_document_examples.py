"""Every example of docs/survey-document.md is what it says it is.

Each ```yaml block is read as the API reads a YAML body, then checked as the API checks a
document: the schema (`CampaignDocument`) and the dialogue (`Survey.from_definition`). A block
whose first line is

- `# complete document` must be accepted as it is;
- `# invalid document: LOC` must be refused, the first problem at LOC (the 422's `loc`);
- `# invalid: LOC` is a fragment merged over the page's first complete document, refused at LOC;
- anything else is a fragment merged over that document, which must then be accepted.

Merging replaces the document's top-level keys by the fragment's (and a fragment's `languages`
replaces the document's `language`).

The piping example, the worked example's walk-through and the stored response shown are played
through the engine; the campaigns of examples/ are checked the same way.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.campaigns.schemas import CampaignDocument
from app.dialogue import (
    Action,
    CallAnswered,
    CallContext,
    CountQuotas,
    DialogueState,
    Digits,
    Event,
    InvalidSurvey,
    MarkSkipped,
    Say,
    SkipReason,
    Speech,
    Survey,
    SurveyOutcome,
    transition,
)
from app.dialogue.survey import Language
from app.web.bodies import load_yaml

PAGE = Path(__file__).resolve().parents[2] / "docs" / "survey-document.md"
TEXT = PAGE.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMPLETE = "# complete document"
INVALID_DOCUMENT = re.compile(r"# invalid document: (\S+)$")
INVALID_FRAGMENT = re.compile(r"# invalid: (\S+)$")


@dataclass(frozen=True)
class Block:
    line: int
    text: str

    @property
    def first(self) -> str:
        return self.text.splitlines()[0].strip()


def fenced(kind: str) -> list[Block]:
    return [
        Block(TEXT[: m.start()].count("\n") + 1, m.group(2))
        for m in FENCE.finditer(TEXT)
        if m.group(1) == kind
    ]


YAML_BLOCKS = fenced("yaml")


def read(block: Block) -> dict[str, Any]:
    """The block as the API gets a YAML body: parsed, then carried as JSON."""
    data = json.loads(json.dumps(load_yaml(block.text), default=str))
    assert isinstance(data, dict), f"line {block.line}: not a mapping"
    return data


def check(document: dict[str, Any]) -> Survey:
    """Accept the document as POST /api/campaigns does, or raise what it refuses it with."""
    parsed = CampaignDocument.model_validate(document)
    return Survey.from_definition(parsed.definition())


def refused_at(document: dict[str, Any]) -> str:
    """The `loc` of the first problem of a document the API refuses, dotted."""
    try:
        check(document)
    except ValidationError as exc:
        loc: tuple[str | int, ...] = ("body", *exc.errors()[0]["loc"])
    except InvalidSurvey as exc:
        loc = ("body", *exc.path)
    else:
        raise AssertionError("the document was accepted")
    return ".".join(str(part) for part in loc)


BASE = read(next(b for b in YAML_BLOCKS if b.first == COMPLETE))


def over_base(block: Block) -> dict[str, Any]:
    """The fragment's top-level keys in place of the base's (`languages` replaces `language`)."""
    fragment, base = read(block), json.loads(json.dumps(BASE))
    if "languages" in fragment:
        base.pop("language", None)
    return {**base, **fragment}


def by_line(blocks: list[Block]) -> dict[str, Any]:
    return {"argvalues": blocks, "ids": [f"line {b.line}" for b in blocks]}


def test_the_page_has_its_examples() -> None:
    firsts = [b.first for b in YAML_BLOCKS]
    assert firsts.count(COMPLETE) >= 2  # the smallest document and the worked example
    assert any(INVALID_DOCUMENT.match(f) for f in firsts)
    assert sum(1 for f in firsts if INVALID_FRAGMENT.match(f)) >= 3
    # A marker misspelt would silently turn an example into a fragment.
    for first in firsts:
        if first.startswith("#") and "invalid" in first:
            assert INVALID_DOCUMENT.match(first) or INVALID_FRAGMENT.match(first), first
        if "complete" in first:
            assert first == COMPLETE


@pytest.mark.parametrize("block", **by_line(YAML_BLOCKS))
def test_each_example_is_accepted_or_refused_as_it_says(block: Block) -> None:
    invalid_document = INVALID_DOCUMENT.match(block.first)
    invalid_fragment = INVALID_FRAGMENT.match(block.first)
    if block.first == COMPLETE:
        check(read(block))
    elif invalid_document:
        assert refused_at(read(block)) == invalid_document.group(1)
    elif invalid_fragment:
        assert refused_at(over_base(block)) == invalid_fragment.group(1)
    else:
        check(over_base(block))


def test_the_422_bodies_shown_are_those_of_the_yaml_examples() -> None:
    locs = {".".join(str(p) for p in d["loc"]) for body in errors_shown() for d in body["detail"]}
    stated = set()
    for block in YAML_BLOCKS:
        marker = INVALID_DOCUMENT.match(block.first) or INVALID_FRAGMENT.match(block.first)
        if marker is not None:
            stated.add(marker.group(1))
    assert "body.questions.0.type" in locs  # the schema's own error
    assert locs - {"body.questions.0.type"} <= stated


def errors_shown() -> list[dict[str, Any]]:
    """The page's 422 bodies: JSON blocks of one or more `{"detail": …}` values."""
    bodies: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    for block in fenced("json"):
        text = block.text.strip()
        index = 0
        while text.startswith('{"detail"', index):
            body, index = decoder.raw_decode(text, index)
            bodies.append(body)
            while index < len(text) and text[index].isspace():
                index += 1
    assert len(bodies) >= 3
    return bodies


@pytest.mark.parametrize("name", ["it", "en", "bilingual"])
def test_the_example_campaigns_are_valid_and_speak_their_contacts_languages(name: str) -> None:
    examples = PAGE.parents[1] / "examples"
    document = json.loads(
        json.dumps(load_yaml((examples / f"campaign-{name}.yaml").read_text("utf-8")), default=str)
    )
    survey = check(document)

    with (examples / f"contacts-{name}.csv").open(encoding="utf-8", newline="") as rows:
        contacts = list(csv.DictReader(rows))
    assert len(contacts) == 50  # `voicesurvey demo` calls 50 by default
    for contact in contacts:
        assert contact.get("language") in (None, "", *Language)
    assert {survey.speaks(c.get("language")) for c in contacts} == set(survey.languages)


# --- the examples, played -----------------------------------------------------------------------

WORKED = next(b for b in YAML_BLOCKS if "ACME customer satisfaction, winter" in b.text)


@pytest.fixture(scope="module")
def survey() -> Survey:
    return check(read(WORKED))


def speech(text: str, confidence: float = 0.9) -> Speech:
    return Speech(text=text, confidence=confidence)


def play(
    survey: Survey, replies: list[Event], context: CallContext
) -> tuple[DialogueState, list[Action]]:
    state, actions = DialogueState.initial(), []
    for event in [CallAnswered(), speech("sì" if context.language != "en-US" else "yes")]:
        state, step = transition(state, event, survey=survey, context=context)
        actions.extend(step)
    for event in replies:
        state, step = transition(state, event, survey=survey, context=context)
        actions.extend(step)
        state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state, actions


def said(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


def counted(actions: list[Action]) -> tuple[str, ...]:
    return next((a.names for a in actions if isinstance(a, CountQuotas)), ())


def not_applicable(actions: list[Action]) -> set[str]:
    return {
        a.question_id
        for a in actions
        if isinstance(a, MarkSkipped) and a.reason is SkipReason.NOT_APPLICABLE
    }


@pytest.mark.parametrize(
    ("contact", "replies", "expected"),
    [
        (
            {"name": "Anna"},
            [speech("7"), speech("the staff"), speech("4")],
            [
                "Hello Anna, this is ACME's automated assistant.",
                "You gave us 7. What is the main reason?",
                "From 1 to 5, how would you rate our store in your area?",
                "Thank you Anna for your time. Goodbye.",
            ],
        ),
        (
            {},
            [Digits(digits="#"), speech("the staff"), speech("4")],
            [
                "Hello there, this is ACME's automated assistant.",
                "You gave us no score. What is the main reason?",
                "Thank you  for your time. Goodbye.",
            ],
        ),
    ],
    ids=["anna", "no-name"],
)
def test_the_piping_example_says_what_the_page_says(
    contact: dict[str, str], replies: list[Event], expected: list[str]
) -> None:
    block = next(b for b in YAML_BLOCKS if "{answer.satisfaction|no score}" in b.text)
    piping = check(over_base(block))

    _, actions = play(piping, replies, CallContext(language="en-US", contact=contact))

    spoken = said(actions)
    assert all(text in spoken for text in expected), spoken


def test_anna_completes_in_italian_and_counts_in_one_quota(survey: Survey) -> None:
    anna = CallContext(language="it-IT", contact={"name": "Anna Conti", "city": "Torino"})
    replies = [speech("quarantadue", 0.93), speech("in negozio"), speech("quattro"), speech("9")]

    state, actions = play(survey, replies, anna)

    spoken = said(actions)
    assert spoken[0] == "Buongiorno Anna Conti, sono l'assistente automatico di ACME."
    assert any("come valuta il nostro negozio di Torino?" in s for s in spoken)
    assert spoken[-1] == "Grazie Anna Conti per il suo tempo. Arrivederci."
    assert state.outcome is SurveyOutcome.COMPLETED and state.language == "it-IT"
    assert state.answer_map["channel"].value == "store"
    assert not_applicable(actions) == {"why_low"}
    assert counted(actions) == ("35-and-over",)


def test_bob_confirms_a_doubtful_answer_and_gets_the_follow_up(survey: Survey) -> None:
    bob = CallContext(language="en-US", contact={"name": "Bob Wilson", "city": ""})
    replies = [speech("twenty-nine"), speech("the website"), speech("four", 0.5), speech("yes")]

    state, actions = play(survey, [*replies, speech("faster delivery")], bob)

    spoken = said(actions)
    assert "I understood 4, is that right?" in spoken
    assert "You gave us 4. What should we do better?" in spoken
    assert spoken[-1] == "Thank you Bob Wilson for your time. Goodbye."
    assert state.answer_map["nps"].confirmed is True
    assert state.answer_map["channel"].value == "online"
    assert not_applicable(actions) == {"store_rating"}
    assert counted(actions) == ("under-35",)


@pytest.mark.parametrize(
    ("language", "age", "full", "after", "why"),
    [
        ("it-IT", "sedici", frozenset(), [], "question:age"),
        ("en-US", "thirty-one", frozenset({"under-35"}), [], "quota:under-35"),
        (None, "trenta", frozenset({"young-in-store"}), ["negozio"], "quota:young-in-store"),
    ],
    ids=["carla", "dan", "elena"],
)
def test_carla_dan_and_elena_are_screened_out(
    survey: Survey,
    language: str | None,
    age: str,
    full: frozenset[str],
    after: list[str],
    why: str,
) -> None:
    context = CallContext(language=language, full_quotas=full)

    state, actions = play(survey, [speech(age), *map(speech, after)], context)

    assert state.outcome is SurveyOutcome.SCREENED_OUT and state.screened_by == why
    assert [q for q, _ in state.answers] == ["age", *(["channel"] if after else [])]
    goodbye = survey.script.screened_out
    assert goodbye is not None
    assert said(actions)[-1] == goodbye.get(state.language)
    assert counted(actions) == ()


def test_elena_goes_on_if_she_is_not_in_the_full_quota(survey: Survey) -> None:
    elena = CallContext(full_quotas=frozenset({"young-in-store"}))

    state, _ = play(survey, [speech("trenta"), speech("sito")], elena)

    assert state.outcome is None and state.language == "it-IT"
    assert [q for q, _ in state.answers] == ["age", "channel", "store_rating"]


def test_the_stored_response_shown_is_what_the_engine_stores(survey: Survey) -> None:
    shown = next(
        json.loads(b.text) for b in fenced("json") if b.text.lstrip().startswith('{\n  "answers"')
    )
    replies: list[Event] = [
        speech("quarantadue", 0.93),
        speech("negozio", 0.55),
        speech("sì"),  # "Ho capito negozio, giusto?"
        speech("tre", 0.5),
        speech("no"),  # "Ho capito 3, giusto?" — the question comes again
        speech("quattro", 0.91),
        Digits(digits="#"),
    ]

    state, _ = play(survey, replies, CallContext(language="it-IT"))

    stored = {question_id: record.to_dict() for question_id, record in state.answers}
    assert stored == shown["answers"]
    assert shown["completed"] is (state.outcome is SurveyOutcome.COMPLETED)
    assert (shown["language"], shown["screened_out_by"]) == (state.language, state.screened_by)
