"""Hearing "call me later" in every language, and the instant it names at the database clock."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.dialogue.survey import Language
from app.dialogue.when import (
    MAX_DAYS_AHEAD,
    CallbackAsk,
    appointment_time,
    hear_callback,
    read_callback,
)

IT, EN, ES, FR, DE = Language.IT, Language.EN, Language.ES, Language.FR, Language.DE
VAGUE = CallbackAsk(vague=True)
ROME, NEW_YORK = "Europe/Rome", "America/New_York"


def ask(
    at: str | None = None,
    *,
    delay: int | None = None,
    day: int | None = None,
    weekday: int | None = None,
) -> CallbackAsk:
    clock = time.fromisoformat(at) if at else None
    return CallbackAsk(delay_minutes=delay, day_offset=day, weekday=weekday, at=clock)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mi richiami domani alle 18", ask("18:00", day=1)),
        ("richiamami più tardi", VAGUE),
        ("Può richiamare?", VAGUE),
        ("chiamami più tardi", VAGUE),
        ("non ora", VAGUE),
        ("Adesso non posso.", VAGUE),
        ("sono occupato, richiamate", VAGUE),
        ("mi richiami stasera", ask("19:00", day=0)),
        ("richiamami domattina", ask("10:00", day=1)),
        ("mi richiami domani pomeriggio", ask("15:00", day=1)),
        ("non ora, tra mezz'ora", ask(delay=30)),
        ("richiamami fra un'ora", ask(delay=60)),
        ("tra 20 minuti", ask(delay=20)),
        ("mi richiami tra due ore", ask(delay=120)),
        ("tra un'ora e mezza", ask(delay=90)),
        ("alle 6, mi richiami", ask("18:00")),  # a bare 1-7 is in the afternoon
        ("mi richiami domattina alle 6", ask("06:00", day=1)),  # said in the morning
        ("richiamami alle 18 e 30", ask("18:30")),
        ("mi richiami alle sei e mezza", ask("18:30")),
        ("richiamami alle 18:30", ask("18:30")),
        ("richiamami alle 6.30", ask("18:30")),
        ("richiamami alle 9", ask("09:00")),
        ("mi richiami lunedì", ask(weekday=0)),
        ("richiamatemi venerdì prossimo alle 17", ask("17:00", weekday=4)),
        ("mi richiami dopodomani a mezzogiorno", ask("12:00", day=2)),
        ("chiamami stasera alle 8", ask("20:00", day=0)),
        ("richiamami alle 7 meno un quarto", ask("18:45")),
        ("richiamami tra due giorni alle 10", ask("10:00", day=2)),
        ("richiamami tra tre settimane", ask(day=21)),
        ("mi richiami la settimana prossima", ask(day=7)),
        ("richiamami all'una", ask("13:00")),
        ("domani, anzi dopodomani, mi richiami", ask(day=2)),  # the correction wins
        ("sì", None),
        ("8", None),
        ("18", None),
        ("domani no", None),
        ("domani", None),
        ("alle 18", None),
        ("sono occupato", None),
        ("non mi interessa", None),
        ("non chiamatemi più", None),
        ("non mi richiami più", None),
        ("sette o otto", None),
        ("ricevo troppe chiamate la sera", None),  # talks of calls, asks for none
        ("devo chiamare il medico domani", None),
    ],
)
def test_italian_callbacks(text: str, expected: CallbackAsk | None) -> None:
    assert hear_callback(text, IT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me back", VAGUE),
        ("call back later", VAGUE),
        ("Not now.", VAGUE),
        ("can you call me later?", VAGUE),
        ("I'm busy, call me tomorrow", ask(day=1)),
        ("call me back tomorrow at 6 pm", ask("18:00", day=1)),
        ("not now, in an hour", ask(delay=60)),
        ("in half an hour", ask(delay=30)),
        ("in 15 minutes please", ask(delay=15)),
        ("call me back at six", ask("18:00")),
        ("call me back at half past six", ask("18:30")),
        ("call me at quarter to seven tonight", ask("18:45", day=0)),
        ("call me back at 6 am", ask("06:00")),
        ("call me back at 9", ask("09:00")),
        ("call me back at 8 in the evening", ask("20:00")),
        ("call me tomorrow morning", ask("10:00", day=1)),
        ("call me back tonight", ask("19:00", day=0)),
        ("call back on Friday", ask(weekday=4)),
        ("call me next Monday at 10:30", ask("10:30", weekday=0)),
        ("call me back the day after tomorrow at noon", ask("12:00", day=2)),
        ("call me back in the afternoon", ask("15:00")),
        ("I am busy, call me at 6 o'clock", ask("18:00")),  # "I am" is no "a.m."
        ("call me in a couple of hours", ask(delay=120)),
        ("call me back in an hour and a half", ask(delay=90)),
        ("call me back in two days", ask(day=2)),
        ("call me back at 7:15 p.m.", ask("19:15")),
        ("yes", None),
        ("8", None),
        ("tomorrow", None),
        ("at 6", None),
        ("I'm busy", None),
        ("not interested", None),
        ("don't call me again", None),
        ("don't call back", None),
        ("eight out of ten", None),
        ("I call my mother in the morning", None),
        ("call me back at 12 am", ask("00:00")),
        ("call me back at 12 pm", ask("12:00")),
    ],
)
def test_english_callbacks(text: str, expected: CallbackAsk | None) -> None:
    assert hear_callback(text, EN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Llámeme más tarde", VAGUE),
        ("vuelva a llamar", VAGUE),
        ("ahora no puedo", VAGUE),
        ("ahora no", VAGUE),
        ("llámeme mañana", ask(day=1)),
        ("vuelva a llamar mañana a las seis", ask("18:00", day=1)),
        ("llámeme a las seis y media", ask("18:30")),
        ("vuelva a llamar a las 18:30", ask("18:30")),
        ("llámeme en una hora", ask(delay=60)),
        ("en media hora", ask(delay=30)),
        ("dentro de 20 minutos", ask(delay=20)),
        ("vuelva a llamar en dos horas", ask(delay=120)),
        ("llámeme esta noche", ask("19:00", day=0)),
        ("llámeme mañana por la mañana", ask("10:00", day=1)),
        ("llámeme por la tarde", ask("15:00")),
        ("llámeme el martes", ask(weekday=1)),
        ("vuelva a llamar el viernes a las diez", ask("10:00", weekday=4)),
        ("llámeme pasado mañana a mediodía", ask("12:00", day=2)),
        ("ahora no, llámeme a las ocho de la tarde", ask("20:00")),
        ("llámeme a la una", ask("13:00")),
        ("vuelva a llamar a las siete menos cuarto", ask("18:45")),
        ("vuelva a llamar la semana que viene", ask(day=7)),
        ("estoy ocupado, llámeme en una hora y media", ask(delay=90)),
        ("llámeme a las 9 de la mañana", ask("09:00")),
        ("llámeme mañana a las 6 de la mañana", ask("06:00", day=1)),
        ("sí", None),
        ("8", None),
        ("mañana", None),
        ("a las seis", None),
        ("desde luego", None),  # a yes, though "luego" is "later"
        ("no me interesa", None),
        ("no me llame más", None),
        ("no vuelva a llamar", None),
        ("treinta y dos", None),
        ("tengo que llamar al médico mañana", None),
    ],
)
def test_spanish_callbacks(text: str, expected: CallbackAsk | None) -> None:
    assert hear_callback(text, ES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rappelez-moi", VAGUE),
        ("pas maintenant", VAGUE),
        ("rappelez plus tard", VAGUE),
        ("rappelez-moi demain", ask(day=1)),
        ("rappelez-moi demain à 18 heures", ask("18:00", day=1)),
        ("rappelez-moi à 18h30", ask("18:30")),
        ("rappelez-moi à 18h", ask("18:00")),
        ("rappelez-moi à six heures et demie", ask("18:30")),
        ("rappelez-moi à midi", ask("12:00")),
        ("rappelez-moi dans une heure", ask(delay=60)),
        ("dans 30 minutes", ask(delay=30)),
        ("rappelez-moi dans une demi-heure", ask(delay=30)),
        ("rappelez-moi dans un quart d'heure", ask(delay=15)),
        ("rappelez-moi ce soir", ask("19:00", day=0)),
        ("rappelez-moi demain matin", ask("10:00", day=1)),
        ("rappelez-moi cet après-midi", ask("15:00", day=0)),  # not "midi"
        ("rappelez-moi après-demain", ask(day=2)),
        ("rappelez-moi lundi prochain", ask(weekday=0)),
        ("rappelez-moi jeudi à 10 heures", ask("10:00", weekday=3)),
        ("pas maintenant, rappelez-moi à 8 heures du soir", ask("20:00")),
        ("rappelez-moi la semaine prochaine", ask(day=7)),
        ("je suis occupé, appelez-moi demain à 9h", ask("09:00", day=1)),
        ("rappelez-moi à sept heures moins le quart", ask("18:45")),
        ("rappelez-moi dans deux heures", ask(delay=120)),  # "dans", not "à": a delay
        ("rappelez-moi à une heure", ask("13:00")),
        ("oui", None),
        ("8", None),
        ("demain", None),
        ("à 18 heures", None),
        ("pas intéressé", None),
        ("ne me rappelez plus", None),
        ("ne rappelez pas", None),
        ("quatre-vingt-dix", None),
        ("c'est un bon service", None),
        ("je dois appeler ma mère demain", None),
    ],
)
def test_french_callbacks(text: str, expected: CallbackAsk | None) -> None:
    assert hear_callback(text, FR) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rufen Sie mich später an", VAGUE),
        ("nicht jetzt", VAGUE),
        ("rufen Sie morgen wieder an", ask(day=1)),
        ("rufen Sie mich morgen um 18 Uhr an", ask("18:00", day=1)),
        ("rufen Sie mich um halb sieben zurück", ask("18:30")),  # halb sieben = 6:30
        ("um 18:30 Uhr, bitte zurückrufen", ask("18:30")),
        ("rufen Sie mich um 18 Uhr 30 an", ask("18:30")),
        ("rufen Sie mich in einer Stunde an", ask(delay=60)),
        ("in zwanzig Minuten", ask(delay=20)),
        ("in einer halben Stunde", ask(delay=30)),
        ("rufen Sie in zwei Stunden wieder an", ask(delay=120)),
        ("rufen Sie mich heute Abend an", ask("19:00", day=0)),
        ("rufen Sie mich morgen früh an", ask("10:00", day=1)),
        ("rufen Sie mich morgen früh um halb sieben an", ask("06:30", day=1)),
        ("rufen Sie am Nachmittag an", ask("15:00")),
        ("rufen Sie mich übermorgen zurück", ask(day=2)),
        ("rufen Sie mich am Montag an", ask(weekday=0)),
        ("rufen Sie mich nächsten Freitag um 10 Uhr an", ask("10:00", weekday=4)),
        ("rufen Sie mich zu Mittag an", ask("12:00")),
        ("jetzt nicht, rufen Sie um acht Uhr abends an", ask("20:00")),
        ("Guten Morgen, rufen Sie mich später an", VAGUE),  # a greeting, not "tomorrow"
        ("rufen Sie mich um Viertel nach sechs an", ask("18:15")),
        ("ich bin beschäftigt, rufen Sie in anderthalb Stunden an", ask(delay=90)),
        ("rufen Sie mich nächste Woche an", ask(day=7)),
        ("rufen Sie mich heute Nachmittag um 4 an", ask("16:00", day=0)),
        ("rufen Sie mich in drei Tagen an", ask(day=3)),
        ("ja", None),
        ("8", None),
        ("morgen", None),
        ("um 18 Uhr", None),
        ("Guten Morgen", None),
        ("kein Interesse", None),
        ("rufen Sie mich nicht mehr an", None),
        ("rufen Sie mich nicht an", None),
        ("zweiunddreißig", None),
        ("ich muss morgen meine Mutter anrufen", None),
    ],
)
def test_german_callbacks(text: str, expected: CallbackAsk | None) -> None:
    assert hear_callback(text, DE) == expected


@pytest.mark.parametrize(
    ("text", "language", "other_words"),
    [
        ("scusi, adesso non posso: mi può richiamare domani alle 18, per favore?", IT, 0),
        ("in questo momento non posso, mi richiami lunedì prossimo", IT, 0),
        ("orari più tardi la sera", IT, 1),  # "orari"
        ("aprire più tardi il sabato", IT, 1),  # "aprire"
        ("sorry, I can't talk right now, could you call me back in the afternoon?", EN, 0),
        ("yes, call me back next Monday at 10:30 please", EN, 0),
        ("open later on Sundays", EN, 2),  # "open", "sundays": not a weekday said
        ("the agent should call back faster", EN, 3),
        ("perdone, en este momento no puedo, llámeme esta noche", ES, 0),
        ("lo siento, ahora no, llámeme el martes por la tarde", ES, 0),
        ("abrir más tarde los domingos", ES, 2),
        ("désolé, je ne peux pas, rappelez-moi ce soir s'il vous plaît", FR, 0),
        ("pouvez-vous me rappeler plutôt lundi prochain à 9h ?", FR, 0),
        ("ouvrir plus tard le dimanche", FR, 1),
        ("Entschuldigung, ich kann gerade nicht, rufen Sie mich bitte morgen früh an", DE, 0),
        ("Guten Morgen, rufen Sie mich vielleicht am Nachmittag wieder an", DE, 0),
        ("die Hotline sollte später geöffnet sein", DE, 4),
    ],
)
def test_a_reading_counts_the_words_about_something_else(
    text: str, language: Language, other_words: int
) -> None:
    reading = read_callback(text, language)

    assert reading.ask is not None
    assert reading.other_words == other_words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("non richiamatemi domani", IT),
        ("open later on Sundays", EN),
        ("no vuelva a llamar mañana", ES),
        ("rappelez-moi ce soir", FR),
        ("morgen um 18 Uhr", DE),
    ],
)
def test_a_reading_asks_what_hear_callback_hears(text: str, language: Language) -> None:
    assert read_callback(text, language).ask == hear_callback(text, language)


def test_an_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="xx-XX"):
        hear_callback("call me back", "xx-XX")


@pytest.mark.parametrize(
    "bad",
    [
        {"weekday": 7},
        {"weekday": -1},
        {"delay_minutes": -5},
        {"day_offset": -1},
    ],
)
def test_an_ask_cannot_name_an_impossible_day_or_the_past(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CallbackAsk(**bad)


# Wednesday 11 June 2025, 11:00 in Rome.
WEDNESDAY_11 = datetime.fromisoformat("2025-06-11T11:00:00+02:00")


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (ask("18:00"), "2025-06-11T18:00+02:00"),
        (ask("10:00"), "2025-06-12T10:00+02:00"),  # "alle 10" said at 11: tomorrow
        (ask("11:00"), "2025-06-12T11:00+02:00"),  # this very minute is gone too
        (ask("18:00", day=0), "2025-06-11T18:00+02:00"),
        (ask("09:00", day=0), "2025-06-12T09:00+02:00"),  # "oggi alle 9" at 11: tomorrow
        (ask("18:00", day=1), "2025-06-12T18:00+02:00"),
        (ask("06:30", day=2), "2025-06-13T06:30+02:00"),
        (ask(day=2), "2025-06-13T11:00+02:00"),  # a day alone keeps the hour of this call
        (ask(day=0), "2025-06-11T13:00+02:00"),  # "today" alone is "later"
        (ask("18:00", weekday=2), "2025-06-11T18:00+02:00"),  # Wednesday, still ahead
        (ask("10:00", weekday=2), "2025-06-18T10:00+02:00"),  # Wednesday, gone: next week
        (ask(weekday=2), "2025-06-11T13:00+02:00"),  # today's weekday alone is "later"
        (ask("10:00", weekday=4), "2025-06-13T10:00+02:00"),
        (ask(weekday=0), "2025-06-16T11:00+02:00"),
        (ask("10:00", weekday=1), "2025-06-17T10:00+02:00"),
        # A day said with the weekday wins; a time gone today rolls one day, not seven.
        (CallbackAsk(day_offset=0, weekday=2, at=time(9)), "2025-06-12T09:00+02:00"),
        (CallbackAsk(day_offset=1, weekday=4, at=time(9)), "2025-06-12T09:00+02:00"),
        (VAGUE, "2025-06-11T13:00+02:00"),
        (ask(delay=30), "2025-06-11T11:30+02:00"),
        (ask(delay=0), "2025-06-11T11:00+02:00"),
        (ask(day=21), "2025-06-25T11:00+02:00"),  # held to MAX_DAYS_AHEAD
        (ask("18:00", day=30), "2025-06-25T18:00+02:00"),
        (ask(delay=60 * 24 * 30), "2025-06-25T11:00+02:00"),
    ],
)
def test_appointments_in_rome(asked: CallbackAsk, expected: str) -> None:
    at = appointment_time(asked, now=WEDNESDAY_11, zone=ROME)

    assert at == datetime.fromisoformat(expected)


@pytest.mark.parametrize(
    ("now", "zone", "asked", "expected"),
    [
        # The database clock in UTC: the day and the hour are the contact's.
        ("2025-06-11T09:00+00:00", ROME, ask("10:00"), "2025-06-12T10:00+02:00"),
        ("2025-06-11T09:00+00:00", NEW_YORK, ask("10:00"), "2025-06-11T10:00-04:00"),
        # 23:30 in New York is already Thursday in UTC; "at 6 pm" is Thursday's, not Friday's.
        ("2025-06-12T03:30+00:00", NEW_YORK, ask("18:00"), "2025-06-12T18:00-04:00"),
        ("2025-06-12T03:30+00:00", NEW_YORK, ask("18:00", day=1), "2025-06-12T18:00-04:00"),
        ("2025-06-12T03:30+00:00", NEW_YORK, ask(weekday=2), "2025-06-12T01:30-04:00"),
        ("2025-06-12T03:30+00:00", ROME, ask(weekday=3), "2025-06-12T07:30+02:00"),
        ("2025-01-15T12:00+00:00", "Asia/Kolkata", ask("19:00"), "2025-01-15T19:00+05:30"),
    ],
)
def test_appointments_read_in_the_contacts_zone(
    now: str, zone: str, asked: CallbackAsk, expected: str
) -> None:
    at = appointment_time(asked, now=datetime.fromisoformat(now), zone=zone)

    assert at == datetime.fromisoformat(expected)


@pytest.mark.parametrize(
    ("now", "zone", "asked", "expected"),
    [
        # Spring forward, Rome 30 March 2025: 02:00 becomes 03:00; 02:30 does not exist.
        ("2025-03-29T20:00+01:00", ROME, ask("02:30", day=1), "2025-03-30T03:00+02:00"),
        ("2025-03-30T01:00+01:00", ROME, ask("02:30"), "2025-03-30T03:00+02:00"),
        ("2025-03-29T02:30+01:00", ROME, ask(day=1), "2025-03-30T03:00+02:00"),
        ("2025-03-30T01:30+01:00", ROME, ask(delay=60), "2025-03-30T03:30+02:00"),
        ("2025-03-29T18:00+01:00", ROME, ask("18:00", day=1), "2025-03-30T18:00+02:00"),
        # Fall back, Rome 26 October 2025: 03:00 becomes 02:00; 02:30 happens twice.
        ("2025-10-25T20:00+02:00", ROME, ask("02:30", day=1), "2025-10-26T02:30+02:00"),
        ("2025-10-26T02:45+02:00", ROME, ask(delay=30), "2025-10-26T02:15+01:00"),
        # Spring forward, New York 9 March 2025: 02:30 does not exist.
        ("2025-03-08T20:00-05:00", NEW_YORK, ask("02:30", day=1), "2025-03-09T03:00-04:00"),
        ("2025-03-09T01:59-05:00", NEW_YORK, ask("02:30"), "2025-03-09T03:00-04:00"),
        # Fall back, New York 2 November 2025: 01:30 happens twice; the first is taken.
        ("2025-11-01T20:00-04:00", NEW_YORK, ask("01:30", day=1), "2025-11-02T01:30-04:00"),
        ("2025-11-02T00:30-04:00", NEW_YORK, VAGUE, "2025-11-02T01:30-05:00"),  # 2 real hours
        ("2025-11-01T19:00-04:00", NEW_YORK, ask(day=1), "2025-11-02T19:00-05:00"),
    ],
)
def test_appointments_on_dst_days(now: str, zone: str, asked: CallbackAsk, expected: str) -> None:
    at = appointment_time(asked, now=datetime.fromisoformat(now), zone=zone)

    assert at == datetime.fromisoformat(expected)


def test_the_vague_delay_is_the_callers_choice() -> None:
    at = appointment_time(VAGUE, now=WEDNESDAY_11, zone=ROME, vague_delay_minutes=45)

    assert at == datetime.fromisoformat("2025-06-11T11:45+02:00")


def test_an_appointment_is_given_in_utc() -> None:
    # A zone's repeated hour (fold=1) would compare unequal to the same instant elsewhere.
    now = datetime.fromisoformat("2025-11-02T00:30-04:00")

    at = appointment_time(VAGUE, now=now, zone=NEW_YORK)

    assert at.tzinfo is UTC
    assert at.astimezone(ZoneInfo(NEW_YORK)).fold == 1


def test_a_clock_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        appointment_time(VAGUE, now=datetime(2025, 6, 11, 11), zone=ROME)


def test_nothing_is_booked_further_than_the_cap() -> None:
    at = appointment_time(ask(delay=10**6), now=WEDNESDAY_11, zone=ROME)

    assert (at - WEDNESDAY_11).days == MAX_DAYS_AHEAD


@pytest.mark.parametrize(
    ("text", "language", "now", "zone", "expected"),
    [
        ("mi richiami alle 10", IT, "2025-06-11T11:00+02:00", ROME, "2025-06-12T10:00+02:00"),
        ("richiamami stasera", IT, "2025-06-11T11:00+02:00", ROME, "2025-06-11T19:00+02:00"),
        (
            "I'm busy, call me tomorrow at 6",
            EN,
            "2025-11-01T12:00-04:00",
            NEW_YORK,
            "2025-11-02T18:00-05:00",
        ),
        (
            "llámeme en una hora",
            ES,
            "2025-06-11T11:00+02:00",
            "Europe/Madrid",
            "2025-06-11T12:00+02:00",
        ),
        (
            "rappelez-moi lundi à 9h",
            FR,
            "2025-06-11T11:00+02:00",
            "Europe/Paris",
            "2025-06-16T09:00+02:00",
        ),
        ("nicht jetzt", DE, "2025-06-11T11:00+02:00", "Europe/Berlin", "2025-06-11T13:00+02:00"),
    ],
)
def test_heard_and_booked(
    text: str, language: Language, now: str, zone: str, expected: str
) -> None:
    heard = hear_callback(text, language)
    assert heard is not None

    at = appointment_time(heard, now=datetime.fromisoformat(now), zone=zone)

    assert at == datetime.fromisoformat(expected)
