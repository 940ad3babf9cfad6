"""The Twilio error table: (HTTP status or transport event, Twilio code) -> Rule.

Keys are tried from the most to the least specific, see `classify`:
(status, code), ("*", code), (status, None), (status class "4xx", None), ("*", None).
A transport event (`read_timeout`, `connect_error`, ... see `cloud_http`) takes the
place of the status. Twilio says its error *messages* change over time; only the code
numbers are branched on, and an unknown 4xx code is permanent and logged as
"unclassified".

`FACTS` maps the codes that say something about the number (or about our own
setup) to a `NumberFact` and, for the faults of ours, the fix; the same table serves
the create answer (`Rejected.fact`) and the delivery reports (poll and webhook).
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.model import Delivery, NumberFact
from drivers.senders.cloud_http import Key, Rule, Verdict, lookup

FIX_30007 = (
    "carrier filtering (30007): register the brand and campaign (A2P 10DLC) or verify "
    "the toll-free number in the Twilio console, and keep links and wording plain"
)
FIX_30034 = (
    "unregistered A2P 10DLC (30034): register the brand and a campaign under Messaging > "
    "Regulatory Compliance in the Twilio console and add the 'from' number to the "
    "campaign's Messaging Service; until then US carriers drop these texts"
)
FIX_21408 = (
    "twilio 21408: SMS to this region is not enabled: allow the country under "
    "Messaging > Settings > Geo permissions in the Twilio console"
)
FIX_21612 = (
    "twilio 21612: this 'from' cannot reach 'To' (a number of another country, or a "
    "short code): in the Twilio console, use a 'from' or a Messaging Service able to "
    "text that country"
)

FACTS: Mapping[int, tuple[NumberFact, str]] = {
    21610: (NumberFact.OPTED_OUT, "twilio 21610: recipient replied STOP"),
    30006: (NumberFact.SMS_INCAPABLE, "twilio 30006: landline or unreachable carrier"),
    21614: (NumberFact.SMS_INCAPABLE, "twilio 21614: 'To' is not a mobile number"),
    30003: (NumberFact.UNREACHABLE, "twilio 30003: handset unreachable (off, no coverage)"),
    30005: (NumberFact.UNREACHABLE, "twilio 30005: unknown or inactive handset"),
    30007: (NumberFact.FILTERED, FIX_30007),
    30034: (NumberFact.FILTERED, FIX_30034),
    21408: (NumberFact.MISCONFIGURED, FIX_21408),
    21612: (NumberFact.MISCONFIGURED, FIX_21612),
}

STATUSES: Mapping[str, Delivery] = {
    "accepted": Delivery.QUEUED,
    "scheduled": Delivery.QUEUED,
    "queued": Delivery.QUEUED,
    "sending": Delivery.QUEUED,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.DELIVERED,
    "undelivered": Delivery.UNDELIVERED,
    "failed": Delivery.FAILED,
    "canceled": Delivery.FAILED,
}


def fact_of(code: int | None) -> tuple[NumberFact | None, str]:
    """The fact a Twilio error code states, and its explanation (or fix)."""
    if code is None or code not in FACTS:
        return None, ""
    return FACTS[code]


REJ, OPT, ALM, RTY, AMB = (
    Verdict.REJECT,
    Verdict.OPT_OUT,
    Verdict.ALARM,
    Verdict.RETRY,
    Verdict.AMBIGUOUS,
)

TWILIO_TABLE: Mapping[Key, Rule] = {
    # --- the number: permanent -----------------------------------------------------
    ("*", 21211): Rule(REJ, "twilio 21211: 'To' is not a valid phone number"),
    ("*", 21614): Rule(
        REJ, "twilio 21614: 'To' is not a mobile number", fact=NumberFact.SMS_INCAPABLE
    ),
    ("*", 30006): Rule(
        REJ, "twilio 30006: landline or unreachable carrier", fact=NumberFact.SMS_INCAPABLE
    ),
    ("*", 21612): Rule(REJ, FIX_21612, fact=NumberFact.MISCONFIGURED),
    ("*", 21608): Rule(REJ, "twilio 21608: trial account, 'To' is not verified"),
    # a region not enabled: retrying cannot help before the technician fixes it, and
    # other regions still work, so the text fails and `doctor` names the fix
    ("*", 21408): Rule(REJ, FIX_21408, fact=NumberFact.MISCONFIGURED),
    ("*", 21610): Rule(OPT, "twilio 21610: recipient replied STOP"),
    # the handset, for now: the number is `unreachable` (its texts wait), as when a
    # delivery report says so
    ("*", 30003): Rule(RTY, FACTS[30003][1], 1800.0, NumberFact.UNREACHABLE),
    ("*", 30005): Rule(RTY, FACTS[30005][1], 1800.0, NumberFact.UNREACHABLE),
    # our traffic filtered: the number is fine, the sender is degraded until fixed
    ("*", 30007): Rule(RTY, FIX_30007, 600.0, NumberFact.FILTERED),
    ("*", 30034): Rule(RTY, FIX_30034, 600.0, NumberFact.FILTERED),
    # --- the account or the sender: alarm, keep the queue ---------------------------
    ("*", 20003): Rule(ALM, "twilio 20003: authentication failed (account_sid/auth_token)"),
    ("*", 21606): Rule(ALM, "twilio 21606: 'from' is not an SMS-capable number of the account"),
    ("*", 20404): Rule(ALM, "twilio 20404: account or resource not found (account_sid?)"),
    ("401", None): Rule(ALM, "twilio HTTP 401: authentication failed"),
    ("403", None): Rule(ALM, "twilio HTTP 403: forbidden (account suspended?)"),
    ("404", None): Rule(ALM, "twilio HTTP 404: not found (check base_url and account_sid)"),
    ("3xx", None): Rule(ALM, "twilio answered a redirect (check base_url)", 300.0),
    # --- transient: never processed, safe to retry ---------------------------------
    ("*", 20429): Rule(RTY, "twilio 20429: too many concurrent requests"),
    ("429", None): Rule(RTY, "twilio HTTP 429: rate limited"),
    ("*", 21611): Rule(RTY, "twilio 21611: sender queue full", 300.0),
    ("connect_error", None): Rule(RTY, "twilio unreachable (DNS, refused or TLS)", 30.0),
    ("connect_timeout", None): Rule(RTY, "twilio connect timed out", 30.0),
    ("pool_timeout", None): Rule(RTY, "twilio client busy", 5.0),
    # --- ambiguous: the text may have left; look it up before sending again ----------
    ("5xx", None): Rule(AMB, "twilio server error", 30.0),
    ("read_timeout", None): Rule(AMB, "twilio did not answer in time", 30.0),
    ("read_error", None): Rule(AMB, "twilio connection lost after sending", 30.0),
    ("write_error", None): Rule(AMB, "twilio connection lost while sending", 30.0),
    ("protocol_error", None): Rule(AMB, "twilio answer truncated or not HTTP", 30.0),
    ("2xx_unreadable", None): Rule(AMB, "twilio accepted but the answer is unreadable", 30.0),
    # --- the rest ---------------------------------------------------------------------
    ("4xx", None): Rule(REJ, "twilio refused the text (permanent, unclassified)"),
    ("*", None): Rule(RTY, "twilio answered an unexpected status", 60.0),
}


def classify(status: int | str, code: int | None) -> Rule:
    """The rule for an HTTP status (int) or a transport event (str) and a Twilio code.

    A code without a row of its own is appended to the reason of the row used."""
    return lookup(TWILIO_TABLE, status, code)
