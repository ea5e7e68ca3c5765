"""Reading replies: yes/no, intents (repeat, skip, opt-out), speech and keys per question type."""

from __future__ import annotations

from datetime import time

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
from app.dialogue.when import CallbackAsk

IT, EN, ES, FR, DE = Language.IT, Language.EN, Language.ES, Language.FR, Language.DE

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
    ("text", "expected"),
    [
        ("sí", True),
        ("¡Sí!", True),
        ("si", True),
        ("Sí, claro.", True),
        ("claro que sí", True),
        ("vale", True),
        ("bueno, vale", True),
        ("eh, sí, adelante", True),
        ("de acuerdo", True),
        ("por supuesto", True),
        ("ningún problema", True),
        ("no hay problema", True),  # "no" inside a yes
        ("no me importa", True),
        ("¿por qué no?", True),
        ("cómo no", True),
        ("no", False),
        ("No, gracias.", False),
        ("ahora no", False),
        ("no me interesa", False),
        ("no tengo tiempo", False),
        ("estoy ocupada", False),
        ("sí, pero ahora no", False),
        ("claro que no", False),
        ("para nada", False),
        ("azul", None),
        ("", None),
    ],
)
def test_spanish_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, ES) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oui", True),
        ("Oui !", True),
        ("ouais", True),
        ("euh, oui, d'accord", True),
        ("bien sûr", True),
        ("volontiers", True),
        ("avec plaisir", True),
        ("tout à fait", True),
        ("allez-y", True),
        ("si", True),
        ("pas de problème", True),  # "pas" inside a yes
        ("pourquoi pas", True),
        ("ça ne me dérange pas", True),
        ("ça me dérange pas", True),
        ("non", False),
        ("Non merci.", False),
        ("pas maintenant", False),
        ("je n'ai pas le temps", False),
        ("j'ai pas le temps", False),
        ("ça ne m'intéresse pas", False),
        ("oui mais pas maintenant", False),
        ("absolument pas", False),
        ("pas du tout", False),
        ("bleu", None),
        ("", None),
    ],
)
def test_french_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, FR) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", True),
        ("Ja!", True),
        ("ja, gerne", True),
        ("ähm, ja klar", True),
        ("na klar", True),
        ("natürlich", True),
        ("in Ordnung", True),
        ("einverstanden", True),
        ("auf jeden Fall", True),
        ("doch", True),
        ("kein Problem", True),  # "kein" inside a yes
        ("warum nicht", True),
        ("nichts dagegen", True),
        ("nein", False),
        ("Nein, danke.", False),
        ("nee", False),
        ("nö", False),
        ("jetzt nicht", False),
        ("kein Interesse", False),
        ("ich habe keine Zeit", False),
        ("ja, aber nicht jetzt", False),
        ("auf keinen Fall", False),
        ("natürlich nicht", False),
        ("blau", None),
        ("", None),
    ],
)
def test_german_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text, DE) is expected


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
        ("repita", ES, Intent.REPEAT),
        ("¿Puede repetir la pregunta?", ES, Intent.REPEAT),
        ("¿Cómo?", ES, Intent.REPEAT),
        ("perdone, no le he entendido", ES, Intent.REPEAT),
        ("otra vez", ES, Intent.REPEAT),
        ("paso", ES, Intent.SKIP),
        ("no sé", ES, Intent.SKIP),
        ("pues, no lo sé", ES, Intent.SKIP),
        ("ni idea", ES, Intent.SKIP),
        ("siguiente", ES, Intent.SKIP),
        ("prefiero no responder", ES, Intent.SKIP),
        ("sáltese esta pregunta, por favor", ES, Intent.SKIP),
        ("no me llamen más", ES, Intent.OPT_OUT),
        ("no, y no me vuelvan a llamar", ES, Intent.OPT_OUT),
        ("por favor, bórrenme de su lista", ES, Intent.OPT_OUT),
        ("quiero darme de baja", ES, Intent.OPT_OUT),
        ("estoy en la lista Robinson", ES, Intent.OPT_OUT),
        ("cómo funciona el servicio", ES, None),
        ("siete", ES, None),
        ("la siguiente vez quizás", ES, None),
        ("répétez", FR, Intent.REPEAT),
        ("Vous pouvez répéter ?", FR, Intent.REPEAT),
        ("Comment ?", FR, Intent.REPEAT),
        ("pardon ?", FR, Intent.REPEAT),
        ("je n'ai pas compris", FR, Intent.REPEAT),
        ("j'ai pas bien entendu la question", FR, Intent.REPEAT),
        ("je passe", FR, Intent.SKIP),
        ("Joker !", FR, Intent.SKIP),
        ("je ne sais pas", FR, Intent.SKIP),
        ("euh, je sais pas", FR, Intent.SKIP),
        ("aucune idée", FR, Intent.SKIP),
        ("question suivante", FR, Intent.SKIP),
        ("je préfère ne pas répondre", FR, Intent.SKIP),
        ("passez cette question, s'il vous plaît", FR, Intent.SKIP),
        ("ne m'appelez plus", FR, Intent.OPT_OUT),
        ("non, et ne me rappelez plus jamais !", FR, Intent.OPT_OUT),
        ("je ne veux plus être appelée", FR, Intent.OPT_OUT),
        ("je vous demande de ne plus m'appeler", FR, Intent.OPT_OUT),
        ("rayez-moi de votre liste", FR, Intent.OPT_OUT),
        ("je suis inscrit sur Bloctel", FR, Intent.OPT_OUT),
        ("comment ça marche", FR, None),
        ("sept", FR, None),
        ("wiederholen", DE, Intent.REPEAT),
        ("Können Sie das wiederholen?", DE, Intent.REPEAT),
        ("Wie bitte?", DE, Intent.REPEAT),
        ("Bitte?", DE, Intent.REPEAT),
        ("Entschuldigung?", DE, Intent.REPEAT),
        ("ich habe die Frage nicht verstanden", DE, Intent.REPEAT),
        ("noch einmal, bitte", DE, Intent.REPEAT),
        ("weiter", DE, Intent.SKIP),
        ("weiter, bitte", DE, Intent.SKIP),
        ("ich passe", DE, Intent.SKIP),
        ("weiß ich nicht", DE, Intent.SKIP),
        ("ähm, keine Ahnung", DE, Intent.SKIP),
        ("nächste Frage", DE, Intent.SKIP),
        ("das möchte ich nicht beantworten", DE, Intent.SKIP),
        ("überspringen Sie die Frage bitte", DE, Intent.SKIP),
        ("keine Angabe", DE, Intent.SKIP),
        ("rufen Sie mich nicht mehr an", DE, Intent.OPT_OUT),
        ("nein, und rufen Sie mich bitte nie wieder an!", DE, Intent.OPT_OUT),
        ("ich will nicht mehr angerufen werden", DE, Intent.OPT_OUT),
        ("löschen Sie meine Nummer", DE, Intent.OPT_OUT),
        ("wie funktioniert das", DE, None),
        ("sieben", DE, None),
        ("ja, ich würde noch einmal kommen", DE, None),
        ("weiter so", DE, None),
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
    ("text", "language", "expected"),
    [
        ("paso", ES, Intent.SKIP),
        ("repita, por favor", ES, Intent.REPEAT),
        ("no entiendo la factura", ES, None),
        ("hay que saltar menos pasos en la web", ES, None),
        ("no me llamen más, de todos modos", ES, Intent.OPT_OUT),
        ("je passe", FR, Intent.SKIP),
        ("répétez, s'il vous plaît", FR, Intent.REPEAT),
        ("le livreur n'a pas compris l'adresse", FR, None),
        ("passez plus souvent au magasin", FR, None),
        ("weiter", DE, Intent.SKIP),
        ("wiederholen Sie bitte", DE, Intent.REPEAT),
        ("Bitte?", DE, Intent.REPEAT),
        ("der Bote hat mich nicht verstanden", DE, None),
        ("bitte nicht mehr anrufen", DE, Intent.OPT_OUT),
    ],
)
def test_strict_intents_for_free_text_in_every_language(
    text: str, language: Language, expected: Intent | None
) -> None:
    assert detect_intent(text, language, strict=True) is expected


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


