"""Replies: the SIM's stored messages parsed and multi-part texts put back together.

Pure. `parse_listing` reads `AT+CMGL=4` / `AT+CMGR=<i>` answers (a `+CMGL:`/`+CMGR:`
header line followed by the PDU line). `Reassembler` joins the parts of one text,
keyed by sender, reference and total, and remembers the SIM indexes to delete once the
policy has the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from drivers.senders.gsm.pdu_decode import Deliver

_INDEX = re.compile(r"^\+CMGL:\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Stored:
    index: int
    pdu: str


@dataclass(frozen=True, slots=True)
class Complete:
    sender: str
    body: str
    received_at: datetime | None
    indexes: tuple[int, ...]
    missing_parts: int = 0


def parse_listing(lines: tuple[str, ...]) -> list[Stored]:
    """Each `+CMGL: <index>,...` line and the PDU line after it."""
    out: list[Stored] = []
    index: int | None = None
    for line in lines:
        match = _INDEX.match(line)
        if match:
            index = int(match.group(1))
        elif index is not None:
            out.append(Stored(index, line.strip()))
            index = None
    return out


def parse_read(index: int, lines: tuple[str, ...]) -> Stored | None:
    """The PDU of an `AT+CMGR=<index>` answer, None when the slot is empty."""
    for position, line in enumerate(lines):
        if line.startswith("+CMGR:") and position + 1 < len(lines):
            return Stored(index, lines[position + 1].strip())
    return None


@dataclass(slots=True)
class _Partial:
    total: int
    first_seen: float
    parts: dict[int, tuple[int, Deliver]] = field(default_factory=dict)


class Reassembler:
    def __init__(self) -> None:
        self._partials: dict[tuple[str, int, int], _Partial] = {}
        self._seen: set[int] = set()

    def known(self, index: int) -> bool:
        return index in self._seen

    def add(self, index: int, message: Deliver, now: float) -> Complete | None:
        """The whole text once every part is in; None while parts are missing."""
        self._seen.add(index)
        concat = message.concat
        if concat is None or concat.total <= 1:
            return Complete(message.sender, message.text, message.timestamp, (index,))
        key = (message.sender, concat.reference, concat.total)
        partial = self._partials.setdefault(key, _Partial(concat.total, now))
        partial.parts[concat.seq] = (index, message)
        if len(partial.parts) < partial.total:
            return None
        del self._partials[key]
        return _join(message.sender, partial)

    def expired(self, now: float, wait: float) -> list[Complete]:
        """Incomplete texts older than `wait` seconds, joined with what arrived."""
        old = [k for k, p in self._partials.items() if now - p.first_seen >= wait]
        return [_join(key[0], self._partials.pop(key)) for key in old]

    def forget(self, indexes: tuple[int, ...]) -> None:
        self._seen.difference_update(indexes)


def _join(sender: str, partial: _Partial) -> Complete:
    ordered = [partial.parts[seq] for seq in sorted(partial.parts)]
    body = "".join(message.text for _, message in ordered)
    return Complete(
        sender,
        body,
        ordered[0][1].timestamp,
        tuple(index for index, _ in ordered),
        partial.total - len(ordered),
    )
