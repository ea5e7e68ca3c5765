"""Reading replies: yes/no, intents (repeat, skip, opt-out), speech and keys per question type."""

from __future__ import annotations

import pytest

from app.dialogue import Question, QuestionType
from app.dialogue.actions import AnswerValue
from app.dialogue.survey import Language
from app.dialogue.understanding import (
    Intent,
    Reply,
    detect_intent,
    parse_yes_no,
    read_answer,
    read_digits,
    read_speech,
)

IT, EN = Language.IT, Language.EN

SCALE = Question("q", QuestionType.SCALE, "Da 1 a 10?", min=1, max=10)
YES_NO = Question("q", QuestionType.YES_NO, "Ci consiglierebbe?")
CHOICE = Question("q", QuestionType.CHOICE, "Quale?", choices=("telefono", "email", "negozio"))
NUMBER = Question("q", QuestionType.NUMBER, "Quante volte?", min=0)
FREE = Question("q", QuestionType.FREE_TEXT, "Cosa migliorare?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sì", True),
        ("Sì!", True),
        ("si", True),
        ("certo", True),
        ("va bene", True),
        ("d'accordo", True),
        ("ok", True),
        ("volentieri", True),
        ("assolutamente", True),
        ("esatto", True),
        ("sì, certo", True),
        ("nessun problema", True),
        ("perché no", True),
        ("no", False),
        ("No.", False),
        ("non ora", False),
        ("non mi interessa", False),
        ("no grazie", False),
        ("non ho tempo", False),
        ("no, non ho tempo", False),
        ("sì, ma non ho tempo", False),
        ("certo che no", False),
        ("assolutamente no", False),
        ("blu", None),
        ("", None),
    ],
)
def test_italian_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, IT) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes!", True),
        ("yeah", True),
        ("sure", True),
        ("ok", True),
        ("okay", True),
        ("of course", True),
        ("go ahead", True),
        ("absolutely", True),
        ("no problem", True),
        ("why not", True),
        ("yes, sure", True),
        ("no", False),
        ("nope", False),
        ("not now", False),
        ("not interested", False),
        ("no thanks", False),
        ("I'm busy", False),
        ("yes but I'm busy", False),
        ("absolutely not", False),
        ("I don't have time", False),
        ("purple", None),
    ],
)
def test_english_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, EN) is expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("ripeta", IT, Intent.REPEAT),
        ("Può ripetere?", IT, Intent.REPEAT),
        ("come?", IT, Intent.REPEAT),
        ("non ho capito", IT, Intent.REPEAT),
        ("scusi?", IT, Intent.REPEAT),
        ("mi scusi, può ripetere la domanda?", IT, Intent.REPEAT),
        ("salta", IT, Intent.SKIP),
        ("passo", IT, Intent.SKIP),
        ("non so", IT, Intent.SKIP),
        ("non lo so", IT, Intent.SKIP),
        ("mah, non saprei", IT, Intent.SKIP),
        ("prossima", IT, Intent.SKIP),
        ("preferisco non rispondere", IT, Intent.SKIP),
        ("salti questa domanda per favore", IT, Intent.SKIP),
        ("passiamo alla prossima", IT, Intent.SKIP),
        ("non chiamatemi più", IT, Intent.OPT_OUT),
        ("non voglio essere richiamato", IT, Intent.OPT_OUT),
        ("cancellatemi", IT, Intent.OPT_OUT),
        ("rimuovetemi dalla lista", IT, Intent.OPT_OUT),
        ("no, e non chiamatemi più!", IT, Intent.OPT_OUT),
        ("come funziona il servizio", IT, None),
        ("sette", IT, None),
        ("repeat", EN, Intent.REPEAT),
        ("can you say again?", EN, Intent.REPEAT),
        ("pardon?", EN, Intent.REPEAT),
        ("What?", EN, Intent.REPEAT),
        ("come again", EN, Intent.REPEAT),
        ("skip", EN, Intent.SKIP),
        ("pass", EN, Intent.SKIP),
        ("I'll pass", EN, Intent.SKIP),
        ("I don't know", EN, Intent.SKIP),
        ("I do not know", EN, Intent.SKIP),
        ("I'm not sure", EN, Intent.SKIP),
        ("next", EN, Intent.SKIP),
        ("I'd prefer not to say", EN, Intent.SKIP),
        ("don't call me again", EN, Intent.OPT_OUT),
        ("Do not call", EN, Intent.OPT_OUT),
        ("please stop calling me", EN, Intent.OPT_OUT),
        ("remove me from your list", EN, Intent.OPT_OUT),
        ("take me off your list", EN, Intent.OPT_OUT),
        ("what a great store", EN, None),
        ("next time maybe", EN, None),
    ],
)
def test_detect_intent(text: str, language: Language, expected: Intent | None) -> None:
    assert detect_intent(text, language) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("salta", Intent.SKIP),
        ("non so", Intent.SKIP),
        ("ripeta per favore", Intent.REPEAT),
        ("la linea salta spesso", None),
        ("non ho capito la bolletta", None),
        ("non chiamatemi più, comunque", Intent.OPT_OUT),
    ],
)
def test_strict_intents_for_free_text(text: str, expected: Intent | None) -> None:
    assert detect_intent(text, IT, strict=True) is expected


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        ("sì", None, True),
        ("no", YES_NO, False),
        ("otto", SCALE, 8),
        ("10", SCALE, 10),
        ("otto su dieci", SCALE, 8),
        ("undici", SCALE, None),
        ("zero", SCALE, None),
        ("7,5", SCALE, None),  # a scale answer is a whole number
        ("blu", SCALE, None),
        ("la seconda", CHOICE, "email"),
        ("negozi", CHOICE, "negozio"),
        ("3", NUMBER, 3),
        ("ventuno", NUMBER, 21),
        ("2,5", NUMBER, 2.5),
        ("nessuna idea", NUMBER, None),
        ("  Il servizio clienti.  ", FREE, "Il servizio clienti."),
    ],
)
def test_read_answer(text: str, question: Question | None, expected: AnswerValue | None) -> None:
    assert read_answer(text, question, IT) == expected


