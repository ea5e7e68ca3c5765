"""What the agent itself says, beyond the survey's own script, in each language."""

from __future__ import annotations

from dataclasses import dataclass

from app.dialogue.survey import Language
from app.dialogue.text import fold


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
    yes_no_words: tuple[str, ...]  # (yes, no): also how a yes/no answer is said back
    screened_out: str  # the goodbye of a screened-out respondent, when the script has none
    confirm: str  # {answer}: asked back when the recogniser was unsure
    confirm_again: str  # the answer was not what they meant: the question comes again
    callback_goodbye: str  # an appointment was made: we will call back
    # "Call me later" when the campaign's rules leave no attempt for it: no promise of a call.
    callback_impossible_goodbye: str
    resume_intro: str  # after the survey's intro, on a call we made to resume an interview
    resume_intro_inbound: str  # the same when the respondent called us (after inbound_thanks)
    resume_consent: str  # the brief consent question of that call
    inbound_thanks: str  # a contact who called the campaign's number back, before the intro
    inbound_who: str  # anyone else who calls the number: who called them and why (default)
    inbound_press_nine: str  # ... and how never to be called again
    inbound_listed: str  # they pressed 9: the number is on the do-not-call list


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
        screened_out="Grazie, per questa indagine cerchiamo altre persone. Arrivederci.",
        confirm="Ho capito {answer}, giusto?",
        confirm_again="D'accordo, le rifaccio la domanda.",
        callback_goodbye="Certo, la richiameremo. Grazie e arrivederci.",
        callback_impossible_goodbye=(
            "Capisco. Per questa indagine non potremo richiamarla; "
            "la ringraziamo per il suo tempo. Arrivederci."
        ),
        resume_intro="La richiamiamo per completare l'intervista che si era interrotta.",
        resume_intro_inbound="Possiamo completare ora l'intervista che si era interrotta.",
        resume_consent="Possiamo continuare da dove eravamo rimasti? Risponda sì o no.",
        inbound_thanks="Grazie per averci richiamato.",
        inbound_who=(
            "Buongiorno, questo numero è usato da un servizio automatico che svolge brevi "
            "sondaggi telefonici. Se l'abbiamo chiamata, era per un sondaggio."
        ),
        inbound_press_nine="Per non essere più chiamato, prema 9.",
        inbound_listed="Ho preso nota: non la chiameremo più. Arrivederci.",
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
        screened_out="Thank you. For this survey we are looking for other people. Goodbye.",
        confirm="I understood {answer}, is that right?",
        confirm_again="All right, let me ask again.",
        callback_goodbye="Of course, we will call you back. Thank you, goodbye.",
        callback_impossible_goodbye=(
            "We understand. We will not be able to call you again for this survey; "
            "thank you for your time. Goodbye."
        ),
        resume_intro="We are calling you back to finish the survey that was interrupted.",
        resume_intro_inbound="We can now finish the survey that was interrupted.",
        resume_consent="May we continue where we left off? Please say yes or no.",
        inbound_thanks="Thank you for calling us back.",
        inbound_who=(
            "Hello, this number is used by an automated service that runs short telephone "
            "surveys. If we called you, it was for a survey."
        ),
        inbound_press_nine="Never to be called again, press 9.",
        inbound_listed="Understood: we will not call you again. Goodbye.",
    ),
    Language.ES: Phrases(
        thanks="Gracias.",
        repeating="Claro, se lo repito.",
        no_input="No he oído su respuesta.",
        not_understood="Perdone, no le he entendido.",
        skipped="No hay problema.",
        moving_on="Pasamos a la siguiente pregunta.",
        opt_out_goodbye="Tomamos nota: no volveremos a llamarle. Disculpe las molestias. Adiós.",
        no_consent_goodbye="Le agradecemos de todos modos su atención. Adiós.",
        hint_yes_no="Responda sí o no, o pulse 1 para sí y 2 para no.",
        hint_range="Responda con un número del {low} al {high}.",
        hint_at_least="Responda con un número, como mínimo {low}.",
        hint_at_most="Responda con un número, como máximo {high}.",
        hint_number="Responda con un número.",
        hint_choice="Responda con una de estas opciones: {options}.",
        hint_choice_keys="O pulse una tecla del 1 al {count}.",
        hint_free_text="Dígame su respuesta con sus propias palabras.",
        options="Las opciones son: {options}.",
        or_word="o",
        yes_no_words=("sí", "no"),
        screened_out="Gracias, para esta encuesta buscamos a otras personas. Adiós.",
        confirm="He entendido {answer}, ¿es correcto?",
        confirm_again="De acuerdo, le repito la pregunta.",
        callback_goodbye="Por supuesto, le volveremos a llamar. Gracias y adiós.",
        callback_impossible_goodbye=(
            "Lo entendemos. No podremos volver a llamarle para esta encuesta; "
            "gracias por su tiempo. Adiós."
        ),
        resume_intro="Le volvemos a llamar para terminar la encuesta que se interrumpió.",
        resume_intro_inbound="Ahora podemos terminar la encuesta que se interrumpió.",
        resume_consent="¿Podemos seguir donde lo dejamos? Responda sí o no.",
        inbound_thanks="Gracias por devolvernos la llamada.",
        inbound_who=(
            "Buenos días, este número lo usa un servicio automático que realiza breves "
            "encuestas telefónicas. Si le llamamos, era para una encuesta."
        ),
        inbound_press_nine="Para no volver a recibir llamadas, pulse 9.",
        inbound_listed="Tomamos nota: no volveremos a llamarle. Adiós.",
    ),
    Language.FR: Phrases(
        thanks="Merci.",
        repeating="Bien sûr, je répète.",
        no_input="Je n'ai pas entendu votre réponse.",
        not_understood="Excusez-moi, je n'ai pas compris.",
        skipped="Pas de problème.",
        moving_on="Passons à la question suivante.",
        opt_out_goodbye=(
            "C'est noté : nous ne vous appellerons plus. Excusez-nous pour le dérangement. "
            "Au revoir."
        ),
        no_consent_goodbye="Merci tout de même pour votre attention. Au revoir.",
        hint_yes_no="Répondez oui ou non, ou appuyez sur 1 pour oui et sur 2 pour non.",
        hint_range="Répondez par un nombre de {low} à {high}.",
        hint_at_least="Répondez par un nombre, au moins {low}.",
        hint_at_most="Répondez par un nombre, au plus {high}.",
        hint_number="Répondez par un nombre.",
        hint_choice="Répondez par l'une de ces options : {options}.",
        hint_choice_keys="Ou appuyez sur une touche de 1 à {count}.",
        hint_free_text="Donnez-moi votre réponse, avec vos propres mots.",
        options="Les options sont : {options}.",
        or_word="ou",
        yes_no_words=("oui", "non"),
        screened_out="Merci. Pour cette enquête, nous recherchons d'autres personnes. Au revoir.",
        confirm="J'ai compris {answer}, c'est bien cela ?",
        confirm_again="D'accord, je vous repose la question.",
        callback_goodbye="Bien sûr, nous vous rappellerons. Merci, au revoir.",
        callback_impossible_goodbye=(
            "Nous comprenons. Nous ne pourrons pas vous rappeler pour cette enquête ; "
            "merci pour votre temps. Au revoir."
        ),
        resume_intro="Nous vous rappelons pour terminer l'enquête qui avait été interrompue.",
        resume_intro_inbound=(
            "Nous pouvons maintenant terminer l'enquête qui avait été interrompue."
        ),
        resume_consent="Pouvons-nous reprendre là où nous en étions ? Répondez oui ou non.",
        inbound_thanks="Merci de nous avoir rappelés.",
        inbound_who=(
            "Bonjour, ce numéro est utilisé par un service automatique qui réalise de courtes "
            "enquêtes téléphoniques. Si nous vous avons appelé, c'était pour une enquête."
        ),
        inbound_press_nine="Pour ne plus être appelé, appuyez sur 9.",
        inbound_listed="C'est noté : nous ne vous appellerons plus. Au revoir.",
    ),
    Language.DE: Phrases(
        thanks="Vielen Dank.",
        repeating="Gerne, ich wiederhole.",
        no_input="Ich habe Ihre Antwort nicht gehört.",
        not_understood="Entschuldigung, das habe ich nicht verstanden.",
        skipped="Kein Problem.",
        moving_on="Kommen wir zur nächsten Frage.",
        opt_out_goodbye=(
            "Verstanden: Wir rufen Sie nicht mehr an. Entschuldigen Sie die Störung. "
            "Auf Wiederhören."
        ),
        no_consent_goodbye="Trotzdem vielen Dank für Ihre Zeit. Auf Wiederhören.",
        hint_yes_no=(
            "Bitte antworten Sie mit Ja oder Nein, "
            "oder drücken Sie die 1 für Ja und die 2 für Nein."
        ),
        hint_range="Bitte antworten Sie mit einer Zahl von {low} bis {high}.",
        hint_at_least="Bitte antworten Sie mit einer Zahl, mindestens {low}.",
        hint_at_most="Bitte antworten Sie mit einer Zahl, höchstens {high}.",
        hint_number="Bitte antworten Sie mit einer Zahl.",
        hint_choice="Bitte antworten Sie mit einer dieser Möglichkeiten: {options}.",
        hint_choice_keys="Oder drücken Sie eine Taste von 1 bis {count}.",
        hint_free_text="Sagen Sie mir Ihre Antwort bitte in Ihren eigenen Worten.",
        options="Zur Auswahl stehen: {options}.",
        or_word="oder",
        yes_no_words=("ja", "nein"),
        screened_out="Vielen Dank. Für diese Umfrage suchen wir andere Personen. Auf Wiederhören.",
        confirm="Ich habe {answer} verstanden, ist das richtig?",
        confirm_again="Gut, ich stelle Ihnen die Frage noch einmal.",
        callback_goodbye="Natürlich, wir rufen Sie wieder an. Vielen Dank, auf Wiederhören.",
        callback_impossible_goodbye=(
            "Wir verstehen. Für diese Umfrage können wir Sie leider nicht noch einmal "
            "anrufen; vielen Dank für Ihre Zeit. Auf Wiederhören."
        ),
        resume_intro="Wir rufen Sie wieder an, um die unterbrochene Umfrage abzuschließen.",
        resume_intro_inbound="Jetzt können wir die unterbrochene Umfrage abschließen.",
        resume_consent=(
            "Dürfen wir dort weitermachen, wo wir aufgehört haben? "
            "Bitte antworten Sie mit Ja oder Nein."
        ),
        inbound_thanks="Vielen Dank für Ihren Rückruf.",
        inbound_who=(
            "Guten Tag, diese Nummer gehört zu einem automatischen Dienst für kurze "
            "telefonische Umfragen. Wenn wir Sie angerufen haben, ging es um eine Umfrage."
        ),
        inbound_press_nine="Wenn Sie nicht mehr angerufen werden möchten, drücken Sie die 9.",
        inbound_listed="Verstanden: Wir rufen Sie nicht mehr an. Auf Wiederhören.",
    ),
}


def spoken_list(items: tuple[str, ...], language: Language) -> str:
    """Join items the way they are said: "a, b or c"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_or_word(language, items[-1])} {items[-1]}"


def _or_word(language: Language, following: str) -> str:
    # Spanish "o" turns into "u" before an "o" sound, or it merges with it: "siete u ocho".
    if language is Language.ES and fold(following).lstrip("h").startswith("o"):
        return "u"
    return PHRASES[language].or_word
