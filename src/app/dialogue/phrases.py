"""What the agent itself says, beyond the survey's own script, in each language."""

from __future__ import annotations

from dataclasses import dataclass

from app.dialogue.survey import Language


@dataclass(frozen=True)
class Phrases:
    thanks: str
    repeating: str
    no_input: str
    not_understood: str
    skipped: str
    moving_on: str
    opt_out_goodbye: str
    no_consent_goodbye: str
    hint_yes_no: str
    hint_range: str  # {low} {high}
    hint_at_least: str  # {low}
    hint_at_most: str  # {high}
    hint_number: str
    hint_choice: str  # {options}
    hint_choice_keys: str  # {count}
    hint_free_text: str
    options: str  # {options}; appended to a choice question that does not list them
    or_word: str
    yes_no_words: tuple[str, ...]


PHRASES = {
    Language.IT: Phrases(
        thanks="Grazie.",
        repeating="Certo, ripeto.",
        no_input="Non ho sentito la sua risposta.",
        not_understood="Mi scusi, non ho capito.",
        skipped="Nessun problema.",
        moving_on="Passiamo alla prossima domanda.",
        opt_out_goodbye=(
            "Ho preso nota: non la chiameremo più. Ci scusi per il disturbo. Arrivederci."
        ),
        no_consent_goodbye="La ringraziamo comunque per l'attenzione. Arrivederci.",
        hint_yes_no="Risponda sì o no, oppure prema 1 per sì e 2 per no.",
        hint_range="Risponda con un numero da {low} a {high}.",
        hint_at_least="Risponda con un numero, almeno {low}.",
        hint_at_most="Risponda con un numero, al massimo {high}.",
        hint_number="Risponda con un numero.",
        hint_choice="Risponda con una di queste opzioni: {options}.",
        hint_choice_keys="Oppure prema un tasto da 1 a {count}.",
        hint_free_text="Mi dica pure la sua risposta, con parole sue.",
        options="Le opzioni sono: {options}.",
        or_word="o",
        yes_no_words=("sì", "no"),
    ),
    Language.EN: Phrases(
        thanks="Thank you.",
        repeating="Sure, I'll repeat.",
        no_input="I didn't hear your answer.",
        not_understood="Sorry, I didn't understand.",
        skipped="No problem.",
        moving_on="Let's move on to the next question.",
        opt_out_goodbye=(
            "Understood: we will not call you again. Sorry for the disturbance. Goodbye."
        ),
        no_consent_goodbye="Thank you for your time anyway. Goodbye.",
        hint_yes_no="Please answer yes or no, or press 1 for yes and 2 for no.",
        hint_range="Please answer with a number from {low} to {high}.",
        hint_at_least="Please answer with a number, at least {low}.",
        hint_at_most="Please answer with a number, at most {high}.",
        hint_number="Please answer with a number.",
        hint_choice="Please answer with one of these options: {options}.",
        hint_choice_keys="Or press a key from 1 to {count}.",
        hint_free_text="Please tell me your answer in your own words.",
        options="The options are: {options}.",
        or_word="or",
        yes_no_words=("yes", "no"),
    ),
}


def spoken_list(items: tuple[str, ...], language: Language) -> str:
    """Join items the way they are said: "a, b or c"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {PHRASES[language].or_word} {items[-1]}"
