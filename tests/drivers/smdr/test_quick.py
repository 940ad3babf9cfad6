"""The quick paths (one pass over a record in its common shape) give exactly what the
long way gives: the same records, the same bad-line reasons and details, the same
notes, the same calls held. Each family's parser with `quick = False` is the
reference; lines are the fixtures, the same lines under other configs (device roles,
short abandons, a receive time before the calls) and fuzzed variants of them."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sources.smdr.avaya_ipoffice.parser import IpOfficeParser, quick_record, quick_segment
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.parsing import BadLine, LineParser, ParsedLine, plain_csv
from tests.drivers.smdr.helpers import config, fixture_lines
from tests.drivers.smdr.test_fuzz import mutated

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Toronto")
OPTIONS: list[dict[str, Any]] = [
    {},
    {"short_abandon_seconds": 8},
    {"voicemail": ["V95*", "4324"], "auto_attendant": ["E4750", "299999"]},
    {"auto_attendant": ["V9513"], "short_abandon_seconds": 30},
]
QUICK: dict[str, type[LineParser]] = {"avaya_ipoffice": IpOfficeParser}
STEMS = {"avaya_ipoffice": "avaya-ipoffice"}


def _run(fmt: str, options: dict[str, Any], lines: Sequence[str], quick: bool,
         received: datetime = NOW) -> list[object]:  # fmt: skip
    """What a parser makes of `lines`: per line its records or its BadLine, the
    notes and failures, then the timed-out calls."""
    parser = make_parser(config(fmt, **options), TZ)
    parser.quick = quick  # type: ignore[attr-defined]
    got: list[object] = []
    for line in lines:
        try:
            got.append(parser.feed(line, received))
        except BadLine as err:
            got.append((err.reason, err.detail))
        got.append((list(parser.notes), [str(e) for e in parser.failed], parser.pending()))
        parser.notes.clear()
        parser.failed.clear()
    got.append(parser.flush(received + timedelta(hours=1), everything=True))
    return got


def _flat(fmt: str, options: dict[str, Any], lines: Sequence[str], batch: bool,
          received: datetime = NOW) -> list[object]:  # fmt: skip
    """What a parser makes of `lines`, fed one by one by the long way (`batch` False)
    or in batches through `feed_lines` (as `Ingest` does): the records in order, each
    bad line's index, reason and detail, the notes, the failures, the calls held,
    then the timed-out calls."""
    parser = make_parser(config(fmt, **options), TZ)
    parser.quick = batch  # type: ignore[attr-defined]
    records: list[object] = []
    bad: list[object] = []
    notes: list[str] = []
    failed: list[str] = []
    at = 0
    while at < len(lines):
        if batch:
            at, err = parser.feed_lines(lines, at, received, records)  # type: ignore[arg-type]
        else:
            err = None
            try:
                records += parser.feed(lines[at], received)
            except BadLine as caught:
                err = caught
            at += 1
        if err is not None:
            assert isinstance(err, BadLine), err
            bad.append((at - 1, err.reason, err.detail))
        notes += parser.notes
        failed += [str(e) for e in parser.failed]
        parser.notes.clear()
        parser.failed.clear()
    flushed = parser.flush(received + timedelta(hours=1), everything=True)
    return [records, bad, notes, failed, parser.pending(), flushed]


def _same(fmt: str, options: dict[str, Any], lines: Sequence[str],
          received: datetime = NOW) -> None:  # fmt: skip
    _run(fmt, options, lines, True, received)  # warm the per-hour tables, as a stream does
    assert _run(fmt, options, lines, True, received) == _run(fmt, options, lines, False, received)
    # the batch lane (as `Ingest` feeds it) against the long way
    reference = _flat(fmt, options, lines, False, received)
    assert _flat(fmt, options, lines, True, received) == reference


@pytest.mark.parametrize("fmt", sorted(QUICK))
@pytest.mark.parametrize("options", OPTIONS)
def test_fixtures_same_records(fmt: str, options: dict[str, Any]) -> None:
    """Pins: every fixture line, in order, gives the same records either way."""
    _same(fmt, options, fixture_lines(STEMS[fmt]))


@pytest.mark.parametrize("fmt", sorted(QUICK))
def test_clock_ahead_same_records(fmt: str) -> None:
    """Pins: calls that end after the receive time are pulled back the same way (the
    quick path leaves them to the long way, which notes `time_in_future`)."""
    lines = fixture_lines(STEMS[fmt])
    first = _run(fmt, {}, lines, False, datetime(2000, 1, 1, tzinfo=UTC))
    assert any(isinstance(x, tuple) and x[0] == ["time_in_future"] for x in first)
    _same(fmt, {}, lines, datetime(2000, 1, 1, tzinfo=UTC))


def test_ipoffice_quick_path_is_taken() -> None:
    """The common one-record lines of the fixture are read by the quick path (so the
    differential tests above compare two different readings)."""
    lines = fixture_lines("avaya-ipoffice")
    parser = make_parser(config("avaya_ipoffice"), TZ)
    for line in lines:
        parser.feed(line, NOW)
    quick = [line for line in lines if quick_record(line.split(","), parser.ctx, NOW, {})]
    assert len(quick) >= 8
    assert all(line.split(",")[10] == "0" for line in quick)
    segments = [line for line in lines if quick_segment(line.split(","), parser.ctx)]
    assert set(segments) > set(quick)
    assert any(line.split(",")[10] == "1" for line in segments)


@pytest.mark.parametrize("fmt", sorted(QUICK))
@pytest.mark.parametrize("options", OPTIONS[:3])
def test_fuzzed_lines_same_records(fmt: str, options: dict[str, Any]) -> None:
    """Pins: fixture lines with one to three fields replaced by absurd or odd values
    (spaces, leading zeros, foreign digits, huge numbers) give the same records or
    the same bad-line reason and detail either way."""

    @settings(max_examples=300)
    @given(st.lists(mutated(STEMS[fmt]), min_size=1, max_size=6))
    def run(lines: list[str]) -> None:
        _same(fmt, options, fixture_lines(STEMS[fmt])[:1] + lines)

    run()


# per field of an IP Office record: (common values, near misses)
_IPO_FIELDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("2026/11/23 09:28:41", "2026/11/23 13:59:59", "2026/11/22 23:00:07"),
     ("2026/11/23 25:00:00", "2026/13/01 10:00:00", "2026/11/23 09:28:4",
      " 2026/11/23 09:28:41", "2026/11/23 09:60:00")),
    (("00:00:00", "00:00:13", "01:02:03"),
     ("1:02:03", "00:60:00", " 0:00:05", "+1:00:00", "99:59:59", "100:00:00", "00:00:1٣")),
    (("0", "5", "8", "9", "29", "30", "999"), ("1000", "08", " 8", "-1", "", "1_0")),
    (("8004206", "9145661757@172.16.2.10", ""), (" 123 ", "5@", "@1")),
    (("I", "O"), (" I", "X", "")),
    (("4324", "299999", ""), (" 203", "V9513")),
    (("4324", ""), ("x",)),
    (("",), ("1",)),
    (("0", "1"), (" 1", "", "01")),
    (("1000014155", "1949529", "7"), ("0", "00", "0123", "999999999999", "9999999999999",
                                       "١٢", " 7", "+7")),
    (("0", "1"), (" 0", "", "2")),
    (("E4324", "E4750", "T9161", "V9502", "V9513", "E218"), ("", " E4324", "E", "T", "V")),
    (("Joe",), ("",)),
    (("E4324", "E4750", "T9002", "V9513", "", "E218"), (" V9513", "E", "X1")),
    (("LINE 5.1",), ("",)),
    (("0", "", "11"), ("999", "1000", "01", " 1")),
    (("0", ""), ("7", "x")),
]  # fmt: skip


@st.composite
def ipo_line(draw: st.DrawFn) -> str:
    """An IP Office record built field by field: common values, and in a few fields
    a near miss (a space, a leading zero, a foreign digit, one past a bound); few
    Call IDs and start times, so that segments join."""
    odd = draw(st.sets(st.integers(0, len(_IPO_FIELDS) - 1), max_size=2))
    fields = [
        draw(st.sampled_from(rare if n in odd else common))
        for n, (common, rare) in enumerate(_IPO_FIELDS)
    ]
    return ",".join(fields) + draw(st.sampled_from(("", ",,,,,,,,,,,,,", ",x")))


@pytest.mark.parametrize("options", [*OPTIONS, {"short_abandon_seconds": 9}])
def test_generated_ipoffice_lines_same_records(options: dict[str, Any]) -> None:
    """Pins: IP Office records built field by field, alone or as segments of one call,
    give the same records, reasons and held calls either way."""

    @settings(max_examples=200)
    @given(st.lists(ipo_line(), min_size=1, max_size=8))
    def run(lines: list[str]) -> None:
        _same("avaya_ipoffice", options, lines)

    run()


@settings(max_examples=500)
@given(
    st.text(st.sampled_from('ab1 ,;|\t"\r\n\x00é'), max_size=30)
    | st.sampled_from(fixture_lines("3cx")),
    st.sampled_from([",", ";", "|", "\t"]),
)
def test_plain_csv_is_what_the_csv_module_reads(line: str, delimiter: str) -> None:
    """Pins: whenever the one-`split` path answers, it answers what `csv.reader` reads
    (3CX and custom CSV lines); lines with quotes, line ends or NUL go to the module."""
    fields = plain_csv(line, delimiter)
    if fields is not None:
        assert fields == next(csv.reader([line], delimiter=delimiter))
    if line and not set(line) & set('"\r\n\x00'):
        assert fields is not None


@given(st.text(max_size=200) | st.sampled_from(fixture_lines("mitel-mivb")))
def test_mivb_columns_cut_in_c_as_by_slices(line: str) -> None:
    """Pins: the precompiled column getter cuts what one slice per column cuts."""
    parser = make_parser(config("mitel_mivb"), TZ)
    by_slices = {name: line[s].strip() for name, s in parser._slices.items()}  # type: ignore[attr-defined]
    assert parser._cols(line) == by_slices  # type: ignore[attr-defined]


def _threecx(lines: Sequence[str], cold: bool) -> list[object]:
    parser = make_parser(config("threecx"), TZ)
    got: list[object] = []
    for line in [*lines, *lines]:  # the second time round, every hour has been read
        if cold:
            parser._hours.clear()  # type: ignore[attr-defined]
        try:
            got.append(parser.feed(line, NOW))
        except BadLine as err:
            got.append((err.reason, err.detail))
    return got


def test_threecx_hours_read_once_give_the_same_records() -> None:
    """Pins: 3CX stamps read through the table of hours already seen give what the
    full reading gives (fixture lines, twice over)."""
    lines = fixture_lines("3cx")
    assert _threecx(lines, cold=False) == _threecx(lines, cold=True)


@settings(max_examples=200)
@given(st.lists(mutated("3cx"), min_size=1, max_size=6))
def test_threecx_fuzzed_stamps_same_records(lines: list[str]) -> None:
    """Pins: the same for fixture lines with odd values in their fields."""
    assert _threecx(fixture_lines("3cx")[:2] + lines, cold=False) == _threecx(
        fixture_lines("3cx")[:2] + lines, cold=True
    )


def test_finish_builds_the_parsed_line_its_constructor_builds() -> None:
    """Pins `finish`'s in-place `ParsedLine`: equal to, hashed like and as frozen as
    the one its constructor builds from the same facts."""
    parser = make_parser(config("samsung"), TZ)
    line = fixture_lines("samsung")[1]
    parsed = parser.parse(line, NOW)
    assert type(parsed) is ParsedLine
    built = ParsedLine(parsed.classification, parsed.caller, parsed.dialed, parsed.record,
                       parsed.notes)  # fmt: skip
    assert parsed == built and hash(parsed) == hash(built) and parsed.record is not None
    with pytest.raises(AttributeError):
        parsed.caller = "x"  # type: ignore[misc]


@pytest.mark.parametrize("line", fixture_lines("3cx"))
def test_threecx_extensions_and_who_answered(line: str) -> None:
    """Pins a 3CX call's extensions (to-dn then final-dn, each once, the empty ones
    left out) and who answered (final-dn of an answered call)."""
    parser = make_parser(config("threecx"), TZ)
    row = parser._row(line)  # type: ignore[attr-defined]
    (record,) = parser.feed(line, NOW)
    parties = (row.get("to-dn"), row.get("final-dn"))
    assert record.extensions == tuple(dict.fromkeys(x for x in parties if x))
    answered = record.outcome.value == "answered"
    assert record.answered_by == (row.get("final-dn") if answered else None)
