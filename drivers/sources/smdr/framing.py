"""Bytes to raw records: line ends, form feeds, blank lines, over-long lines, and the
Mitel 5000 length-prefixed socket framing. Pure; one framer per connection.

A framer's `feed(data)` returns the complete records (bytes, no terminator) and
appends what it had to throw away to `dropped` as `(counter name, raw bytes)`;
`take_partial()` returns (and forgets) an unfinished record when the link drops.
"""

from __future__ import annotations

import struct
from typing import Protocol

_LINE_ENDS = (10, 13)


class Framer(Protocol):
    dropped: list[tuple[str, bytes]]

    def feed(self, data: bytes) -> list[bytes]: ...

    def take_partial(self) -> bytes: ...


class LineFramer:
    """CR, LF, CRLF, CRLFLF and form feeds all end a line; blank lines vanish. A line
    longer than `max_bytes` is cut, reported as `line_too_long`, and its tail skipped
    up to the next line end."""

    def __init__(self, max_bytes: int = 4096) -> None:
        self._max = max_bytes
        self._buf = b""
        self._skipping = False
        self.dropped: list[tuple[str, bytes]] = []

    def feed(self, data: bytes) -> list[bytes]:
        if b"\f" in data:
            data = data.replace(b"\f", b"\n")
        buf = self._buf + data if self._buf else data
        parts = buf.splitlines()
        self._buf = parts.pop() if parts and buf[-1] not in _LINE_ENDS else b""
        if self._skipping and parts:
            parts[0], self._skipping = b"", False
        if len(self._buf) > self._max:
            self._too_long(self._buf)
            self._buf, self._skipping = b"", True
        out = list(filter(bytes.strip, parts))  # C loops: no bytecode per line
        if out and max(map(len, out)) > self._max:
            for p in out:
                if len(p) > self._max:
                    self._too_long(p)
            out = [p for p in out if len(p) <= self._max]
        return out

    def _too_long(self, raw: bytes) -> None:
        self.dropped.append(("line_too_long", raw[: self._max]))

    def take_partial(self) -> bytes:
        partial, self._buf, self._skipping = self._buf, b"", False
        return partial if partial.strip() else b""


class LengthPrefixedFramer:
    """Mitel 5000 socket: `<uint32 LE length><record>` with CR LF after (or inside)
    each record. An impossible length means we lost sync: the bytes up to the next
    line end are dropped as `line_garbled` and framing resumes after it."""

    def __init__(self, max_bytes: int = 4096) -> None:
        self._max = max_bytes
        self._buf = b""
        self.dropped: list[tuple[str, bytes]] = []

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            buf = self._buf.lstrip(b"\r\n")
            if len(buf) < 4:
                self._buf = buf
                return out
            (size,) = struct.unpack_from("<I", buf)
            if not 0 < size <= self._max:
                self._buf = self._resync(buf)
                continue
            if len(buf) < 4 + size:
                self._buf = buf
                return out
            record = buf[4 : 4 + size].rstrip(b"\r\n\x00")
            self._buf = buf[4 + size :]
            if record.strip() and record[:1] != b"\x84":  # not an echo of a login frame
                out.append(record)

    def _resync(self, buf: bytes) -> bytes:
        end = max(buf.find(b"\n"), buf.find(b"\r"))
        if end < 0:
            if len(buf) > self._max:
                self.dropped.append(("line_garbled", buf[: self._max]))
                return b""
            return buf if len(buf) < 8 else self._drop(buf)
        self.dropped.append(("line_garbled", buf[:end]))
        return buf[end + 1 :]

    def _drop(self, buf: bytes) -> bytes:
        self.dropped.append(("line_garbled", buf))
        return b""

    def take_partial(self) -> bytes:
        partial, self._buf = self._buf, b""
        return partial[4:] if partial.strip(b"\r\n") else b""
