"""A dry run of a survey: typed replies through the dialogue engine, read back as a transcript."""

from __future__ import annotations

from typing import Any

import pytest

from app.dialogue import (
    CallContext,
    Digits,
    NoInput,
    Phase,
    SkipReason,
    Speech,
    Survey,
    SurveyOutcome,
)
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language
from app.surveys import (
    Branch,
    BranchEvent,
    InvalidTrial,
    Transcript,
    check_quotas,
    play,
    read_reply,
)

SCRIPT = {
    "intro": {"en-US": "Hello {contact.name|there}.", "it-IT": "Buongiorno {contact.name|}."},
    "consent": {"en-US": "Do you have two minutes?", "it-IT": "Ha due minuti?"},
    "refused": {"en-US": "Thanks anyway.", "it-IT": "Grazie lo stesso."},
    "closing": {"en-US": "Thank you, goodbye.", "it-IT": "Grazie, arrivederci."},
    "screened_out": {"en-US": "We need other people.", "it-IT": "Cerchiamo altre persone."},
}
QUESTIONS: list[dict[str, Any]] = [
    {"id": "owns_car", "type": "yes_no", "text": {"en-US": "Own a car?", "it-IT": "Ha un'auto?"}},
    {
        "id": "brand",
        "type": "choice",
        "text": {"en-US": "Which brand, {contact.name|}?", "it-IT": "Quale marca?"},
        "choices": ["fiat", {"value": "other", "text": {"en-US": "another", "it-IT": "un'altra"}}],
        "ask_if": {"owns_car": True},
    },
    {
        "id": "age",
        "type": "number",
        "text": {"en-US": "How old are you?", "it-IT": "Quanti anni ha?"},
        "screen_out_if": {"age": {"lt": 18}},
        "confirm_below": 0.5,
    },
    {
        "id": "happy",
        "type": "yes_no",
        "text": {"en-US": "Happy with your {answer.brand|car}?", "it-IT": "Contento?"},
    },
]
QUOTAS = [{"name": "young", "when": {"age": {"lt": 35}}, "target": 2}]
SURVEY = Survey.from_definition(
    {"languages": ["en-US", "it-IT"], "script": SCRIPT, "questions": QUESTIONS, "quotas": QUOTAS}
)
ENGLISH = CallContext(language="en-US")
EN = PHRASES[Language.EN]
BRAND_ASKED = "Which brand, ? " + EN.options.format(options="fiat or another")


def run(*replies: str, context: CallContext = ENGLISH) -> Transcript:
    return play(SURVEY, [read_reply(reply) for reply in replies], context=context)


def events(transcript: Transcript) -> list[BranchEvent]:
    return [event for turn in transcript.turns for event in turn.events]


def said(transcript: Transcript) -> list[str]:
    return [text for turn in transcript.turns for text in turn.said]


def values(transcript: Transcript) -> dict[str, Any]:
    return {answer.question_id: answer.value for answer in transcript.answers}


# --- reading what is typed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "heard"),
    [
        ("", NoInput()),
        ("   ", NoInput()),
        ("1", Digits("1")),
        (" 42# ", Digits("42#")),
        ("*", Digits("*")),
        ("#", Digits("#")),
        ("yes", Speech("yes", 1.0)),
        ("  forty two ", Speech("forty two", 1.0)),
        ("seven @0.4", Speech("seven", 0.4)),
        ("seven @1", Speech("seven", 1.0)),
        ("email me @home", Speech("email me @home", 1.0)),  # not a confidence
        ("1 2", Speech("1 2", 1.0)),  # a space: said, not pressed
    ],
)
def test_a_typed_reply_is_words_keys_or_silence(typed: str, heard: object) -> None:
    assert read_reply(typed) == heard


def test_a_given_confidence_wins_over_the_written_one() -> None:
    assert read_reply("seven @0.4", confidence=0.9) == Speech("seven @0.4", 0.9)


# --- the transcript ----------------------------------------------------------------------------


