"""The Twilio error table: (HTTP status or transport event, Twilio code) -> Rule.

Keys are tried from the most to the least specific, see `classify`:
(status, code), ("*", code), (status, None), (status class "4xx", None), ("*", None).
A transport event (`read_timeout`, `connect_error`, ... see `cloud_http`) takes the
place of the status. Twilio says its error *messages* change over time; only the code
numbers are branched on, and an unknown 4xx code is permanent and logged as
"unclassified".
"""

from __future__ import annotations

from collections.abc import Mapping

from drivers.senders.cloud_http import Key, Rule, Verdict, lookup

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
    ("*", 21614): Rule(REJ, "twilio 21614: 'To' is not a mobile number"),
    ("*", 21612): Rule(REJ, "twilio 21612: 'To' cannot be reached from this sender"),
    ("*", 21608): Rule(REJ, "twilio 21608: trial account, 'To' is not verified"),
    ("*", 21408): Rule(ALM, "twilio 21408: SMS to this region not enabled (Geo Permissions)"),
    ("*", 21610): Rule(OPT, "twilio 21610: recipient replied STOP"),
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
