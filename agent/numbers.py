"""Phone numbers: withheld markers, E.164 normalisation, allowed countries, masks.

A caller-triggered text is an abuse vector (SMS pumping), so a number is textable
only when phonenumbers says it is valid and its region is allowed: a NANP number
whose area code belongs to Jamaica is `JM`, not `US`, and is refused by default.

`mask` is the one way a number is shown where it must not be dialled (logs at INFO
and above, the status API); `mask_text` applies it to every run of digits of phone
number length inside free text (log lines, kept bad lines, providers' errors).
phonenumbers is imported on first use: the log set-up imports this module and
phonenumbers takes a noticeable time to load.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

WITHHELD = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "private",
        "unknown",
        "<unknown>",
        "unavailable",
        "withheld",
        "blocked",
        "o",
        "p",
    }
)


# Parsing a number costs phonenumbers a few hundred microseconds and the same callers
# come back all day: both look-ups are pure, so they are cached (bounded).
@functools.lru_cache(maxsize=8192)
def normalize(raw: str | None, default_region: str) -> tuple[str | None, str]:
    """(E.164, "") for a valid number, else (None, skip reason)."""
    text = (raw or "").strip()
    text = text.split("@", 1)[0].removeprefix("sip:").removeprefix("tel:").strip()
    if text.lower() in WITHHELD:
        return None, "withheld_number"
    digits = re.sub(r"[^\d+]", "", text)
    if len(re.sub(r"\D", "", digits)) < 7:
        return None, "not_a_phone_number"
    import phonenumbers

    try:
        parsed = phonenumbers.parse(digits, default_region)
    except phonenumbers.NumberParseException:
        return None, "invalid_number"
    # is_valid_number, with the region it finds on the way kept for `region_of`
    # (finding it is the costly part: +1 is shared by some 25 regions)
    region = phonenumbers.region_code_for_number(parsed)
    if region is None or not phonenumbers.is_valid_number_for_region(parsed, region):
        return None, "invalid_number"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if len(_PARSED) >= 1024:
        _PARSED.clear()
    _PARSED[e164] = parsed, region
    return e164, ""


# E.164 -> the number as phonenumbers parsed it and its region, of the numbers
# normalised lately: the kind and the zones of a caller just normalised (every
# textable call asks both) need no second and third parse of the same number
_PARSED: dict[str, tuple[PhoneNumber, str | None]] = {}


def _parsed(e164: str) -> PhoneNumber | None:
    """The parsed number of an E.164 string (normalised lately, or parsed now)."""
    known = _PARSED.get(e164)
    if known is not None:
        return known[0]
    import phonenumbers

    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def refusal(raw: str, reason: str, default_region: str) -> str:
    """Why `normalize(raw, default_region)` refused a number a technician typed, in
    words that say what to type instead (`reason` is its skip reason)."""
    shown = repr(raw)
    if not raw.strip():
        return f"the number is empty (give one, like {_EXAMPLE})"
    if reason == "withheld_number":
        return f"{shown} is a withheld-caller marker, not a phone number"
    if reason == "not_a_phone_number":
        return f"{shown} is too short for a phone number (at least 7 digits, like {_EXAMPLE})"
    if default_region == "ZZ":
        return f"{shown} is not a valid phone number in E.164 (like {_EXAMPLE})"
    return (
        f"{shown} is not a valid phone number for {default_region} (nor in E.164, like {_EXAMPLE})"
    )


_EXAMPLE = "+15145550100"


@functools.lru_cache(maxsize=8192)
def region_of(e164: str) -> str | None:
    known = _PARSED.get(e164)
    if known is not None:
        return known[1]
    parsed = _parsed(e164)
    if parsed is None:
        return None
    import phonenumbers

    return phonenumbers.region_code_for_number(parsed)


# phonenumbers' PhoneNumberType values by the names this project stores and shows.
_KINDS = {
    0: "fixed_line",
    1: "mobile",
    2: "fixed_line_or_mobile",
    3: "toll_free",
    4: "premium_rate",
    5: "shared_cost",
    6: "voip",
    7: "personal_number",
    8: "pager",
    9: "uan",
    10: "voicemail",
}


@functools.lru_cache(maxsize=8192)
def number_kind(e164: str) -> str:
    """What phonenumbers says an E.164 number is, in lower case: `mobile`,
    `fixed_line`, `fixed_line_or_mobile` (NANP: the plan does not tell them apart),
    `toll_free`, `premium_rate`, `shared_cost`, `voip`, `personal_number`, `pager`,
    `uan`, `voicemail`, or `unknown`."""
    parsed = _parsed(e164)
    if parsed is None:
        return "unknown"
    import phonenumbers

    return _KINDS.get(phonenumbers.number_type(parsed), "unknown")


def is_mobile_capable(e164: str) -> bool:
    """False only when phonenumbers knows the number is a fixed line (NANP does not
    tell mobile from fixed: `fixed_line_or_mobile` passes)."""
    return number_kind(e164) != "fixed_line"


@functools.lru_cache(maxsize=8192)
def time_zones_of(e164: str) -> tuple[str, ...]:
    """The IANA zones phonenumbers gives for the number's area code (several when the
    code spans zones); () when it does not know (`Etc/Unknown`) or cannot parse."""
    parsed = _parsed(e164)
    if parsed is None:
        return ()
    from phonenumbers import timezone

    zones = timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z and z != "Etc/Unknown")


def mask(number: str | None) -> str:
    """A number as logs at INFO and the status page show it: every character but the
    last two hidden (`+15145550123` -> `••••••••••23`)."""
    if not number:
        return "-"
    return "•" * max(0, len(number) - 2) + number[-2:] if len(number) > 2 else "••"


# A phone number inside free text: 7 to 15 digits (E.164's most), written whole
# (`5145550199`, `+15145550199`), after a `+` country code (`+1 5145550199`), or in
# groups of 1 to 4 digits parted by up to three spaces, dashes or dots, the first one
# maybe in parentheses (`514 555-0199`, `(514) 555.0199`, `+33 6 12 34 56 78`).
# Not one: a run glued to digits, to a decimal point or to a clock's `12:` before it,
# or followed by a letter or by `.5`/`:5` (call ids such as `1732000000.123`, compact
# timestamps `20080628T093057`, clock times).
_PHONE_LIKE = re.compile(
    r"(?<![\d.])(?<!\d:)"
    r"(?:\+\d{1,3}[ .-]\d{6,14}"
    r"|\+?(?:\(\d{1,4}\)[ .-]{0,3}|\d{1,4}[ .-]{1,3})\d{1,4}(?:[ .-]{1,3}\d{1,4}){0,5}"
    r"|\+?\d{7,15})"
    r"(?!\w|[.:]\d)",
    re.ASCII,
)
# Runs of that shape that are not numbers: dates, decimals, IPv4 addresses.
_NOT_A_NUMBER = re.compile(
    r"\d{4}([-.])\d{2}\1\d{2}|\d{2}([-.])\d{2}\2\d{4}|\d+\.\d+|\d{1,3}(?:\.\d{1,3}){3}",
    re.ASCII,
)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group()
    digits = re.sub(r"\D", "", found)
    if not 7 <= len(digits) <= 15 or _NOT_A_NUMBER.fullmatch(found):
        return found
    return mask("+" + digits if found.startswith("+") else digits)


def mask_text(text: str) -> str:
    """`text` with every phone-number-like run of digits masked by `mask` (its spacing
    dropped: `call 514 555 0199` -> `call ••••••••99`); dates, times, decimals, call
    ids and addresses stay readable."""
    if not any(c.isdigit() for c in text):
        return text
    return _PHONE_LIKE.sub(_mask_match, text)
