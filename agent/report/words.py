"""The report's words in French (Quebec) and English: labels, outcomes, dates. Pure.

Dates are written as the site's readers write them: "lundi 23 novembre 2026" /
"Monday, November 23, 2026" (long), "23 nov." / "Nov 23" (short); numbers with a
decimal comma and a space before "%" in French.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from agent.plural import counted, singular

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
    "unknown": ("issue inconnue (lien avec le PBX perdu)", "outcome unknown (PBX link lost)"),
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
        "Les semaines chargées sont arrivées {weeks} plus tard que l'an dernier.",
        "The busy weeks came {weeks} later than the year before.",
    ),
    "shift_earlier": (
        "Les semaines chargées sont arrivées {weeks} plus tôt que l'an dernier.",
        "The busy weeks came {weeks} earlier than the year before.",
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
        "{when} : une personne de plus aurait sauvé environ {calls} par semaine",
        "{when}: one more person would have saved about {calls} a week",
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
    "hours": ("{h} h {m:02d}", "{h} h {m} min"),
    "whole_hours": ("{h} h", "{h} h"),
    "under_a_minute": ("moins d'une minute", "under a minute"),
    "days": ("{n} jours", "{n} days"),
    "week": ("semaine", "week"),
    "weeks_n": ("semaines", "weeks"),
    # The plain-text report (the terminal, the weekly e-mail's text part).
    "text_title": ("Rapport ringback — {site}", "ringback report — {site}"),
    "text_period": (
        "Appels manqués du {since} au {until} inclusivement",
        "Missed calls from {since} to {until}, inclusive",
    ),
    "text_timezone": (
        "Heures locales du site ({timezone}).",
        "Times are the site's local time ({timezone}).",
    ),
    "text_rate_note": (
        "Taux d'appels manqués = manqués / (répondus + manqués). Les raccrochages "
        "immédiats (erreurs de numéro probables) et les appels d'issue inconnue n'y "
        "sont pas comptés.",
        "Missed-call rate = missed / (answered + missed). Hang-ups within seconds "
        "(likely misdials) and calls of unknown outcome are left out of it.",
    ),
    "text_site": ("Tout le site", "Whole site"),
    "text_department": ("{label}", "Department: {label}"),
    "text_inbound": ("appels reçus", "inbound calls"),
    "text_answered": ("répondus", "answered"),
    "text_missed_all": ("appels manqués, en tout", "missed calls, all"),
    "text_rate": ("taux d'appels manqués : {rate}", "missed-call rate {rate}"),
    "text_open_missed": (
        "appels manqués, heures d'ouverture",
        "missed calls in open hours",
    ),
    "text_not_in_rate": ("(hors du taux)", "(not in the rate)"),
    "text_after_hours": ("appels hors des heures d'ouverture", "calls after hours"),
    "text_of_inbound": ("{share} des appels reçus", "{share} of inbound calls"),
    "text_replies": ("réponses des clients : {n}", "replies from callers: {n}"),
    "text_recovered": ("clients récupérés", "callers recovered"),
    "text_recovered_after": ("{share} des appels manqués", "{share} of missed calls"),
    "text_recovery_time": ("  délai médian", "  median time"),
    "text_cases": ("dossiers de rappel", "call-back cases"),
    "text_cases_recovered": ("  récupérés", "  recovered"),
    "text_cases_split": (
        "rejoints : {reached}; ont répondu au texto : {replied}",
        "reached: {reached}; replied to the text: {replied}",
    ),
    "text_cases_lost": ("  perdus", "  lost"),
    "text_cases_open": ("  encore ouverts", "  still open"),
    "text_first_attempt": ("premier rappel, délai médian", "first call back, median time"),
    "text_to_reached": ("client rejoint, délai médian", "caller reached, median time"),
    "text_nine_in_ten": ("9 fois sur 10 en {time} ou moins", "9 times in 10 within {time}"),
    "text_sla": ("rappelés dans le délai visé", "called back within the target time"),
    "text_sla_of": ("sur {cases}", "of {cases}"),
    "case": ("dossier", "case"),
    "cases_n": ("dossiers", "cases"),
    "when_what": ("{when} : {what}", "{when}: {what}"),
    "no_calls": ("aucun appel", "no calls"),
    "of_calls": ("{missed} sur {calls}", "{missed} of {calls}"),
    "per_week": ("{calls} par semaine", "{calls} a week"),
    "call": ("appel", "call"),
    "calls_n": ("appels", "calls"),
    "missed_call": ("appel manqué", "missed call"),
    "missed_calls": ("appels manqués", "missed calls"),
    "text_attempts": ("tentatives de rappel par dossier", "call-back attempts per case"),
    "text_extension": ("poste", "extension"),
    "text_calls_back": ("rappels", "calls back"),
    "text_callers_reached": ("clients rejoints", "callers reached"),
    "text_heat": (
        "Appels manqués par jour et par heure (nombre et taux) :",
        "Missed calls by weekday and hour (number and rate):",
    ),
    "text_hour": ("heure", "hour"),
    "text_no_calls": ("aucun appel", "no calls"),
    "text_peak": (
        "Le pire moment : le {day} entre {start} et {end}, {missed}",
        "Worst hour: {day} from {start} to {end}, {missed}",
    ),
    "text_worst": (
        "Les pires journées (bien plus d'appels manqués que d'habitude pour ce jour-là) :",
        "Worst days (missed calls far above the usual for that weekday):",
    ),
    "text_why": ("pourquoi : {why}", "why: {why}"),
    "text_worst_row": (
        "{missed} manqués (d'habitude {usual})",
        "{missed} missed (usually {usual})",
    ),
    "text_weeks": (
        "Semaine par semaine, appels manqués contre les mêmes semaines l'an dernier :",
        "Week by week, missed calls against the same weeks a year before:",
    ),
    "text_no_missed": ("Aucun appel manqué.", "No missed calls."),
    "text_partial": ("(semaine incomplète)", "(partial week)"),
    "text_ivr": (
        "Où les clients ont raccroché dans le menu téléphonique :",
        "Where callers hung up in the phone menu:",
    ),
    "text_passed": ("passés par là", "went through"),
    "text_hung_up": ("ont raccroché", "hung up"),
    "text_worst_note": (
        "Une journée figure parmi les pires quand ses appels manqués dépassent de loin le "
        "niveau habituel du même jour de la semaine sur la période, et d'au moins "
        "{excess} appels.",
        "A day is listed among the worst when its missed calls stand far above the usual "
        "level of the same weekday over the period, and by at least {excess} calls.",
    ),
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


def day_month_year(day: date, language: str) -> str:
    """ "1er décembre 2025" / "December 1, 2025": a day whose weekday goes without saying."""
    month = MONTHS[language][day.month - 1]
    if language == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def hour_words(hour: int, language: str) -> str:
    """The start of an hour as the site writes it: "8 h" / "08:00"."""
    return f"{hour} h" if language == "fr" else f"{hour:02d}:00"


def count_words(n: int, one: str, many: str, language: str) -> str:
    """`counted` with the nouns looked up by their TEXT keys."""
    return counted(n, word(one, language), word(many, language), language)


def amount_words(value: float, one: str, many: str, language: str) -> str:
    """A measured amount and its noun (TEXT keys), to one decimal: "1,5 appel",
    "2,5 appels" (French singular under 2) / "1.5 calls" (English singular for 1)."""
    single = singular(abs(round(value, 1)), language)  # as shown: 1.96 is "2 appels"
    return f"{number(value, language)} {word(one if single else many, language)}"


def weeks_words(n: int, language: str) -> str:
    """ "1 semaine", "3 semaines" / "1 week", "3 weeks"."""
    return count_words(n, "week", "weeks_n", language)


def duration(minutes: float | None, language: str) -> str:
    """A wait as a manager says it: "45 min", "1 h 05" / "1 h 5 min", "38 h" (to the
    hour from 10 h on), "2,5 jours"."""
    if minutes is None:
        return "–"
    whole = round(minutes)
    if whole < 1:
        return word("under_a_minute", language)
    if whole < 60:
        return word("minutes", language, n=whole)
    h, m = divmod(whole, 60)
    if h < 10 and m:
        return word("hours", language, h=h, m=m)
    if whole < 48 * 60:
        return word("whole_hours", language, h=round(whole / 60))
    return word("days", language, n=number(minutes / 1440, language))


def branch_words(
    path: str, menu: Mapping[str, str], label: Callable[[str], str], language: str
) -> str:
    """ "2*1" -> "after choosing Service, then keys *1" (the department whose menu keys
    start the path, `menu` mapping keys to departments), else the keys themselves."""
    if not path:
        return word("main_menu", language)
    best = max((k for k in menu if path.startswith(k)), key=len, default="")
    if not best:
        return word("key", language, keys=path)
    what = word("after_choosing", language, what=label(menu[best]))
    rest = path[len(best) :]
    return f"{what}, {word('then_key', language, keys=rest)}" if rest else what