ES_CHOICE = Question("q", QuestionType.CHOICE, "¿Cuál?", choices=("teléfono", "correo", "tienda"))
FR_CHOICE = Question("q", QuestionType.CHOICE, "Lequel ?", choices=("téléphone", "mail", "magasin"))
DE_CHOICE = Question("q", QuestionType.CHOICE, "Welche?", choices=("Telefon", "Mail", "Filiale"))


@pytest.mark.parametrize(
    ("language", "text", "question", "expected"),
    [
        (ES, "sí, claro", None, True),
        (ES, "ocho", SCALE, 8),
        (ES, "un ocho sobre diez", SCALE, 8),  # "un" is the article here
        (ES, "le doy una nota alta", SCALE, None),  # and here: not a 1
        (ES, "una", NUMBER, 1),
        (ES, "una vez", NUMBER, 1),
        (ES, "veintiuna veces", NUMBER, 21),
        (ES, "la segunda", ES_CHOICE, "correo"),
        (ES, "en las tiendas", ES_CHOICE, "tienda"),
        (FR, "oui", None, True),
        (FR, "huit", SCALE, 8),
        (FR, "un", SCALE, 1),
        (FR, "Un, je pense.", SCALE, 1),
        (FR, "c'est un bon service", SCALE, None),
        (FR, "dix sur dix", SCALE, 10),
        (FR, "soixante-dix-sept", NUMBER, 77),
        (FR, "une fois", NUMBER, 1),
        (FR, "la troisième", FR_CHOICE, "magasin"),
        (DE, "ja", None, True),
        (DE, "acht", SCALE, 8),
        (DE, "eine Eins", SCALE, 1),
        (DE, "ein guter Service", SCALE, None),
        (DE, "dreiundvierzig", NUMBER, 43),
        (DE, "die letzte", DE_CHOICE, "Filiale"),
        (DE, "in den Filialen", DE_CHOICE, "Filiale"),
    ],
)
def test_read_answer_in_every_language(
    language: Language, text: str, question: Question | None, expected: AnswerValue | None
) -> None:
    assert read_answer(text, question, language) == expected


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


