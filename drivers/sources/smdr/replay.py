"""`ringback replay --source smdr --format FAMILY FILE`: parse a saved SMDR log.

The same framing, decoding, parser and bad-line accounting as the live source, fed
from bytes. Every line is taken as received now (`site.clock()`), which is what a
year- or date-less format needs to place its calls; held continuation calls are
released at the end of the data.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator

from agent.model import CallRecord, Counters
from drivers.base import SiteContext
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.framing import Framer, LengthPrefixedFramer, LineFramer
from drivers.sources.smdr.ingest import COUNTERS, Ingest

log = logging.getLogger("drivers.sources.smdr")
CHUNK = 64 * 1024


def looks_length_prefixed(data: bytes) -> bool:
    """A saved Mitel 5000 socket capture starts with a small little-endian length."""
    if len(data) < 4:
        return False
    (size,) = struct.unpack_from("<I", data)
    return 0 < size < 4096 and data[2:4] == b"\0\0"


def framer_for(config: SmdrConfig, data: bytes) -> Framer:
    framing = config.mitel_5000.framing if config.mitel_5000 else "auto"
    if config.format == "mitel_5000" and (
        framing == "length_prefixed" or (framing == "auto" and looks_length_prefixed(data))
    ):
        return LengthPrefixedFramer(config.max_line_bytes)
    return LineFramer(config.max_line_bytes)


def replay(data: bytes, config: SmdrConfig, site: SiteContext) -> Iterator[CallRecord]:
    counters = Counters(*COUNTERS)
    ingest = Ingest(make_parser(config, site.tz), config, counters)
    framer = framer_for(config, data)
    now = site.clock()
    for start in range(0, len(data), CHUNK):
        yield from ingest.lines(framer.feed(data[start : start + CHUNK]), now)
        for reason, raw in framer.dropped:
            ingest.bad(reason, raw, "cut by framing", now)
        framer.dropped.clear()
    tail = framer.take_partial()
    if tail:
        yield from ingest.line(tail, now)  # a file may end without a line end
    yield from ingest.flush(now, everything=True)
    bad = {k: v for k, v in counters.snapshot().items() if v and k not in ("lines", "records")}
    if bad:
        log.info("smdr replay %s: %s", config.name, ", ".join(f"{k}={v}" for k, v in bad.items()))
