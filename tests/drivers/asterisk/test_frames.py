"""The frame parser: bytes as TCP delivers them -> header dicts."""

from __future__ import annotations

import random

from agent.model import Counters
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.frames import FrameParser, parse_frame

NAME_FRAME = "Event: Newchannel\r\nCallerIDName: Côté Zoë 日本\r\nUniqueid: 1.1\r\n\r\n".encode()


def parser(counters: Counters, max_bytes: int = 65536) -> FrameParser:
    return FrameParser(counters, BadInput(counters, "pbx"), max_bytes)


def test_utf8_split_at_every_byte_survives() -> None:
    """A caller name survives whatever byte the TCP read ends on (panoramisk 1.4 loses
    the split character)."""
    for cut in range(1, len(NAME_FRAME)):
        counters = Counters()
        p = parser(counters)
        frames = p.feed(NAME_FRAME[:cut]) + p.feed(NAME_FRAME[cut:])
        assert [f["CallerIDName"] for f in frames] == ["Côté Zoë 日本"]
        assert counters.snapshot() == {}


def test_random_chunking_gives_the_same_frames() -> None:
    """Random read sizes (seeded) change nothing in what is parsed."""
    stream = NAME_FRAME * 50
    rng = random.Random(7)
    p = parser(Counters())
    frames = []
    pos = 0
    while pos < len(stream):
        size = rng.randint(1, 40)
        frames += p.feed(stream[pos : pos + size])
        pos += size
    assert len(frames) == 50
    assert all(f["CallerIDName"] == "Côté Zoë 日本" for f in frames)


def test_one_megabyte_line_is_dropped_and_counted_with_bounded_buffer() -> None:
    """A 1 MB line is dropped and counted once; the frame after it is intact and the
    buffer never holds more than the limit."""
    counters = Counters()
    p = parser(counters, max_bytes=4096)
    huge = b"Event: VarSet\r\nValue: " + b"x" * 1_000_000 + b"\r\n\r\n"
    frames = []
    for start in range(0, len(huge), 8192):
        frames += p.feed(huge[start : start + 8192])
        assert len(p._buf) <= 4096 + 8192
    frames += p.feed(NAME_FRAME)
    assert [f["Uniqueid"] for f in frames] == ["1.1"]
    assert counters.get("bad_frame_oversize") == 1


def test_frame_without_event_and_garbage_are_counted() -> None:
    """Headers with no Event/Response, binary garbage and invalid UTF-8 are counted by
    kind; the next good frame is parsed."""
    counters = Counters()
    p = parser(counters)
    garbage = bytes(range(256)) + b"\r\n\r\n"
    frames = p.feed(b"Uniqueid: 1\r\nChannel: x\r\n\r\n" + garbage + NAME_FRAME)
    assert [f["Event"] for f in frames] == ["Newchannel"]
    snap = counters.snapshot()
    assert snap["bad_frame_no_event"] == 2
    assert snap["bad_frame_utf8"] == 1
    assert snap["bad_line"] >= 1


def test_banner_and_lines_without_space() -> None:
    """The greeting banner joins the first response without being an error; `Key:`
    with an empty value is kept."""
    counters = Counters()
    p = parser(counters)
    frames = p.feed(
        b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\nActionID: 1\r\n\r\n"
        b"Event: Hangup\r\nAccountCode:\r\nUniqueid: 2\r\n\r\n"
    )
    assert frames[0]["Banner"] == "9.0.0"
    assert frames[1]["AccountCode"] == ""
    assert counters.snapshot() == {}


def test_unwanted_events_skipped_before_parsing() -> None:
    """With a wanted set, other events are only counted."""
    counters = Counters()
    p = FrameParser(counters, BadInput(counters, "pbx"), 65536, frozenset({"Hangup"}))
    frames = p.feed(b"Event: VarSet\r\nA: b\r\n\r\nEvent: Hangup\r\nUniqueid: 1\r\n\r\n")
    assert [f["Event"] for f in frames] == ["Hangup"]
    assert counters.get("events_ignored") == 1


def test_parse_frame_keeps_colons_in_values() -> None:
    """Only the first `: ` separates key and value."""
    frame = parse_frame(b"Event: Newexten\r\nAppData: a: b: c", BadInput(Counters(), "x"))
    assert frame["AppData"] == "a: b: c"