# --- "call me later" on a free-text question -----------------------------------------------------


def later(
    at: str | None = None, *, delay: int | None = None, day: int | None = None
) -> CallbackAsk:
    clock = time.fromisoformat(at) if at else None
    vague = clock is None and delay is None and day is None
    return CallbackAsk(delay_minutes=delay, day_offset=day, at=clock, vague=vague)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("orari più tardi la sera", IT),
        ("aprire più tardi il sabato", IT),
        ("richiamare prima", IT),
        ("l'operatore dovrebbe richiamare più in fretta", IT),
        ("open later on Sundays", EN),
        ("open later", EN),
        ("call back sooner", EN),
        ("the agent should call back faster", EN),
        ("deliveries in an hour", EN),
        ("abrir más tarde los domingos", ES),
        ("que vuelvan a llamar más rápido", ES),
        ("entregas en una hora", ES),
        ("ouvrir plus tard le dimanche", FR),
        ("des horaires plus tard le soir", FR),
        ("rappeler plus vite les clients", FR),
        ("livrer dans une heure", FR),
        ("später schließen", DE),
        ("schnellerer Rückruf", DE),
        ("die Hotline sollte später geöffnet sein", DE),
        ("Lieferung in einer Stunde", DE),
    ],
)
def test_a_free_text_answer_that_mentions_later_stays_an_answer(
    text: str, language: Language
) -> None:
    assert read_speech(text, 0.9, FREE, language) == Reply(Intent.ANSWER, text, text, 0.9)


@pytest.mark.parametrize(
    ("text", "language", "ask"),
    [
        ("richiamami domani alle 18", IT, later("18:00", day=1)),
        ("più tardi per favore", IT, later()),
        ("scusi, adesso non posso, mi può richiamare stasera?", IT, later("19:00", day=0)),
        (
            "in questo momento non posso, mi richiami domani alle sei e mezza per favore",
            IT,
            later("18:30", day=1),
        ),
        ("not now", EN, later()),
        ("sorry, not now", EN, later()),
        ("call me back tomorrow at six please", EN, later("18:00", day=1)),
        ("in an hour", EN, later(delay=60)),
        (
            "sorry, I can't talk right now, could you please call me back tomorrow at six",
            EN,
            later("18:00", day=1),
        ),
        ("más tarde, por favor", ES, later()),
        ("lo siento, llámeme mañana a las seis", ES, later("18:00", day=1)),
        (
            "perdone, en este momento no puedo, llámeme mañana por la mañana, por favor",
            ES,
            later("10:00", day=1),
        ),
        ("plus tard s'il vous plaît", FR, later()),
        ("pas maintenant, rappelez-moi demain à 18 heures", FR, later("18:00", day=1)),
        ("désolé, je ne peux pas parler, rappelez-moi plus tard s'il vous plaît", FR, later()),
        ("später bitte", DE, later()),
        ("nicht jetzt, rufen Sie mich morgen um 18 Uhr an", DE, later("18:00", day=1)),
        (
            "Entschuldigung, ich kann gerade nicht, rufen Sie mich in einer Stunde an",
            DE,
            later(delay=60),
        ),
    ],
)
def test_a_free_text_reply_about_calling_back_asks_for_a_callback(
    text: str, language: Language, ask: CallbackAsk
) -> None:
    reply = read_speech(text, 0.9, FREE, language)

    assert reply == Reply(Intent.CALLBACK, raw=text, confidence=0.9, callback=ask)


@pytest.mark.parametrize(
    ("text", "language", "ask"),
    [
        ("open later", EN, later()),
        ("orari più tardi la sera", IT, later("19:00")),
        ("abrir más tarde", ES, later()),
        ("ouvrir plus tard", FR, later()),
        ("später schließen", DE, later()),
    ],
)
@pytest.mark.parametrize("question", [None, YES_NO, SCALE, CHOICE, NUMBER])
def test_only_free_text_wants_the_whole_reply_to_be_about_calling_back(
    text: str, language: Language, ask: CallbackAsk, question: Question | None
) -> None:
    # At any other prompt such words are no answer to lose: a cue books a callback, as it did.
    expected = Reply(Intent.CALLBACK, raw=text, confidence=0.9, callback=ask)

    assert read_speech(text, 0.9, question, language) == expected
    assert read_speech(text, 0.9, FREE, language).intent is Intent.ANSWER


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
