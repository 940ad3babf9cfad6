"""One mask for every log line: `agent.numbers.mask_text`, applied by the logging
set-up at INFO and above, hides every phone-number-like run of digits and keeps dates,
times, call ids and addresses readable."""

from __future__ import annotations

import io
import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.daemon import logs
from agent.numbers import mask, mask_text

HIDDEN = [
    ("+15145550123", "••••••••••23"),
    ("5145550123", "••••••••23"),
    ("514 555 0123", "••••••••23"),
    ("514-555-0123", "••••••••23"),
    ("(514) 555-0123", "••••••••23"),
    ("514.555.0123", "••••••••23"),
    ("+1 514 555 0123", "••••••••••23"),
    ("+1 5145550123", "••••••••••23"),
    ("+33 6 12 34 56 78", "••••••••••78"),
    ("1-800-555-0199", "•••••••••99"),
    ("8004206", "•••••06"),
    ("sip:5145550123@10.0.0.1", "sip:••••••••23@10.0.0.1"),
    ("caller=+15145550123,", "caller=••••••••••23,"),
]
KEPT = [
    "2026-11-23",
    "2026-11-23 19:00:00",
    "2026-11-23T19:00:00.123456+00:00",
    "23.11.2026",
    "2008/06/28 09:28:41",
    "1732000000.123",
    "Uniqueid: 1732000000.1234",
    "Timestamp: 1732000001.500000",
    "20080628T093057",
    "192.168.100.200:5038",
    "ext 4324 line 5.1",
    "10:53 022",
    "3 calls in 12 34 seconds",
    "4096 bytes",
]


@pytest.mark.parametrize(("text", "masked"), HIDDEN)
def test_phone_numbers_are_masked_in_every_spelling(text: str, masked: str) -> None:
    """Pins the masked form of each way a number is written: every digit but the
    last two hidden, the same form `mask` gives a whole number."""
    assert mask_text(f"x {text} y") == f"x {masked} y"


@pytest.mark.parametrize("text", KEPT)
def test_dates_times_ids_and_addresses_stay_readable(text: str) -> None:
    """Pins what is not a number: ISO dates, clock times, AMI ids and timestamps,
    compact timestamps, IPv4 addresses, extensions and small counts are unchanged."""
    assert mask_text(text) == text


_SEPARATORS = st.sampled_from(["", " ", "-", ".", " - "])
_CONTEXT = st.sampled_from(["", " ", "caller ", "from=", "raw b'", "(", ",", "tel:", "to "])


@st.composite
def written_number(draw: st.DrawFn) -> tuple[str, str]:
    """A 10- or 11-digit number written with random grouping, and its digits."""
    digits = draw(st.from_regex(r"[2-9][0-9]{9}", fullmatch=True))
    plus = draw(st.booleans())
    if plus:
        digits = "1" + digits
    sep = draw(_SEPARATORS)
    if sep and not plus:
        text = sep.join((digits[:3], digits[3:6], digits[6:]))
    elif sep:
        text = "+" + sep.join((digits[:1], digits[1:4], digits[4:7], digits[7:]))
    else:
        text = ("+" if plus else "") + digits
    return text, digits


@given(written_number(), _CONTEXT, st.sampled_from(["", " ", ",", "'", ")", " NO ANSWER"]))
def test_fuzzed_numbers_never_survive(number: tuple[str, str], before: str, after: str) -> None:
    """Pins on a fuzz corpus: whatever the grouping and the text around it, no run
    of 5 or more of the number's first digits survives masking."""
    text, digits = number
    out = mask_text(before + text + after)
    assert digits[:5] not in re.sub(r"\D", "", out), out
    assert out.endswith(digits[-2:] + after)


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_and_is_stable(text: str) -> None:
    """Pins: any text masks without error, and masking twice changes nothing more."""
    once = mask_text(text)
    assert mask_text(once) == once


def _line(level: int, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.PlainFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.masking")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.log(level, message, *args)
    return stream.getvalue()


def test_log_lines_at_warning_hide_numbers_without_plus() -> None:
    """Pins the issue-15 leak: a bad SMDR line or AMI frame logged at WARNING with a
    caller's number written without `+` reaches the journal masked; the same line at
    DEBUG (technician's --verbose) keeps it."""
    message = "smdr pbx: line_garbled, 40 bytes skipped: %s"
    raw = "2026/11/23 10:53 022 5145550123 NO ANSWER call 1732000000.123"
    warned = _line(logging.WARNING, message, raw)
    assert "5145550123" not in warned and "••••••••23" in warned
    assert "2026/11/23 10:53 022" in warned and "1732000000.123" in warned
    assert "5145550123" in _line(logging.DEBUG, message, raw)


def test_mask_is_the_one_format() -> None:
    """Pins the one format of issue 13: `mask` of a whole number equals `mask_text` of
    the same number, whatever module shows it."""
    assert mask("+15145550123") == mask_text("+15145550123") == "••••••••••23"
    assert mask(None) == "-" and mask("12") == "••"
