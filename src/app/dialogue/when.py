"""When a respondent asks to be called back: "mi richiami domani alle 18", "not now, in an hour".

`hear_callback` reads the words (`read_callback` also tells how many of them were about something
else); `appointment_time` turns what was heard into an instant, read in the contact's time zone at
the database's `now`. Both are pure. Fitting the instant into the campaign's call window belongs
to the scheduler, not here.

A part of the day said without a clock time stands for a default time:

    10:00  morning    domattina, mattina; (tomorrow) morning; por la mañana; (demain) matin;
                      morgen früh, vormittags
    12:00  noon       mezzogiorno; noon, midday; mediodía; midi; Mittag
    15:00  afternoon  pomeriggio; afternoon; (esta) tarde; après-midi; Nachmittag
    19:00  evening    stasera, sera; tonight, evening; esta noche; ce soir; heute Abend, abends

Said with a clock time, a part of the day only tells morning from evening: "stasera alle 8" is
20:00. The last mention of each thing wins, as a correction would: "domani, anzi dopodomani".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from app.dialogue.lexicon import LEXICONS
from app.dialogue.numbers import find_numbers
from app.dialogue.survey import Language
from app.dialogue.text import Phrase, contains_any, tokens

# Further ahead than this, an ask ("in a month") is held to it: by then the campaign is likely
# over, and calling in two hours instead would ignore what was said.
MAX_DAYS_AHEAD = 14

MORNING, NOON, AFTERNOON, EVENING = time(10), time(12), time(15), time(19)
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class CallbackAsk:
    """A respondent's "call me later", as heard: a delay, or a day and/or a time of day."""

    delay_minutes: int | None = None  # "in an hour", "tra mezz'ora", "in 20 minuti"
    day_offset: int | None = None  # 0 today/tonight, 1 tomorrow/domani/domattina, 2 dopodomani
    weekday: int | None = None  # 0 = Monday ... "lunedì", "on Friday", "el martes"
    at: time | None = None  # "alle 18", "at 6 pm", "18:30", "stasera" -> a default evening time
    vague: bool = False  # "later", "più tardi", "another time": no time said

    def __post_init__(self) -> None:
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6, not {self.weekday}")
        if min(self.delay_minutes or 0, self.day_offset or 0) < 0:
            raise ValueError("a callback cannot be asked for in the past")


@dataclass(frozen=True)
class CallbackReading:
    """A whole reply read for "call me later": the ask, if any, and what else the reply says."""

    ask: CallbackAsk | None
    # Words that are neither about calling back (cues, days, parts of the day, times, delays) nor
    # politeness: "open" in "open later". A reply with none is about calling back as a whole.
    other_words: int


class _Cue(Enum):
    CALLBACK = "callback"  # asks for a later call on its own: "richiamami", "not now"
    CALL = "call"  # "chiamami", "I'm busy": a callback only together with a day or a time
    IGNORE = "ignore"  # "guten Morgen" greets; it is not "tomorrow"


@dataclass(frozen=True)
class _Day:
    offset: int


@dataclass(frozen=True)
class _Weekday:
    index: int


@dataclass(frozen=True)
class _Part:
    at: time
    offset: int | None = None  # "stasera" is this evening; "sera" any evening


_Word = _Cue | _Day | _Weekday | _Part


