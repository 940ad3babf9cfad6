"""Property-based fuzzing of the status API's paging parameters: any `cursor` or
`limit` text is a value in range or a `PageError` with a stable reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.status.paging import (
    FEEDS,
    MAX_LIMIT,
    PageError,
    decode_cursor,
    encode_cursor,
    parse_limit,
)

_TEXT = st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.hex())


@given(_TEXT)
def test_any_limit_is_in_range_or_bad_limit(text: str) -> None:
    """Pins: a limit is 1..MAX_LIMIT or PageError("bad_limit"), nothing else."""
    try:
        value = parse_limit(text)
    except PageError as err:
        assert (err.reason, err.status) == ("bad_limit", 400)
    else:
        assert 1 <= value <= MAX_LIMIT


@given(st.sampled_from(sorted(FEEDS)), _TEXT | st.integers(0, 2**70).map(str))
def test_any_cursor_is_an_id_or_bad_cursor(feed: str, text: str) -> None:
    """Pins: a cursor decodes to an id >= 0 or is PageError("bad_cursor")."""
    try:
        value = decode_cursor(feed, text)
    except PageError as err:
        assert (err.reason, err.status) == ("bad_cursor", 400)
    else:
        assert 0 <= value < 2**63


@given(st.sampled_from(sorted(FEEDS)), st.integers(0, 2**63 - 1))
def test_cursors_handed_out_round_trip(feed: str, last_id: int) -> None:
    """Pins: every cursor the API hands out decodes back to its id for its own feed."""
    assert decode_cursor(feed, encode_cursor(feed, last_id)) == last_id
