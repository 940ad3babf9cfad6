"""Framing: bytes from the serial line into lines and prompts. Pure and incremental.

A modem writes `<CR><LF>text<CR><LF>`; echoes end with a bare `<CR>`; the PDU prompt is
`> ` (or `>` then `<CR><LF>`) with no line end. `LineFramer.feed()` takes whatever the
port delivered and returns the complete events, keeping a partial line for later.
Ctrl-Z and ESC bytes (echoed back when echo is on) are dropped; a line holding other
control bytes or non-ASCII is marked `garbled`; an endless line is cut at `max_line`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERMINATORS = re.compile(rb"[\r\n]")
_PROMPTS = (b">", b"> ")
_DROPPED = bytes.maketrans(b"", b"")


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    garbled: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """The `> ` that invites the PDU after `AT+CMGS=<n>`."""


Event = Line | Prompt


def _line(raw: bytes) -> Line | None:
    raw = raw.translate(_DROPPED, b"\x1a\x1b")
    if not raw.strip():
        return None
    text = raw.decode("ascii", errors="replace").strip()
    garbled = any(ch == "\ufffd" or (ord(ch) < 0x20 and ch != "\t") for ch in text)
    return Line(text, garbled)


class LineFramer:
    def __init__(self, max_line: int = 4096) -> None:
        self._buffer = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while match := _TERMINATORS.search(self._buffer):
            raw = bytes(self._buffer[: match.start()])
            del self._buffer[: match.end()]
            events.extend(self._event(raw))
        rest = bytes(self._buffer).lstrip(b"\x00")
        if rest in _PROMPTS:
            self._buffer.clear()
            events.append(Prompt())
        elif len(self._buffer) > self._max_line:
            events.append(Line(bytes(self._buffer[:80]).decode("ascii", "replace"), True))
            self._buffer.clear()
        return events

    def _event(self, raw: bytes) -> list[Event]:
        if raw.strip() in _PROMPTS:
            return [Prompt()]
        line = _line(raw)
        return [line] if line is not None else []
