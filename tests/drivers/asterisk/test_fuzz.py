"""Property-based fuzzing of the AMI framing and the call tracker: arbitrary bytes,
cut anywhere, and recorded streams with header values replaced by anything, never
raise; everything odd lands in a named counter and the `event_failed` net stays 0."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.model import Counters
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.events import WANTED
from drivers.sources.asterisk.frames import FrameParser
from drivers.sources.asterisk.tracker import CallTracker
from tests.drivers.asterisk.conftest import SCENARIOS, make_config, recorded
from tests.peers.ami_server import split_frames

CONFIG = make_config(max_frame_bytes=4096)
STREAMS = [split_frames(recorded(name)[0]) for name in SCENARIOS]
_VALUES = st.sampled_from(
    ["", "1e300", "nan", "-1", "9" * 400, "99999999:00:00", "\x00", "Côté", "1.1", "x" * 5000]
) | st.text(max_size=30)


@st.composite
def mutated_stream(draw: st.DrawFn) -> bytes:
    """A recorded call with a few header values replaced by odd ones."""
    frames = list(draw(st.sampled_from(STREAMS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(frames) - 1))
        lines = frames[at].split(b"\r\n")
        row = draw(st.integers(0, len(lines) - 1))
        key = lines[row].partition(b":")[0]
        lines[row] = key + b": " + draw(_VALUES).encode("utf-8", "surrogatepass")
        frames[at] = b"\r\n".join(lines)
    return b"\r\n\r\n".join(frames) + b"\r\n\r\n"


def _run(data: bytes, cuts: list[int]) -> Counters:
    counters = Counters()
    report = BadInput(counters, CONFIG.name)
    parser = FrameParser(counters, report, CONFIG.max_frame_bytes, WANTED)
    tracker = CallTracker(CONFIG, counters, report)
    at = 1_732_000_000.0
    pieces, start = [], 0
    for cut in sorted(cuts):
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    for piece in pieces:
        for frame in parser.feed(piece):
            if "Event" in frame:
                tracker.feed(frame, at)
        at += 1.0
    tracker.resync([], at)
    tracker.evict(at + 10**7)
    return counters


@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    """Pins: any bytes, cut into any reads, go through framing and tracking without
    an exception; the tracker's safety net is never needed."""
    assert _run(data, cuts).get("event_failed") == 0


@given(mutated_stream(), st.lists(st.integers(0, 20000), max_size=8))
def test_mutated_recordings_never_raise(data: bytes, cuts: list[int]) -> None:
    """Pins: a recorded call whose headers carry absurd values (timestamps, durations,
    NUL, 5 kB values, ids) is tracked or counted, never an exception."""
    assert _run(data, cuts).get("event_failed") == 0
