"""A caller's number is parsed once: `normalize` keeps what phonenumbers parsed for
`region_of`, `number_kind` and `time_zones_of` (every textable call asks all three),
and what they answer from it is what a fresh parse of the E.164 answers."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import timezone

from agent import numbers

CALLERS = [
    ("514 555 0123", "CA"),
    ("+1 876 555 0123", "CA"),  # Jamaica, inside +1
    ("06 12 34 56 78", "FR"),
    ("+39 06 6982 1234", "CA"),  # Italy: the leading zero is part of the number
    ("0800 123 4567", "GB"),
    ("+1 800 555 0199", "US"),
    ("(604) 555-0142", "CA"),
]


def _fresh(e164: str) -> tuple[str | None, str, tuple[str, ...]]:
    parsed = phonenumbers.parse(e164, None)
    kind = numbers._KINDS.get(phonenumbers.number_type(parsed), "unknown")
    zones = tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
    return phonenumbers.region_code_for_number(parsed), kind, zones


@pytest.mark.parametrize(("raw", "region"), CALLERS)
def test_one_parse_per_caller_same_answers(
    raw: str, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cached in (numbers.normalize, numbers.region_of, numbers.number_kind):
        cached.cache_clear()
    numbers.time_zones_of.cache_clear()
    numbers._PARSED.clear()
    parses = 0
    real = phonenumbers.parse

    def counting(*args: object, **kwargs: object) -> phonenumbers.PhoneNumber:
        nonlocal parses
        parses += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(phonenumbers, "parse", counting)
    e164, reason = numbers.normalize(raw, region)
    assert e164 is not None, reason
    answers = (numbers.region_of(e164), numbers.number_kind(e164), numbers.time_zones_of(e164))
    assert parses == 1
    monkeypatch.setattr(phonenumbers, "parse", real)
    assert answers == _fresh(e164)


def test_a_number_never_normalised_is_parsed_as_before() -> None:
    numbers._PARSED.clear()
    numbers.number_kind.cache_clear()
    assert numbers.number_kind("+33612345678") == "mobile"
    assert numbers.region_of("not a number") is None
