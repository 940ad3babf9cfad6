"""What the managers' alerts say, in the site's staff language (`departments.language`,
French for a Quebec site): the staffing alert, the sending alert and the daily digest.
Pure.

The French is Quebec French as it is read aloud: « texto », « opérateur »,
« expéditeur », a space before « : » and none before « ? » or « ; », full words
rather than abbreviations, a decimal comma. A sending fault's fix is the provider's
own words (English, from the driver's code table) unless `FIXES_FR` has that code.
"""

from __future__ import annotations

from datetime import date

from agent.model import NumberFact
from agent.plural import counted
from agent.report.alerts import Level
from agent.report.words import long_date, number

# The French of the fixes the `twilio` driver gives (drivers/senders/twilio_codes.py),
# by provider code; a test keeps both tables in step.
FIXES_FR = {
    "30007": (
        "Filtrage par l'opérateur (30007) : enregistrez la marque et la campagne "
        "(A2P 10DLC) ou faites vérifier le numéro sans frais dans la console Twilio, et "
        "gardez des liens et une formulation simples."
    ),
    "30034": (
        "A2P 10DLC non enregistré (30034) : enregistrez la marque et une campagne dans la "
        "console Twilio, sous Messaging > Regulatory Compliance, puis ajoutez le numéro "
        "d'envoi au Messaging Service de la campagne. D'ici là, les opérateurs américains "
        "bloquent ces textos."
    ),
    "21408": (
        "Twilio 21408 : l'envoi de textos vers cette région n'est pas activé. Autorisez "
        "le pays dans la console Twilio, sous Messaging > Settings > Geo permissions."
    ),
    "21612": (
        "Twilio 21612 : ce numéro d'envoi ne peut pas joindre le destinataire (un numéro "
        "d'un autre pays ou un code court). Dans la console Twilio, choisissez un numéro "
        "d'envoi ou un Messaging Service qui peut texter ce pays."
    ),
}


def sending_text(
    site: str, fact: NumberFact, sender: str, code: str, detail: str, language: str
) -> str:
    """The managers' alert when the provider says our texts do not get through."""
    filtered = fact is NumberFact.FILTERED
    if language == "fr":
        what = (
            "l'opérateur filtre nos textos"
            if filtered
            else "notre configuration d'envoi de textos est refusée"
        )
        fix = FIXES_FR.get(code) or (f"Le fournisseur indique : {detail}" if detail else "")
        named = f"code {code}" if code else "code inconnu"
        return f"{site} : {what} (expéditeur {sender}, {named}). {fix}".strip()
    what = "the carrier is filtering our texts" if filtered else "our texting setup is refused"
    return f"{site}: {what} (sender {sender}, code {code or '?'}). {detail}".strip()


def staffing_text(site: str, label: str, level: Level, minutes: int, language: str) -> str:
    """The alert when a department misses far more calls than usual at this hour."""
    usual = number(level.usual, language)
    if language == "fr":
        calls = counted(level.missed, "appel manqué", "appels manqués", language)
        return (
            f"{site}, {label} : {calls} dans les {minutes} dernières minutes (d'habitude "
            f"{usual} à cette heure-ci). Faut-il plus de monde au téléphone?"
        )
    calls = counted(level.missed, "call", "calls", language)
    return (
        f"{site}: {label} missed {calls} in the last {minutes} minutes "
        f"(usual at this hour: {usual}). More hands on the phones?"
    )


def digest_part(label: str, calls: int, missed: int, recovered: int, language: str) -> str:
    """One department's line of the daily digest."""
    rate = f"{100 * missed / calls:.0f}" if calls else ""
    if language == "fr":
        share = f" ({rate} %)" if calls else ""
        return f"{label} : {calls} appels, {missed} manqués{share}, {recovered} rejoints ensuite"
    share = f" ({rate}%)" if calls else ""
    return f"{label} {calls} calls, {missed} missed{share}, {recovered} recovered"


def digest_text(site: str, day: date, parts: list[str], language: str) -> str:
    """Yesterday's numbers, one part per department."""
    when = long_date(day, language)
    if language == "fr":
        return f"{site}, {when} — " + ("; ".join(parts) or "aucun appel") + "."
    return f"{site}, {when}: " + ("; ".join(parts) or "no calls") + "."
