"""The report's words in French (Quebec) and English: labels, outcomes, dates. Pure.

Dates are written as the site's readers write them: "lundi 23 novembre 2026" /
"Monday, November 23, 2026" (long), "23 nov." / "Nov 23" (short); numbers with a
decimal comma and a space before "%" in French.
"""

from __future__ import annotations

from datetime import date

LANGUAGES = ("fr", "en")

MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
}  # fmt: skip
SHORT_MONTHS = {
    "fr": (
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
        "sept.", "oct.", "nov.", "déc.",
    ),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}  # fmt: skip
WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
SHORT_WEEKDAYS = {
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

# What happened to a call, as a manager says it.
OUTCOMES = {
    "answered": ("répondu", "answered"),
    "missed": ("a sonné sans réponse", "rang, nobody answered"),
    "voicemail": ("boîte vocale", "went to voicemail"),
    "abandoned_ivr": ("raccroché dans le menu", "hung up in the phone menu"),
    "abandoned_queue": ("raccroché en attente", "hung up while on hold"),
    "busy": ("ligne occupée", "line busy"),
    "short_abandon": ("raccroché aussitôt (erreur probable)", "hung up at once (likely misdial)"),
    "unknown": ("inconnu (lien coupé)", "unknown (link lost)"),
}

TEXT = {
    "title": ("Appels manqués", "Missed calls"),
    "period": ("Du {since} au {until}", "{since} to {until}"),
    "generated": ("Produit le {at}", "Generated {at}"),
    "site": ("Site", "Site"),
    "compare": ("Les services côte à côte", "Departments side by side"),
    "calls": ("appels reçus", "calls received"),
    "missed_rate": ("appels manqués (heures d'ouverture)", "missed-call rate (open hours)"),
    "lost": ("appels perdus", "calls lost"),
    "recovered_cases": ("récupérés (rejoints / ont répondu)", "recovered (reached / replied)"),
    "time_to_first_attempt": (
        "délai médian avant le premier rappel",
        "median time to the first call back",
    ),
    "after_hours": ("appels hors des heures", "calls after hours"),
    "texts": ("textos envoyés", "texts sent"),
    "replies": ("réponses", "replies"),
    "heat": (
        "Appels manqués par jour et par heure (heures d'ouverture)",
        "Missed calls by weekday and hour (open hours)",
    ),
    "heat_note": (
        "Chaque case : taux d'appels manqués et nombre d'appels manqués. Gris : fermé.",
        "Each cell: missed-call rate and number of missed calls. Grey: closed.",
    ),
    "closed": ("fermé", "closed"),
    "worst": ("Les pires journées", "Worst days"),
    "outcomes_none": ("Aucun appel reçu dans la période.", "No calls received in the period."),
    "worst_none": (
        "Aucune journée n'a dépassé de loin le niveau habituel de son jour de semaine.",
        "No day stood far above the usual level of its weekday.",
    ),
    "day": ("jour", "day"),
    "missed": ("manqués", "missed"),
    "usual": ("habituel", "usual"),
    "why": ("pourquoi", "why"),
    "weeks": ("Semaine par semaine, contre l'an dernier", "Week by week, against last year"),
    "weeks_note": (
        "Barres : appels manqués par semaine (du lundi). Ligne : les mêmes semaines l'an dernier.",
        "Bars: missed calls per week (from Monday). Line: the same weeks a year before.",
    ),
    "shift_later": (
        "Les semaines chargées sont arrivées {n} semaine(s) plus tard que l'an dernier.",
        "The busy weeks came {n} week(s) later than the year before.",
    ),
    "shift_earlier": (
        "Les semaines chargées sont arrivées {n} semaine(s) plus tôt que l'an dernier.",
        "The busy weeks came {n} week(s) earlier than the year before.",
    ),
    "outcomes": ("Ce qui est arrivé aux appels", "What happened to the calls"),
    "outcome": ("issue", "outcome"),
    "ivr": ("Où les clients ont raccroché dans le menu", "Where callers hung up in the menu"),
    "ivr_none": ("Aucun appel n'est passé par le menu.", "No calls went through the phone menu."),
    "branch": ("choix dans le menu", "menu choice"),
    "reached": ("y sont passés", "went through"),
    "hung_up": ("ont raccroché là", "hung up there"),
    "lost_after": ("perdus plus loin", "lost further on"),
    "main_menu": ("menu principal", "main menu"),
    "after_choosing": ("après avoir choisi {what}", "after choosing {what}"),
    "then_key": ("puis {keys}", "then {keys}"),
    "key": ("touches {keys}", "keys {keys}"),
    "staffing": ("Combien de personnes au téléphone", "How many people on the phones"),
    "staffing_note": (
        "Chaque case : personnes nécessaires / personnes qui ont répondu. En rouge : "
        "il manquait du monde. Sous la grille : les heures où une personne de plus "
        "aurait sauvé le plus d'appels.",
        "Each cell: people needed / people who answered. Red: short of people. Below: "
        "the hours where one more person would have saved the most calls.",
    ),
    "saved": (
        "{when} : une personne de plus aurait sauvé environ {n} appel(s) par semaine",
        "{when}: one more person would have saved about {n} call(s) a week",
    ),
    "staffing_none": (
        "Pas assez d'appels pendant les heures d'ouverture pour conseiller.",
        "Not enough calls in open hours to advise.",
    ),
    "method": (
        "Méthode : Erlang C (Erlang A quand les clients qui raccrochent en attente "
        "mesurent leur patience), pour répondre à {share} des appels en {seconds} s "
        "au plus, sur les {weeks} dernières semaines : appels par heure, durée moyenne "
        "des conversations, personnes distinctes qui ont répondu.",
        "Method: Erlang C (Erlang A where callers who hang up while waiting measure "
        "their patience), to answer {share} of calls within {seconds} s, over the last "
        "{weeks} weeks: calls per hour, mean talk time, distinct people who answered.",
    ),
    "rate_note": (
        "Taux d'appels manqués = manqués / (répondus + manqués), pendant les heures "
        "d'ouverture; les raccrochages immédiats (erreurs probables) et les appels "
        "d'issue inconnue sont exclus.",
        "Missed-call rate = missed / (answered + missed), in open hours; hang-ups within "
        "seconds (likely misdials) and calls of unknown outcome are left out.",
    ),
    "worst_note": (
        "Une journée est retenue quand ses appels manqués dépassent de loin ceux du même "
        "jour de semaine sur la période (le détail du calcul est dans le JSON).",
        "A day is listed when its missed calls stand far above those of the same weekday "
        "over the period (the scoring is in the JSON).",
    ),
    "source": (
        "chiffre tiré de « {query} » dans --format json",
        "figure from “{query}” in --format json",
    ),
    "week_of": ("semaine du {day}", "week of {day}"),
    "last_year": ("l'an dernier", "a year before"),
    "none": ("aucun", "none"),
    "minutes": ("{n} min", "{n} min"),
}


def word(name: str, language: str, /, **fields: object) -> str:
    fr, en = TEXT[name]
    text = fr if language == "fr" else en
    return text.format(**fields) if fields else text


def outcome_words(outcome: str, language: str) -> str:
    fr, en = OUTCOMES.get(outcome, (outcome, outcome))
    return fr if language == "fr" else en


def long_date(day: date, language: str) -> str:
    weekday = WEEKDAYS[language][day.weekday()]
    month = MONTHS[language][day.month - 1]
    if language == "fr":
        first = "1er" if day.day == 1 else str(day.day)
        return f"{weekday} {first} {month} {day.year}"
    return f"{weekday}, {month} {day.day}, {day.year}"


def short_date(day: date, language: str) -> str:
    month = SHORT_MONTHS[language][day.month - 1]
    return f"{day.day} {month}" if language == "fr" else f"{month} {day.day}"


def percent(value: float | None, language: str, digits: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{100 * value:.{digits}f}"
    return f"{text.replace('.', ',')}\u202f%" if language == "fr" else f"{text}%"


def number(value: float, language: str, digits: int = 1) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", ",") if language == "fr" else text