def test_number_bounds_are_enforced() -> None:
    bounded = Question("q", QuestionType.NUMBER, "Quanti?", min=1, max=5)

    assert read_answer("5", bounded, IT) == 5
    assert read_answer("6", bounded, IT) is None
    assert read_answer("0", bounded, IT) is None


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        ("otto", SCALE, Reply(Intent.ANSWER, 8, "otto", 0.9)),
        ("  ", SCALE, Reply(Intent.NO_INPUT, None, "", 0.9)),
        ("ehm", SCALE, Reply(Intent.NO_INPUT, None, "ehm", 0.9)),
        ("blu", SCALE, Reply(Intent.INVALID, None, "blu", 0.9)),
        ("ripeta", SCALE, Reply(Intent.REPEAT, None, "ripeta", 0.9)),
        ("non so", YES_NO, Reply(Intent.SKIP, None, "non so", 0.9)),
        ("sì", None, Reply(Intent.ANSWER, True, "sì", 0.9)),
        ("ehm...", FREE, Reply(Intent.NO_INPUT, None, "ehm...", 0.9)),
        ("salta spesso", FREE, Reply(Intent.ANSWER, "salta spesso", "salta spesso", 0.9)),
    ],
)
def test_read_speech(text: str, question: Question | None, expected: Reply) -> None:
    assert read_speech(text, 0.9, question, IT) == expected


@pytest.mark.parametrize(
    ("digits", "question", "intent", "value"),
    [
        ("1", None, Intent.ANSWER, True),
        ("2", None, Intent.ANSWER, False),
        ("3", None, Intent.INVALID, None),
        ("1", YES_NO, Intent.ANSWER, True),
        ("2#", YES_NO, Intent.ANSWER, False),
        ("*", SCALE, Intent.REPEAT, None),
        ("#", SCALE, Intent.SKIP, None),
        ("8", SCALE, Intent.ANSWER, 8),
        ("10", SCALE, Intent.ANSWER, 10),
        ("10#", SCALE, Intent.ANSWER, 10),
        ("11", SCALE, Intent.INVALID, None),
        ("0", SCALE, Intent.INVALID, None),
        ("42", NUMBER, Intent.ANSWER, 42),
        ("1", CHOICE, Intent.ANSWER, "telefono"),
        ("3", CHOICE, Intent.ANSWER, "negozio"),
        ("4", CHOICE, Intent.INVALID, None),
        ("0", CHOICE, Intent.INVALID, None),
        ("5", FREE, Intent.INVALID, None),
        ("", SCALE, Intent.NO_INPUT, None),
        ("1*2", SCALE, Intent.INVALID, None),
    ],
)
def test_read_digits(
    digits: str, question: Question | None, intent: Intent, value: AnswerValue | None
) -> None:
    reply = read_digits(digits, question)

    assert (reply.intent, reply.value) == (intent, value)
    assert reply.confidence is None