@dataclass(frozen=True)
class _Vocab:
    """How one language says when: the words, and the pieces clock times and delays are made of."""

    words: dict[Phrase, _Word]
    not_callback: tuple[Phrase, ...]  # opt-outs the shared lexicon does not list
    clock_anchors: tuple[Phrase, ...]  # "alle", "at", "a las": a number after is an hour
    noon: tuple[Phrase, ...]  # "mezzogiorno", "noon": a time of day on their own
    hours: dict[Phrase, int]  # hours the number reading misses: Italian "all'una"
    before_hour: dict[Phrase, int]  # minutes to add: "half past" +30, German "halb" -30
    after_hour: dict[Phrase, int]  # "e mezza" +30, "meno un quarto" -15
    connectors: tuple[Phrase, ...]  # "e", "y" between hour and minutes
    clock_units: tuple[Phrase, ...]  # "Uhr", "heures", "o'clock"
    meridiem: dict[Phrase, bool]  # True for pm; read right after the time only ("I am busy")
    delay_anchors: tuple[Phrase, ...]  # "tra", "in", "dans"
    delays: dict[Phrase, int]  # fixed amounts in minutes: "mezz'ora", "a couple of hours"
    units: dict[Phrase, int]  # minutes per unit: "ore" 60
    articles: tuple[Phrase, ...]  # "un", "an", "einer": one of the unit
    halves: tuple[Phrase, ...]  # "e mezza" after a unit: half a unit more
    # Beyond the shared lexicon's fillers and stopwords: the politeness, pronouns and small words
    # an ask is wrapped in ("scusi", "mi", "può"), which say nothing of their own. The words are
    # written naturally and compared one by one, tokenised ("s'il vous plaît" is four of them).
    polite: frozenset[str]


def _split(text: str) -> tuple[Phrase, ...]:
    return tuple(tokens(said) for said in text.split("|"))


def _tagged(*groups: tuple[_Word, str]) -> dict[Phrase, _Word]:
    return {phrase: tag for tag, text in groups for phrase in _split(text)}


def _valued(*groups: tuple[int, str]) -> dict[Phrase, int]:
    return {phrase: value for value, text in groups for phrase in _split(text)}


