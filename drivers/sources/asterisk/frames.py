"""AMI framing: raw bytes from the socket -> header dicts. Pure, no I/O.

A frame is CRLF-separated `Key: Value` lines ending with an empty line. Bytes are
buffered until a frame is complete and only then decoded, so a UTF-8 character split
across TCP reads ("Côté" cut inside the "ô") is decoded whole. Frames longer than
`max_frame_bytes` are dropped without being buffered further, so a 1 MB line costs
no more memory than the limit. Events whose name is not wanted are skipped before
their headers are split, which is most of the cost on a `read=all` stream.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

from agent.model import Counters

Frame = dict[str, str]
Report = Callable[[str, str], None]

SEP = b"\r\n\r\n"
_split = str.split
BANNER = "Asterisk Call Manager/"


def _split_lines(text: str, report: Report) -> Frame:
    """The slow path: tolerate lines without `: `, `Key:` with no value, the banner."""
    frame: Frame = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key and " " not in key:
            frame.setdefault(key, value[1:] if value.startswith(" ") else value)
        elif line.startswith(BANNER):
            frame.setdefault("Banner", line[len(BANNER) :])
        elif line.strip():
            report("bad_line", f"line without 'Key: value': {line[:80]!r}")
    return frame


def parse_frame(raw: bytes, report: Report) -> Frame:
    """One complete frame (without its terminating empty line) -> its headers."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        report("bad_frame_utf8", "frame is not valid UTF-8, undecodable bytes replaced")
        text = raw.decode("utf-8", "replace")
    try:
        # str.split mapped over the lines: no Python frame per line (a line without
        # ": " makes a 1-item list, which dict() refuses with ValueError)
        return dict(map(_split, text.split("\r\n"), repeat(": "), repeat(1)))
    except ValueError:
        return _split_lines(text, report)


class FrameParser:
    """Feed it socket reads; it returns the complete frames that have an `Event` or a
    `Response` header. `wanted` (event names) lets it skip other events cheaply."""

    __slots__ = ("_buf", "_counters", "_discarding", "_max", "_report", "_wanted", "_wanted_bytes")

    def __init__(
        self,
        counters: Counters,
        report: Report,
        max_frame_bytes: int = 65536,
        wanted: frozenset[str] | None = None,
    ) -> None:
        self._buf = b""
        self._discarding = False
        self._counters = counters
        self._report = report
        self._max = max_frame_bytes
        self._wanted = wanted
        # the names as bytes: an event is skipped or kept without decoding its name
        self._wanted_bytes = None if wanted is None else frozenset(n.encode() for n in wanted)

    def feed(self, data: bytes) -> list[Frame]:
        if self._discarding:
            data = self._skip_oversize(data)
        buf = self._buf + data if self._buf else data
        parts = buf.split(SEP)
        self._buf = parts.pop()
        if len(self._buf) > self._max:
            self._buf = b""
            self._discarding = True
            self._report("bad_frame_oversize", f"frame longer than {self._max} bytes dropped")
        return self._frames(parts)

    def _skip_oversize(self, data: bytes) -> bytes:
        """Drop bytes until the end of the oversized frame."""
        end = data.find(SEP)
        if end < 0:
            return b""
        self._discarding = False
        return data[end + len(SEP) :]

    def _frames(self, parts: list[bytes]) -> list[Frame]:
        out: list[Frame] = []
        wanted = self._wanted_bytes
        skipped = 0
        for raw in parts:
            if raw[:7] == b"Event: " and wanted is not None:
                end = raw.find(b"\r\n")
                if raw[7 : end if end >= 0 else None] not in wanted:
                    skipped += 1
                    continue
            frame = self._one(raw)
            if frame is not None:
                out.append(frame)
        if skipped:
            self._counters.inc("events_ignored", skipped)
        return out

    def _one(self, raw: bytes) -> Frame | None:
        if raw[:2] == b"\r\n":
            raw = raw.lstrip(b"\r\n")
        if not raw:
            return None
        if len(raw) > self._max:
            self._report("bad_frame_oversize", f"frame longer than {self._max} bytes dropped")
            return None
        frame = parse_frame(raw, self._report)
        if "Event" in frame or "Response" in frame:
            return frame
        if "Banner" not in frame:
            self._report("bad_frame_no_event", f"frame without Event: {raw[:60]!r}")
        return None
