"""Phone numbers: withheld markers, E.164 normalisation, allowed countries.

A caller-triggered text is an abuse vector (SMS pumping), so a number is textable
only when phonenumbers says it is valid and its region is allowed: a NANP number
whose area code belongs to Jamaica is `JM`, not `US`, and is refused by default.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

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
    try:
        parsed = phonenumbers.parse(digits, default_region)
    except phonenumbers.NumberParseException:
        return None, "invalid_number"
    if not phonenumbers.is_valid_number(parsed):
        return None, "invalid_number"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ""


@functools.lru_cache(maxsize=8192)
def region_of(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def is_mobile_capable(e164: str) -> bool:
    """False only when phonenumbers knows the number is a fixed line outside NANP
    (NANP does not tell mobile from fixed, so those pass)."""
    parsed = phonenumbers.parse(e164, None)
    kind = phonenumbers.number_type(parsed)
    return kind != phonenumbers.PhoneNumberType.FIXED_LINE


def mask(number: str | None) -> str:
    """A number as logs at INFO and the status page show it: all but the last 2 digits hidden."""
    if not number:
        return "-"
    return "•" * max(0, len(number) - 2) + number[-2:] if len(number) > 2 else "••"