def test_the_call_starts_with_the_intro_and_the_consent_question() -> None:
    transcript = run()

    first = transcript.turns[0]
    assert first.reply is None
    assert first.said == ("Hello there.", "Do you have two minutes?")
    assert first.listen is not None and first.listen.kind == "consent"
    assert first.listen.hints == ("yes", "no")


def test_a_question_whose_ask_if_fails_shows_as_not_applicable() -> None:
    transcript = run("yes", "no", "40", "yes")

    assert BranchEvent(Branch.NOT_APPLICABLE, "brand", "its ask_if does not hold") in events(
        transcript
    )
    assert not any("brand" in text for text in said(transcript))
    brand = next(a for a in transcript.answers if a.question_id == "brand")
    assert (brand.value, brand.skipped) == (None, SkipReason.NOT_APPLICABLE)
    assert transcript.finished and transcript.outcome is SurveyOutcome.COMPLETED
    assert values(transcript) == {"owns_car": False, "brand": None, "age": 40, "happy": True}


def test_each_turn_shows_the_reply_what_is_said_and_what_is_listened_for() -> None:
    transcript = run("yes", "yes")

    turn = transcript.turns[2]
    assert turn.reply == Speech("yes", 1.0)
    assert turn.said == (BRAND_ASKED,)
    assert turn.events == (BranchEvent(Branch.ANSWERED, "owns_car", 'true from "yes"'),)
    assert turn.listen is not None
    assert (turn.listen.kind, turn.listen.hints) == ("choice", ("fiat", "another"))


def test_a_screening_question_shows_why_the_interview_ended() -> None:
    transcript = run("yes", "no", "16", "yes")

    assert transcript.outcome is SurveyOutcome.SCREENED_OUT
    assert transcript.screened_by == "question:age"
    assert events(transcript)[-1] == BranchEvent(
        Branch.SCREENED_OUT, "age", "its screen_out_if holds"
    )
    assert said(transcript)[-1] == "We need other people."
    assert transcript.unused_replies == 1
    assert transcript.quotas == ()


def test_a_full_quota_screens_out_and_says_which() -> None:
    full = CallContext(language="en-US", full_quotas=frozenset({"young"}))

    transcript = run("yes", "no", "30", context=full)

    assert (transcript.outcome, transcript.screened_by) == (
        SurveyOutcome.SCREENED_OUT,
        "quota:young",
    )
    assert events(transcript)[-1] == BranchEvent(
        Branch.SCREENED_OUT, "age", "quota 'young' is full"
    )


def test_a_completed_interview_shows_the_quotas_it_counts_towards() -> None:
    assert run("yes", "no", "30", "yes").quotas == ("young",)
    assert run("yes", "no", "50", "yes").quotas == ()


def test_an_answer_heard_with_low_confidence_is_said_back_then_kept() -> None:
    transcript = run("yes", "no", "thirty @0.3", "yes", "yes")

    confirming = transcript.turns[3]
    assert confirming.events == (
        BranchEvent(Branch.CONFIRMING, "age", 'heard "thirty" with confidence 0.3: said back'),
    )
    assert confirming.said == (EN.confirm.format(answer="30"),)
    age = next(a for a in transcript.answers if a.question_id == "age")
    assert (age.value, age.confidence, age.confirmed, age.corrected) == (30, 0.3, True, False)
    assert transcript.outcome is SurveyOutcome.COMPLETED


def test_an_answer_said_to_be_wrong_is_asked_again_and_marked_corrected() -> None:
    replies = [read_reply(r) for r in ("yes", "no")]
    replies += [Speech("thirty", 0.3), Speech("no", 0.9), Speech("forty", 0.9), Speech("yes")]

    transcript = play(SURVEY, replies, context=ENGLISH)

    assert (
        BranchEvent(Branch.ASKED_AGAIN, "age", "not what was meant") in transcript.turns[4].events
    )
    age = next(a for a in transcript.answers if a.question_id == "age")
    assert (age.value, age.confirmed, age.corrected) == (40, None, True)


