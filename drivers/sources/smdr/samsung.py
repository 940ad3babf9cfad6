"""Samsung OfficeServ (7030/7100/7200/7400) and DCS SMDR.

`EXT AUTH TRK MM/DD START DURATION FLAG DIALED ACCOUNT CID-NUMBER CID-NAME`, read
by pattern around `MM/DD hh:mm:ss hh:mm:ss FLAG`. Flags: `O`, `OT`, `FO` outgoing;
`I`, `IT`, `T`, `TT`, `FI` incoming answered; `A` abandoned (needs MMC 725
ABANDON CALL = yes; the duration is then the ringing time); `DI`/`DO`/`DE` DISA
(ignored). An abandoned record has no extension, only the trunk, before the date.
"""

from __future__ import annotations

import re
from datetime import datetime

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import infer_year, parse_clock
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

OUTGOING = frozenset({"O", "OT", "FO"})
ANSWERED = frozenset({"I", "IT", "T", "TT", "FI"})
ABANDONED = frozenset({"A"})
DISA = frozenset({"DI", "DO", "DE"})
_RECORD = re.compile(
    r"^(?P<pre>(?:\S+\s+){1,3}?)(?P<date>\d{2}/\d{2})\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    r"\s+(?P<dur>\d{2}:\d{2}:\d{2})\s+(?P<flag>[A-Z]{1,2})(?:\s+(?P<rest>.*))?$"
)
_DIGITS = re.compile(r"^\+?[0-9*#]{2,}$")
_HEADER = re.compile(r"EXT|PAGE|DATE|^[\s=-]*$", re.IGNORECASE)


def caller_id(rest: str) -> tuple[str | None, str | None]:
    """(CID number, CID name): the last number in the tail, the words after it."""
    tokens = rest.split()
    for i in range(len(tokens) - 1, -1, -1):
        if _DIGITS.match(tokens[i]):
            return tokens[i], " ".join(tokens[i + 1 :]) or None
    return None, None


class SamsungParser(LineParser):
    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        match = _RECORD.match(line.strip())
        if not match:
            if _HEADER.search(line):
                return IGNORED
            raise BadLine("line_garbled", "not EXT TRK MM/DD START DURATION FLAG (Samsung)")
        flag, pre = match["flag"], match["pre"].split()
        if flag in DISA:
            return IGNORED
        if flag not in OUTGOING | ANSWERED | ABANDONED:
            raise BadLine("record_unknown", f"flag {flag!r}")
        month, day = (int(x) for x in match["date"].split("/"))
        started = infer_year(month, day, parse_clock(match["time"]), self.ctx.tz, received_at)
        seconds = hms_seconds(match["dur"], "duration")
        rest = match["rest"] or ""
        ext = pre[0] if len(pre) >= 2 else None
        cid = content_id("sam", line)
        if flag in OUTGOING:
            facts = facts_of(
                cid, started, Direction.OUTBOUND, caller=pre[0],
                dialed=rest.split()[0] if rest.split() else None,
                talk=seconds, extensions=(pre[0],),
            )  # fmt: skip
        else:
            facts = self._incoming(cid, flag, ext, rest=rest, seconds=seconds, started=started)
        return finish(self.ctx, facts, received_at)

    def _incoming(
        self, cid: str, flag: str, ext: str | None, *, rest: str, seconds: float, started: datetime
    ) -> CallFacts:
        number, name = caller_id(rest)
        if flag in ABANDONED:
            outcome, ring, talk = Outcome.MISSED, seconds, 0.0
        else:
            outcome, ring, talk = self.ctx.roles.role(ext) or Outcome.ANSWERED, 0.0, seconds
        return facts_of(
            cid, started, Direction.INBOUND, caller=number, caller_name=name,
            station=ext, outcome=outcome, ring=ring, talk=talk,
        )  # fmt: skip
