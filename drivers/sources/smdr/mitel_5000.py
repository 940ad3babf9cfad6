"""Mitel MiVoice Office 250 / Mitel 5000 / Inter-Tel Axxess SMDR.

`TYP EXT# TRUNK DIALED-DIGITS START ELAPSED COST ACCOUNT`, 80 columns when printed,
but read by tokens so that collapsed spacing still parses. No date: the date is the
receive date. `IN`/`DID` are incoming; EXT `*****` = an unanswered ring-in; on
incoming calls the dialed-digits column holds the caller ID (or DID/DNIS). A
trailing `*` means the trunk side hung up first.

On its TCP socket the PBX wants a login (`login_frame`) and sends each record
behind a 4-byte little-endian length: see `framing.LengthPrefixedFramer`.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import infer_date, parse_clock
from drivers.sources.smdr.parsing import (
    IGNORED,
    BadLine,
    CallFacts,
    LineParser,
    ParsedLine,
    content_id,
    facts_of,
    finish,
    hms_seconds,
)

INCOMING = frozenset({"IN", "DID"})
OUTGOING = frozenset({"000", "LOC", "TLC", "TLD", "O/I", "OP", "INT", "NET", "CNF", "DSA"})
RING_IN = frozenset({"RG"})  # optional ring-in diagnostic records
_RECORD = re.compile(
    r"^(?P<typ>[A-Z0-9/]{2,3})\s+(?P<ext>\S+)\s+(?P<trunk>\S+)"
    r"(?:\s+(?P<digits>\S.*?))??\s+(?P<start>\d{1,2}:\d{2})"
    r"\s+(?P<elapsed>\d{2}:\d{2}:\d{2}|S=\d{1,6})(?P<tail>.*)$"
)


def login_frame(password: str) -> bytes:
    """`<len LE32><0x84><password>\\0`: an empty password is `02 00 00 00 84 00`."""
    body = b"\x84" + password.encode("ascii", "replace") + b"\x00"
    return struct.pack("<I", len(body)) + body


def _elapsed(text: str) -> float:
    return float(text[2:]) if text.startswith("S=") else hms_seconds(text, "elapsed")


class Mitel5000Parser(LineParser):
    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        match = _RECORD.match(line.strip())
        if not match:
            if not line.strip() or line.lstrip().startswith(("TYP", "---", "SMDR")):
                return IGNORED
            raise BadLine("line_garbled", "not TYP EXT TRUNK DIGITS START ELAPSED")
        typ = match["typ"]
        if typ in RING_IN:
            return IGNORED
        if typ not in INCOMING and typ not in OUTGOING:
            raise BadLine("record_unknown", f"record type {typ!r}")
        started = infer_date(parse_clock(match["start"]), self.ctx.tz, received_at)
        elapsed = _elapsed(match["elapsed"])
        digits = (match["digits"] or "").strip() or None
        ext, cid = match["ext"], content_id("m5k", line)
        if typ in INCOMING:
            facts = self._incoming(cid, ext, digits, started, elapsed)
        else:
            facts = facts_of(
                cid, started, Direction.OUTBOUND,
                caller=ext, dialed=digits, talk=elapsed, extensions=(ext,),
            )  # fmt: skip
        return finish(self.ctx, facts, received_at)

    def _incoming(
        self, cid: str, ext: str, digits: str | None, started: datetime, elapsed: float
    ) -> CallFacts:
        if set(ext) == {"*"}:  # nobody answered: no extension named
            return facts_of(
                cid, started, Direction.INBOUND,
                caller=digits, outcome=Outcome.MISSED, ring=elapsed,
            )  # fmt: skip
        return facts_of(
            cid, started, Direction.INBOUND, caller=digits, station=ext,
            outcome=self.ctx.roles.role(ext) or Outcome.ANSWERED, talk=elapsed,
        )  # fmt: skip
