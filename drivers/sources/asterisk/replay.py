"""`ringback replay --source asterisk FILE.ami`: a saved AMI stream through the same
frame parser and tracker as the live source."""

from __future__ import annotations

from collections.abc import Iterator

from agent.model import CallRecord, Counters
from drivers.base import SiteContext
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.events import WANTED
from drivers.sources.asterisk.frames import FrameParser
from drivers.sources.asterisk.tracker import CallTracker, event_time

CHUNK = 65536


def replay(
    data: bytes,
    config: AsteriskConfig,
    site: SiteContext,
    counters: Counters | None = None,
) -> Iterator[CallRecord]:
    """Yield the calls a recorded stream finishes, in order.

    Times come from each event's `Timestamp:` header; an event without one takes the
    time of the last event that had one (the site clock before the first). Calls
    still in progress at the end of the stream are not yielded.
    """
    counters = counters if counters is not None else Counters()
    report = BadInput(counters, config.name)
    parser = FrameParser(counters, report, config.max_frame_bytes, WANTED)
    tracker = CallTracker(config, counters, report)
    clock = site.clock().timestamp()
    for start in range(0, len(data), CHUNK):
        for frame in parser.feed(data[start : start + CHUNK]):
            if "Event" not in frame:
                continue
            clock = event_time(frame, clock, report)
            yield from tracker.feed(frame, clock)