def test_keys_and_silence_are_heard_as_on_the_phone() -> None:
    # 1 is yes; silence earns a hint and then a skip; * repeats; # skips.
    transcript = run("1", "1", "", "", "*", "#", "25", "2")

    assert transcript.turns[3].said[0] == EN.no_input
    assert transcript.turns[4].events == (BranchEvent(Branch.SKIPPED, "brand", "no_input"),)
    assert transcript.turns[5].said[0] == EN.repeating
    assert transcript.turns[6].events == (
        BranchEvent(Branch.SKIPPED, "age", "skipped_by_respondent"),
    )
    assert values(transcript) == {"owns_car": True, "brand": None, "age": None, "happy": False}
    assert transcript.turns[1].reply == Digits("1") and transcript.turns[3].reply == NoInput()


def test_contact_fields_are_piped_into_what_is_said() -> None:
    transcript = run("yes", "yes", context=CallContext(contact={"name": "Anna"}))

    assert transcript.turns[0].said[0] == "Hello Anna."
    assert transcript.turns[2].said[0].startswith("Which brand, Anna?")


def test_earlier_answers_are_piped_into_later_questions() -> None:
    transcript = run("yes", "yes", "fiat", "40")

    assert said(transcript)[-1] == "Happy with your fiat?"


@pytest.mark.parametrize(
    ("language", "speaks", "intro"),
    [
        ("it-IT", "it-IT", "Buongiorno ."),
        ("en-US", "en-US", "Hello there."),
        (None, "en-US", "Hello there."),  # the survey's default
        ("pt-BR", "en-US", "Hello there."),  # not one the survey speaks
    ],
)
def test_the_call_speaks_the_contacts_language_when_the_survey_does(
    language: str | None, speaks: str, intro: str
) -> None:
    transcript = run(context=CallContext(language=language))

    assert transcript.language == speaks
    assert transcript.turns[0].said[0] == intro


def test_an_italian_run_understands_italian() -> None:
    transcript = run("sì", "no", "quaranta", "sì", context=CallContext(language="it-IT"))

    assert transcript.outcome is SurveyOutcome.COMPLETED
    assert values(transcript)["age"] == 40
    assert said(transcript)[-1] == "Grazie, arrivederci."


def test_when_the_replies_run_out_it_shows_the_prompt_it_waits_on() -> None:
    transcript = run("yes", "yes")

    assert not transcript.finished and transcript.outcome is None
    waiting = transcript.waiting
    assert waiting is not None
    assert (waiting.phase, waiting.question_id) == (Phase.QUESTION, "brand")
    assert waiting.prompt == BRAND_ASKED
    assert waiting.listen.kind == "choice"
    assert transcript.unused_replies == 0


def test_with_no_replies_it_waits_at_the_consent_question() -> None:
    waiting = run().waiting

    assert waiting is not None
    assert (waiting.phase, waiting.question_id, waiting.prompt) == (
        Phase.CONSENT,
        None,
        "Do you have two minutes?",
    )


def test_it_waits_on_a_confirmation_too() -> None:
    waiting = run("yes", "no", "thirty @0.2").waiting

    assert waiting is not None
    assert (waiting.phase, waiting.question_id) == (Phase.CONFIRM, "age")


@pytest.mark.parametrize(
    ("replies", "outcome"),
    [
        (("no",), SurveyOutcome.REFUSED),
        (("yes", "don't call me again"), SurveyOutcome.OPTED_OUT),
        (("", ""), SurveyOutcome.NO_CONSENT_INPUT),
    ],
)
def test_every_ending_is_a_finished_transcript(
    replies: tuple[str, ...], outcome: SurveyOutcome
) -> None:
    transcript = run(*replies, "yes", "yes")

    assert transcript.finished and transcript.outcome is outcome
    assert transcript.waiting is None
    assert transcript.turns[-1].listen is None
    assert transcript.unused_replies == 2


def test_full_quotas_must_be_quotas_of_the_survey() -> None:
    assert check_quotas(SURVEY, ["young"], "full_quotas") == frozenset({"young"})
    with pytest.raises(InvalidTrial) as raised:
        check_quotas(SURVEY, ["young", "old"], "full_quotas")

    assert raised.value.loc == ("full_quotas", 1)
    assert "'old'" in raised.value.message and "young" in raised.value.message
