"""Framers: bytes with any line ending, chunked anyhow, give the same records."""

from __future__ import annotations

import random

import pytest

from drivers.sources.smdr.framing import LengthPrefixedFramer, LineFramer
from tests.drivers.smdr.helpers import fixture_lines
from tests.peers.smdr_line import chunked, with_endings

LINES = fixture_lines("avaya-ipoffice") + fixture_lines("panasonic")


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b"\r\n\n", b"\r\n\x0c"])
@pytest.mark.parametrize("seed", range(5))
def test_any_line_ending_and_chunking_gives_the_same_lines(ending: bytes, seed: int) -> None:
    """Pins CR, LF, CRLF, CRLFLF and form-feed endings under random chunking (seeded):
    the framer yields exactly the original lines, no empty ones."""
    data = b"\x0c\r\n" + with_endings(LINES, ending) + b"\r\n\r\n"
    framer = LineFramer()
    out: list[bytes] = []
    for piece in chunked(data, random.Random(seed), largest=17):
        out.extend(framer.feed(piece))
    assert [o.decode() for o in out] == LINES
    assert framer.take_partial() == b"" and framer.dropped == []


def test_overlong_line_is_cut_counted_and_the_next_line_survives() -> None:
    """Pins that a line longer than max_bytes (a PBX spewing without line ends) is
    dropped as line_too_long, its tail skipped, and the following line kept."""
    framer = LineFramer(max_bytes=128)
    out = framer.feed(b"x" * 100)
    out += framer.feed(b"y" * 100)
    out += framer.feed(b"tail\r\nPIN 10:53 022 2142623801 NO ANSWER\r\n")
    assert out == [b"PIN 10:53 022 2142623801 NO ANSWER"]
    assert [reason for reason, _ in framer.dropped] == ["line_too_long"]


def test_partial_record_is_handed_back_when_the_link_drops() -> None:
    """Pins take_partial(): the half record left when the cable is pulled is returned
    once (to be counted as line_truncated) and forgotten."""
    framer = LineFramer()
    assert framer.feed(b"2008/06/28 09:28:41,00:00") == []
    assert framer.take_partial() == b"2008/06/28 09:28:41,00:00"
    assert framer.take_partial() == b""


@pytest.mark.parametrize("seed", range(5))
def test_length_prefixed_records_under_random_chunking(seed: int) -> None:
    """Pins the Mitel 5000 socket framing: <uint32 LE length><record CRLF>, chunked
    at random, with or without CRLF outside the length."""
    records = [
        b"TLC 11202 94003 961-9000   08:36 00:00:03 $00.00",
        b"IN  *****  94001  08:40 00:00:12",
    ]
    data = b""
    for i, rec in enumerate(records * 3):
        body = rec + b"\r\n"
        data += (
            len(body).to_bytes(4, "little") + body
            if i % 2
            else (len(rec).to_bytes(4, "little") + rec + b"\r\n")
        )
    framer = LengthPrefixedFramer()
    out: list[bytes] = []
    for piece in chunked(data, random.Random(seed), largest=9):
        out.extend(framer.feed(piece))
    assert out == records * 3


def test_length_prefixed_resyncs_after_garbage() -> None:
    """Pins that an impossible length (line noise) is dropped as line_garbled and
    framing resumes at the next record."""
    rec = b"TLC 11202 94003 961-9000   08:36 00:00:03 $00.00\r\n"
    framer = LengthPrefixedFramer()
    out = framer.feed(b"\xff\xff\xff\xffgarbage\r\n" + len(rec).to_bytes(4, "little") + rec)
    assert out == [rec.rstrip()]
    assert [reason for reason, _ in framer.dropped] == ["line_garbled"]