def _words(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def _weekdays(names: str) -> tuple[tuple[_Word, str], ...]:
    # Monday first; a day with two names ("Samstag|Sonnabend") keeps them together.
    return tuple((_Weekday(index), name) for index, name in enumerate(names.split()))


_ASK, _CALL, _IGNORE = _Cue.CALLBACK, _Cue.CALL, _Cue.IGNORE

_ITALIAN = _Vocab(
    words=_tagged(
        (_ASK, "richiamami|richiamatemi|richiamarmi|richiamate|richiami|richiamare"),
        (_ASK, "più tardi|non ora|non adesso|ora no|adesso no|ora non posso|adesso non posso"),
        (_ASK, "non posso parlare|non è il momento|un altro momento|un'altra volta"),
        (_ASK, "risentiamoci"),
        (_ASK, "tra un po'|fra un po'|tra poco|fra poco"),
        (_CALL, "chiamami|mi chiami|chiamatemi|mi chiamate|mi può chiamare|sentiamoci"),
        (_CALL, "occupato|occupata|non ho tempo"),
        (_Day(0), "oggi"),
        (_Day(1), "domani|un altro giorno"),
        (_Day(2), "dopodomani|dopo domani"),
        (_Day(7), "la settimana prossima|la prossima settimana"),
        *_weekdays("lunedì martedì mercoledì giovedì venerdì sabato domenica"),
        (_Part(MORNING, 0), "stamattina|stamani|questa mattina"),
        (_Part(MORNING, 1), "domattina"),
        (_Part(AFTERNOON, 0), "questo pomeriggio"),
        (_Part(EVENING, 0), "stasera|questa sera|stanotte"),
        (_Part(MORNING), "mattina|mattinata|mattino"),
        (_Part(AFTERNOON), "pomeriggio"),
        (_Part(EVENING), "sera|serata"),
    ),
    not_callback=_split("non mi richiami|non richiamare|non richiamarmi|non mi chiami"),
    clock_anchors=_split("alle|all'|alla|a|alle ore|verso le|verso|per le|dopo le|tra le|fra le"),
    noon=_split("mezzogiorno|mezzodì"),
    hours=_valued((1, "una")),
    before_hour={},
    after_hour=_valued((30, "e mezza|e mezzo"), (15, "e un quarto|e quarto"))
    | _valued((45, "e tre quarti"), (-15, "meno un quarto|meno quarto")),
    connectors=_split("e"),
    clock_units=_split("in punto"),
    meridiem={},
    delay_anchors=_split("tra|fra"),
    delays=_valued((30, "mezz'ora|mezzora"), (15, "un quarto d'ora"), (10, "qualche minuto"))
    | _valued((120, "un paio d'ore|un paio di ore|qualche ora")),
    units=_valued((1, "minuto|minuti"), (60, "ora|ore"), (_MINUTES_PER_DAY, "giorno|giorni"))
    | _valued((7 * _MINUTES_PER_DAY, "settimana|settimane")),
    articles=_split("un|una|uno"),
    halves=_split("e mezza|e mezzo"),
    polite=_words(
        "mi me ti ci si sì no non scusi scusa scusate dispiace ok okay va bene magari forse ora "
        "adesso può puoi potete potrebbe potreste posso pure meglio prossimo prossima dopo sono "
        "ma però anzi questo questa momento lei gentilmente cortesemente"
    ),
)

_ENGLISH = _Vocab(
    words=_tagged(
        (_ASK, "call me back|call back|call me again|call again|ring me back|get back to me"),
        (_ASK, "try again later|try me later|later|not now|not right now|another time"),
        (_ASK, "some other time|can't talk|cannot talk|bad time|not a good time"),
        (_ASK, "in a bit|in a while|in a little while"),
        (_CALL, "call me|ring me|give me a call|busy|i'm busy|i am busy"),
        (_Day(0), "today"),
        (_Day(1), "tomorrow|another day"),
        (_Day(2), "the day after tomorrow|day after tomorrow"),
        (_Day(7), "next week"),
        *_weekdays("monday tuesday wednesday thursday friday saturday sunday"),
        (_Part(MORNING, 0), "this morning"),
        (_Part(AFTERNOON, 0), "this afternoon"),
        (_Part(EVENING, 0), "tonight|this evening"),
        (_Part(MORNING), "morning"),
        (_Part(AFTERNOON), "afternoon"),
        (_Part(EVENING), "evening|night"),
    ),
    not_callback=_split("don't call back|do not call back|dont call back|never call back"),
    clock_anchors=_split("at|around|about|by|after|between|at around|at about"),
    noon=_split("noon|midday|lunchtime|lunch time"),
    hours={},
    before_hour=_valued((30, "half past"), (15, "quarter past|a quarter past|quarter after"))
    | _valued((-15, "quarter to|a quarter to|quarter of")),
    after_hour={},
    connectors=(),
    clock_units=_split("o'clock|oclock"),
    meridiem={tokens(s): s.startswith("p") for s in ("pm", "p.m.", "am", "a.m.")},
    delay_anchors=_split("in|within"),
    delays=_valued((30, "half an hour|a half hour|half hour"), (10, "a few minutes|few minutes"))
    | _valued((15, "a quarter of an hour|quarter of an hour|quarter hour|a quarter hour"))
    | _valued((120, "a couple of hours|a couple hours|couple of hours"), (180, "a few hours")),
    units=_valued((1, "minute|minutes|min|mins"), (60, "hour|hours"))
    | _valued((_MINUTES_PER_DAY, "day|days"), (7 * _MINUTES_PER_DAY, "week|weeks")),
    articles=_split("a|an|one"),
    halves=_split("and a half"),
    polite=_words(
        "me sorry excuse yes yeah no ok okay hey hi can could would will you maybe perhaps now "
        "right i'm it's that's you'd we'll it is this that next again then like kindly if "
        "possible actually rather"
    ),
)

_SPANISH = _Vocab(
    words=_tagged(
        (_ASK, "vuelva a llamar|vuelve a llamar|vuelvan a llamar|vuelva a llamarme"),
        (_ASK, "vuelve a llamarme|me vuelve a llamar|devuélvame la llamada|más tarde"),
        (_ASK, "ahora no|ahora no puedo|no puedo ahora|no puedo hablar|en otro momento"),
        (_ASK, "otro momento|no es buen momento|no es un buen momento|en un rato"),
        # Not "luego" alone: "desde luego" is a yes.
        (_ASK, "dentro de un rato|llámeme luego|llame luego|llámeme después|llame después"),
        (_CALL, "llámeme|llámame|llámenme|llame|llamen|ocupado|ocupada|no tengo tiempo"),
        (_Day(0), "hoy"),
        (_Day(1), "mañana|otro día"),
        (_Day(2), "pasado mañana"),
        (_Day(7), "la semana que viene|la próxima semana|la semana próxima"),
        *_weekdays("lunes martes miércoles jueves viernes sábado domingo"),
        (_Part(MORNING, 0), "esta mañana"),
        (_Part(AFTERNOON, 0), "esta tarde"),
        (_Part(EVENING, 0), "esta noche"),
        (_Part(MORNING), "por la mañana|de la mañana|en la mañana"),
        (_Part(AFTERNOON), "por la tarde|de la tarde|en la tarde|tarde"),
        (_Part(EVENING), "por la noche|de la noche|en la noche|noche"),
    ),
    not_callback=_split("no vuelva a llamar|no vuelvan a llamar|no vuelvas a llamar"),
    clock_anchors=_split("a las|a la|sobre las|hacia las|después de las|entre las|a eso de las"),
    noon=_split("mediodía"),
    hours=_valued((1, "una")),
    before_hour={},
    after_hour=_valued((30, "y media"), (15, "y cuarto"), (-15, "menos cuarto|menos un cuarto")),
    connectors=_split("y"),
    clock_units=_split("en punto|horas|h"),
    meridiem={},
    delay_anchors=_split("en|dentro de"),
    delays=_valued((30, "media hora"), (15, "un cuarto de hora"), (10, "unos minutos"))
    | _valued((120, "un par de horas")),
    units=_valued((1, "minuto|minutos"), (60, "hora|horas"), (_MINUTES_PER_DAY, "día|días"))
    | _valued((7 * _MINUTES_PER_DAY, "semana|semanas")),
    articles=_split("un|una|uno"),
    halves=_split("y media"),
    polite=_words(
        "me le te usted sí si no perdón perdone disculpe disculpa lo siento vale bueno ok ahora "
        "puede podría puedes podrías puedo mejor próximo próxima este esta momento estoy que"
    ),
)

_FRENCH = _Vocab(
    words=_tagged(
        (_ASK, "rappelez-moi|rappelle-moi|rappelez|rappeler|me rappeler|plus tard"),
        (_ASK, "pas maintenant|pas tout de suite|un autre moment|une autre fois"),
        (_ASK, "peux pas parler|pas le moment|dans un moment|tout à l'heure"),
        (_CALL, "appelez-moi|appelle-moi|appelez|m'appeler|occupé|occupée|pas le temps"),
        (_Day(0), "aujourd'hui"),
        (_Day(1), "demain|un autre jour"),
        (_Day(2), "après-demain"),
        (_Day(7), "la semaine prochaine"),
        *_weekdays("lundi mardi mercredi jeudi vendredi samedi dimanche"),
        (_Part(MORNING, 0), "ce matin"),
        (_Part(AFTERNOON, 0), "cet après-midi"),
        (_Part(EVENING, 0), "ce soir"),
        (_Part(MORNING), "matin|matinée"),
        (_Part(AFTERNOON), "après-midi"),
        (_Part(EVENING), "soir|soirée"),
    ),
    not_callback=_split("ne rappelez pas|ne rappelez plus|rappelez pas|rappelez jamais"),
    # Not "après": "après-midi" and "après-demain" start with it.
    clock_anchors=_split("à|a|vers|pour|entre|dès"),
    noon=_split("midi"),
    hours=_valued((1, "une")),
    before_hour={},
    after_hour=_valued((30, "et demie|et demi"), (15, "et quart"), (-15, "moins le quart")),
    connectors=(),
    clock_units=_split("heures|heure|h"),
    meridiem={},
    delay_anchors=_split("dans|d'ici"),
    delays=_valued((30, "une demi-heure|demi-heure"), (15, "un quart d'heure"))
    | _valued((10, "quelques minutes")),
    units=_valued((1, "minute|minutes"), (60, "heure|heures"), (_MINUTES_PER_DAY, "jour|jours"))
    | _valued((7 * _MINUTES_PER_DAY, "semaine|semaines")),
    articles=_split("un|une"),
    halves=_split("et demie|et demi"),
    polite=_words(
        "me moi vous tu te pardon désolé désolée excusez-moi excuse-moi oui non ok d'accord "
        "maintenant pouvez pourriez peux peut-être ne pas plutôt prochain prochaine svp suis "
        "c'est est-ce que ce moment"
    ),
)

_GERMAN = _Vocab(
    words=_tagged(
        (_ASK, "zurückrufen|zurück|rückruf|wieder an|wieder anrufen|nochmal an|noch mal an"),
        (_ASK, "später|nicht jetzt|jetzt nicht|gerade nicht|im moment nicht|momentan nicht"),
        (_ASK, "ein andermal|ein anderes mal|zu einem anderen zeitpunkt|passt gerade nicht"),
        (_ASK, "passt jetzt nicht|in einer weile"),
        (_CALL, "rufen sie|ruf mich|mich anrufen|melden sie sich|beschäftigt|keine zeit"),
        (_Day(0), "heute"),
        (_Day(1), "morgen|an einem anderen tag"),
        (_Day(2), "übermorgen"),
        (_Day(7), "nächste woche|nächsten woche|kommende woche"),
        *_weekdays("montag dienstag mittwoch donnerstag freitag samstag|sonnabend sonntag"),
        (_Part(MORNING, 0), "heute morgen|heute früh|heute vormittag"),
        (_Part(MORNING, 1), "morgen früh|morgen vormittag|morgen morgen"),
        (_Part(AFTERNOON, 0), "heute nachmittag"),
        (_Part(EVENING, 0), "heute abend"),
        (_Part(MORNING), "vormittag|vormittags|morgens|am morgen|früh"),
        (_Part(AFTERNOON), "nachmittag|nachmittags"),
        (_Part(EVENING), "abend|abends"),
        (_IGNORE, "guten morgen|guten tag|guten abend"),
    ),
    not_callback=_split("nicht zurück|nicht zurückrufen|mich nicht an|nicht anrufen"),
    clock_anchors=_split("um|gegen|ab|zwischen|so um|so gegen"),
    noon=_split("mittag|mittags"),
    hours=_valued((1, "ein")),
    before_hour=_valued((-30, "halb"), (15, "viertel nach"), (-15, "viertel vor|dreiviertel")),
    after_hour={},
    connectors=(),
    clock_units=_split("uhr"),
    meridiem={},
    delay_anchors=_split("in"),
    delays=_valued((30, "einer halben stunde|einer halbe stunde|einer halbstunde"))
    | _valued((15, "einer viertelstunde|viertelstunde"), (10, "ein paar minuten|paar minuten"))
    | _valued((90, "anderthalb stunden|eineinhalb stunden"), (120, "ein paar stunden")),
    units=_valued((1, "minute|minuten"), (60, "stunde|stunden"))
    | _valued((_MINUTES_PER_DAY, "tag|tage|tagen"), (7 * _MINUTES_PER_DAY, "woche|wochen")),
    articles=_split("ein|eine|einer|einem|einen"),
    halves=(),
    polite=_words(
        "mich mir sie du dich es entschuldigung entschuldigen sorry tut leid ja nein ok jetzt "
        "kann können könnten kannst bin doch mal noch vielleicht lieber gerne gern dann nächsten "
        "nächste nächstes gerade nicht moment so zu wieder"
    ),
)

_VOCABS = {
    Language.IT: _ITALIAN,
    Language.EN: _ENGLISH,
    Language.ES: _SPANISH,
    Language.FR: _FRENCH,
    Language.DE: _GERMAN,
}


# Words that say nothing about what a reply asks: the vocabulary's politeness, and the shared
# lexicon's fillers ("ehm", "per favore") and stopwords ("la", "on", "a las").
_SPARE = {
    language: vocab.polite | LEXICONS[language].fillers | LEXICONS[language].stopwords
    for language, vocab in _VOCABS.items()
}


# "18:30", "18h30" and "6.30" become one "18.30" token; tokens() alone would split the first two.
_DIGITAL_CLOCK = re.compile(r"\b(\d{1,2}) ?[:h.] ?(\d{2})\b", re.IGNORECASE)
_CLOCK_TOKEN = re.compile(r"(\d{1,2})\.(\d{2})")
_NUMBER_SPAN = 5  # words enough for the longest number word: "quatre vingt dix neuf"


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int = 0
    pm: bool | None = None  # "pm"/"am" said right after the time; None when not said

    def resolve(self, part: _Part | None) -> time:
        pm = self.pm if self.pm is not None or part is None else part.at.hour >= 12
        hour = self.hour
        if pm and hour < 12:
            hour += 12
        elif self.pm is False and hour == 12:
            hour = 0  # "12 am"
        elif pm is None and 1 <= hour <= 7:
            # Nobody wants a survey call at 6 in the morning: a bare 1-7 is in the afternoon.
            hour += 12
        return time(hour % 24, self.minute)


@dataclass
class _Heard:
    """What a reply says about calling back, gathered word by word."""

    asks: bool = False  # a word that asks for a later call on its own
    calls: bool = False  # "chiamami", "busy": asks only together with a day or a time
    delay: int | None = None
    day: int | None = None
    weekday: int | None = None
    clock: _Clock | None = None
    part: _Part | None = None
    other_words: int = 0  # see CallbackReading

    def says_when(self) -> bool:
        when = (self.delay, self.day, self.weekday, self.clock, self.part)
        return any(said is not None for said in when)

    def ask(self) -> CallbackAsk:
        day = self.day if self.day is not None or self.part is None else self.part.offset
        at = self.clock.resolve(self.part) if self.clock else self.part.at if self.part else None
        vague = self.delay is None and day is None and self.weekday is None and at is None
        return CallbackAsk(self.delay, day, self.weekday, at, vague)


def hear_callback(text: str, language: str) -> CallbackAsk | None:
    """Read whether `text` asks to be called back later, and when; None if it does not."""
    return read_callback(text, language).ask


def read_callback(text: str, language: str) -> CallbackReading:
    """Read `text` as `hear_callback` does, and count the words it says about anything else."""
    lang = Language(language)
    words = tokens(_DIGITAL_CLOCK.sub(r"\1.\2", text))
    heard = _Heard()
    index = 0
    while index < len(words):
        index = _read_at(words, index, lang, heard)
    # A delay ("tra mezz'ora") only ever defers; a bare "domani" or "18" may answer a question.
    asked = heard.asks or heard.delay is not None or (heard.calls and heard.says_when())
    ask = heard.ask() if asked and not _refuses(words, lang) else None
    return CallbackReading(ask, heard.other_words)


def _refuses(words: Phrase, language: Language) -> bool:
    # "Non richiamatemi domani" names a day, yet asks never to be called: that reading wins.
    not_again = (*LEXICONS[language].opt_out, *_VOCABS[language].not_callback)
    return contains_any(words, not_again)


def _read_at(words: Phrase, index: int, language: Language, heard: _Heard) -> int:
    """Note in `heard` what starts at `words[index]`; return the index just past it."""
    vocab = _VOCABS[language]
    anchor = _match(words, index, vocab.delay_anchors)
    delay = _delay(words, index + len(anchor), language) if anchor else None
    if delay is not None:
        _note_delay(heard, delay[0])
        return delay[1]
    anchor = _match(words, index, vocab.clock_anchors)
    clock = _clock(words, index + len(anchor), language, anchored=True) if anchor else None
    clock = clock or _clock(words, index, language, anchored=False)
    if clock is not None:
        heard.clock = clock[0]
        return clock[1]
    phrase = _match(words, index, vocab.words)
    if phrase is None:
        if words[index] not in _SPARE[language]:
            heard.other_words += 1
        return index + 1
    _note(heard, vocab.words[phrase])
    return index + len(phrase)


def _match(words: Phrase, index: int, candidates: Iterable[Phrase]) -> Phrase | None:
    """The longest of `candidates` that starts at `words[index]`, if any."""
    found = [c for c in candidates if words[index : index + len(c)] == c]
    return max(found, key=len, default=None)


def _note(heard: _Heard, word: _Word) -> None:
    if isinstance(word, _Day):
        heard.day = word.offset
    elif isinstance(word, _Weekday):
        heard.weekday = word.index
    elif isinstance(word, _Part):
        heard.part = word
    elif word is _Cue.CALLBACK:
        heard.asks = True
    elif word is _Cue.CALL:
        heard.calls = True


def _note_delay(heard: _Heard, minutes: int) -> None:
    if minutes >= _MINUTES_PER_DAY and minutes % _MINUTES_PER_DAY == 0:
        heard.day = minutes // _MINUTES_PER_DAY  # a day, so "tra due giorni alle 18" keeps 18
    else:
        heard.delay = minutes


def _delay(words: Phrase, index: int, language: Language) -> tuple[int, int] | None:
    """The minutes of "mezz'ora", "due ore", "an hour and a half" at `index`, and its end."""
    vocab = _VOCABS[language]
    fixed = _match(words, index, vocab.delays)
    if fixed is not None:
        return vocab.delays[fixed], index + len(fixed)
    amount = _number_at(words, index, language) or _one(words, index, vocab.articles)
    unit = _match(words, amount[1], vocab.units) if amount else None
    if amount is None or unit is None:
        return None
    per_unit, end = vocab.units[unit], amount[1] + len(unit)
    half = _match(words, end, vocab.halves)
    extra = per_unit // 2 if half else 0
    return round(amount[0] * per_unit) + extra, end + len(half or ())


def _one(words: Phrase, index: int, articles: tuple[Phrase, ...]) -> tuple[int, int] | None:
    article = _match(words, index, articles)
    return (1, index + len(article)) if article else None


def _number_at(words: Phrase, index: int, language: Language) -> tuple[float, int] | None:
    """The number said from `words[index]` on ("treinta y dos"), and the index past it."""
    if index >= len(words) or not find_numbers(words[index], language):
        return None
    window = words[index : index + _NUMBER_SPAN]
    for size in range(len(window), 0, -1):
        found = find_numbers(" ".join(window[:size]), language)
        # The span is right when its last word still changes the number: not "sei e".
        if len(found) == 1 and found != find_numbers(" ".join(window[: size - 1]), language):
            return found[0], index + size
    return None


def _clock(
    words: Phrase, index: int, language: Language, *, anchored: bool
) -> tuple[_Clock, int] | None:
    """The time of day said at `index` ("18.30", "sei e mezza", "half past six") and its end.

    Without "alle"/"at" before it, a number is an hour only with a clock word after it ("18
    Uhr", "6 pm") or in a form no other number takes ("18.30", "halb sieben", "noon").
    """
    start = _hour(words, index, language)
    if start is None:
        return None
    hour, minute, end, clear = start
    vocab = _VOCABS[language]
    unit = _match(words, end, vocab.clock_units)
    end += len(unit or ())
    minutes = _minutes(words, end, language) if minute == 0 else None
    if minutes is not None:
        minute, end = minute + minutes[0], minutes[1]
        end += len(_match(words, end, vocab.clock_units) or ())
    meridiem = _match(words, end, vocab.meridiem)
    if not (anchored or clear or unit or meridiem):
        return None
    total = hour * 60 + minute
    if not 0 <= total <= 24 * 60 or hour > 24:
        return None
    pm = vocab.meridiem[meridiem] if meridiem else None
    return _Clock(total // 60 % 24, total % 60, pm), end + len(meridiem or ())


def _hour(words: Phrase, index: int, language: Language) -> tuple[int, int, int, bool] | None:
    """Hour, minutes, end and whether it is plainly a time, for what starts a time of day."""
    vocab = _VOCABS[language]
    digital = _CLOCK_TOKEN.fullmatch(words[index]) if index < len(words) else None
    if digital:
        hour, minute = int(digital[1]), int(digital[2])
        return (hour, minute, index + 1, True) if minute < 60 else None
    if noon := _match(words, index, vocab.noon):
        return NOON.hour, 0, index + len(noon), True
    before = _match(words, index, vocab.before_hour)
    offset = vocab.before_hour[before] if before else 0
    at = index + len(before or ())
    named = _match(words, at, vocab.hours)
    number = (vocab.hours[named], at + len(named)) if named else _number_at(words, at, language)
    if number is None or number[0] != int(number[0]) or not 0 <= number[0] <= 24:
        return None
    # "halb sieben" is half an hour before seven: the minutes go below the hour.
    total = int(number[0]) * 60 + offset
    return total // 60, total % 60, number[1], before is not None


def _minutes(words: Phrase, index: int, language: Language) -> tuple[int, int] | None:
    """Minutes said after the hour ("e mezza", "y diez", "trente", "meno un quarto")."""
    vocab = _VOCABS[language]
    after = _match(words, index, vocab.after_hour)
    if after is not None:
        return vocab.after_hour[after], index + len(after)
    connector = _match(words, index, vocab.connectors)
    number = _number_at(words, index + len(connector or ()), language)
    if number is None or number[0] != int(number[0]) or not 0 <= number[0] < 60:
        return None
    return int(number[0]), number[1]


def appointment_time(
    ask: CallbackAsk, *, now: datetime, zone: str, vague_delay_minutes: int = 120
) -> datetime:
    """Return the UTC instant `ask` names in time zone `zone`, heard at `now`; never past."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (the database's now())")
    tz = ZoneInfo(zone)
    if ask.delay_minutes is not None:
        return _after(now, ask.delay_minutes)
    local = now.astimezone(tz)
    day = _asked_day(ask, local.date())
    if ask.vague or day is None or (ask.at is None and day == local.date()):
        # "Today", with no time said, is as good as "later".
        return _after(now, vague_delay_minutes)
    # A day without a time keeps the time of this call: the respondent answered at this hour.
    wall = (ask.at or local.time()).replace(second=0, microsecond=0, tzinfo=None)
    asked = _wall_instant(day, wall, tz)
    if asked <= now:
        # A time already gone: tomorrow, or the same weekday next week.
        by_weekday = ask.day_offset is None and ask.weekday is not None
        asked = _wall_instant(day + timedelta(days=7 if by_weekday else 1), wall, tz)
    # In UTC: a zone's repeated hour (fold=1) never compares equal to another zone's datetime.
    return asked.astimezone(UTC)


def _asked_day(ask: CallbackAsk, today: date) -> date | None:
    if ask.day_offset is not None:
        return today + timedelta(days=min(ask.day_offset, MAX_DAYS_AHEAD))
    if ask.weekday is not None:
        return today + timedelta(days=(ask.weekday - today.weekday()) % 7)
    return today if ask.at is not None else None


def _after(now: datetime, minutes: int) -> datetime:
    # Adding to an aware datetime moves its wall clock; across a DST change only UTC adds up.
    minutes = min(max(minutes, 0), MAX_DAYS_AHEAD * _MINUTES_PER_DAY)
    return now.astimezone(UTC) + timedelta(minutes=minutes)


def _wall_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The instant the clocks in `tz` show `wall` on `day`.

    An ambiguous wall time (clocks set back) is its first occurrence (fold=0); one that does not
    exist (clocks set forward) becomes the first instant after the gap.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first
    return _gap_end(naive, tz)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    # In a gap fold=0 reads the wall time with the offset before the change, fold=1 with the
    # one after: the change lies between the two instants. Bisect it to the minute.
    early = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    after = late.astimezone(tz).utcoffset()
    low, high = 0, int((late - early) / timedelta(minutes=1))
    while high - low > 1:
        middle = (low + high) // 2
        if (early + timedelta(minutes=middle)).astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return (early + timedelta(minutes=high)).astimezone(tz)
