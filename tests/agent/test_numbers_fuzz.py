"""Property-based fuzzing of number normalisation: any text a PBX or a caller sends
is an E.164 number or a skip reason, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.numbers import normalize

_LIKE_A_NUMBER = st.from_regex(
    r"(sip:|tel:)?\+?[0-9 ()./-]{0,25}(@[a-z0-9.]{0,10})?", fullmatch=True
)


@given(st.text(max_size=60) | _LIKE_A_NUMBER, st.sampled_from(["CA", "US", "FR", "ZZ", ""]))
def test_normalize_never_raises(raw: str, region: str) -> None:
    """Pins: `normalize` gives (E.164, "") or (None, a known skip reason) for any text
    and any region code, including an unknown one."""
    e164, reason = normalize(raw, region)
    if e164 is None:
        assert reason in {"withheld_number", "not_a_phone_number", "invalid_number"}
    else:
        assert reason == "" and e164.startswith("+") and e164[1:].isdigit()
