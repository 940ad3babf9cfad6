"""Property-based fuzzing of every SMDR family: whatever a PBX (or line noise) sends,
a parser raises nothing but `BadLine`, and `Ingest` turns everything into a call or a
named bad-line counter; its `parser_error` safety net is never needed."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.model import Counters
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.ingest import COUNTERS, Ingest
from drivers.sources.smdr.parsing import BadLine
from tests.drivers.smdr.helpers import VENDORS, config, fixture_lines

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Toronto")
FAMILIES = sorted(VENDORS.items())
_FIELD = re.compile(r"\d+|[A-Za-z]+|[/:',]")
_ODD_VALUES = st.sampled_from(
    ["9" * 38, "0", "00", "9999", "99:99:99", "9999/99/99", "0000/00/00", "-1", "٣", "²", ""]
)


@st.composite
def mutated(draw: st.DrawFn, stem: str) -> str:
    """A fixture line with one to three of its tokens replaced: the shape of the
    family kept, a value in it absurd."""
    line = draw(st.sampled_from(fixture_lines(stem)))
    for _ in range(draw(st.integers(1, 3))):
        tokens = list(_FIELD.finditer(line))
        if not tokens:
            break
        token = draw(st.sampled_from(tokens))
        value = draw(
            _ODD_VALUES | st.text(max_size=12) | st.from_regex(r"\d{1,40}", fullmatch=True)
        )
        line = line[: token.start()] + value + line[token.end() :]
    return line


def _feed_all(fmt: str, lines: list[str]) -> None:
    parser = make_parser(config(fmt), TZ)
    for line in lines:
        with contextlib.suppress(BadLine):
            parser.feed(line, NOW)
    parser.flush(NOW, everything=True)


@pytest.mark.parametrize(("stem", "fmt"), FAMILIES)
def test_mutated_records_raise_only_badline(stem: str, fmt: str) -> None:
    """Pins, per family: a record with absurd values in its fields (38-digit numbers,
    impossible dates and times, foreign digits, random text) is a `BadLine` or a
    call, never another exception out of the parser."""

    @given(st.lists(mutated(stem), min_size=1, max_size=4))
    def run(lines: list[str]) -> None:
        _feed_all(fmt, lines)

    run()


@pytest.mark.parametrize(("stem", "fmt"), FAMILIES)
def test_arbitrary_bytes_become_counted_bad_lines(stem: str, fmt: str) -> None:
    """Pins, per family: arbitrary bytes through `Ingest` raise nothing, every line is
    a call or a named bad-line counter, and the `parser_error` net stays at zero."""

    @given(st.lists(st.binary(max_size=200) | mutated(stem).map(str.encode), max_size=5))
    def run(raws: list[bytes]) -> None:
        counters = Counters(*COUNTERS)
        cfg = config(fmt)
        ingest = Ingest(make_parser(cfg, TZ), cfg, counters)
        ingest.lines(raws, NOW)
        ingest.flush(NOW, everything=True)
        assert counters.get("parser_error") == 0, list(ingest.bad_lines)

    run()


def test_a_time_to_answer_in_foreign_digits_is_a_bad_line() -> None:
    """Pins the case the fuzzer found: '²' is a digit to `str.isdigit` but not to
    `float`; MiVB's time-to-answer column holding it is `field_impossible`, not a
    ValueError out of the parser."""
    line = fixture_lines("mitel-mivb")[2]
    assert "0000 9999" in line
    parser = make_parser(config("mitel_mivb"), TZ)
    with pytest.raises(BadLine) as bad:
        parser.feed(line.replace("0000 9999", "²²²² 9999", 1), NOW)
    assert bad.value.reason == "field_impossible"
