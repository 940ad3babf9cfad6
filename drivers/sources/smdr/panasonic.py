"""Panasonic KX-TA / TD / TDA / TDE / NCP / NS SMDR printer lines.

`Date Time Ext CO Dial-Number [Ring] Duration Cost Acc-code CD`, read by pattern so
that 80- and 136-column layouts and collapsed spacing parse alike. Dates are
`MM/DD/YY` or `DD/MM/YY` (`panasonic.date_order`), times 12-hour with AM/PM, a `*`
before the time marks a transferred call. Incoming calls show `<incoming>` or
`<I>caller` (with `<D>did` before it on newer systems); DISA calls are ignored.
The unanswered-incoming marker is not confirmed in documentation: an incoming
record with zero duration is taken as missed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import full_year, make_date, parse_clock, to_utc
from drivers.sources.smdr.config import PanasonicOptions
from drivers.sources.smdr.parsing import (
    IGNORED,
    BadLine,
    CallFacts,
    LineParser,
    ParseContext,
    ParsedLine,
    content_id,
    facts_of,
    finish,
)

_RECORD = re.compile(
    r"^(?P<date>\d{1,2}/\d{1,2}/\d{2,4})\s+(?P<xfer>\*)?(?P<time>\d{1,2}:\d{2}\s?[AP]M)"
    r"\s+(?P<ext>\S+)\s+(?P<co>\d{1,3})\s+(?P<dial>.*?)\s+(?:(?P<ring>\d{1,2}[',]\d{2})\s+)?"
    r"(?P<dur>\d{1,2}:\d{2}'\d{2})(?:\s+(?P<tail>.*))?$"
)
_CALLER = re.compile(r"<I>\s*([0-9*#+]+)")
_DID = re.compile(r"<D>\s*([0-9*#+]+)")
_HEADER = re.compile(r"Date|Time|Page|^[\s=*-]*$", re.IGNORECASE)
_TIME_SEPARATORS = re.compile(r"[:',]")


def _seconds(text: str) -> float:
    """`00:07'48` -> 468; `0'10` or `00,10` (ring) -> 10."""
    parts = _TIME_SEPARATORS.split(text)
    total = 0
    for part in parts:
        total = total * 60 + int(part)
    return float(total)


class PanasonicParser(LineParser):
    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        self._options = ctx.config.panasonic or PanasonicOptions()

    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        match = _RECORD.match(line.strip())
        if not match:
            if _HEADER.search(line):
                return IGNORED
            raise BadLine("line_garbled", "not Date Time Ext CO Dial Duration (Panasonic)")
        dial = match["dial"].strip()
        if "DISA" in dial.upper():
            return IGNORED
        ring = _seconds(match["ring"]) if match["ring"] else 0.0
        talk = _seconds(match["dur"])
        stamp = to_utc(
            self._date(match["date"], received_at), parse_clock(match["time"]), self.ctx.tz
        )
        if self._options.time_marks == "end":
            stamp -= timedelta(seconds=ring + talk)
        cid = content_id("pana", line)
        if dial.startswith("<"):
            facts = self._incoming(cid, match["ext"], dial, ring=ring, talk=talk, started=stamp)
        else:
            facts = facts_of(
                cid, stamp, Direction.OUTBOUND,
                caller=match["ext"], dialed=dial, talk=talk, extensions=(match["ext"],),
            )  # fmt: skip
        return finish(self.ctx, facts, received_at)

    def _incoming(
        self, cid: str, ext: str, dial: str, *, ring: float, talk: float, started: datetime
    ) -> CallFacts:
        caller, did = _CALLER.search(dial), _DID.search(dial)
        outcome = Outcome.MISSED if talk <= 0 else self.ctx.roles.role(ext) or Outcome.ANSWERED
        return facts_of(
            cid, started, Direction.INBOUND,
            caller=caller[1] if caller else None, dialed=did[1] if did else None,
            station=ext, outcome=outcome, ring=ring, talk=talk, extensions=(ext,),
        )  # fmt: skip

    def _date(self, text: str, received_at: datetime) -> date:
        a, b, y = (int(x) for x in text.split("/"))
        order = self._options.date_order
        if order == "auto":
            order = "dmy" if a > 12 else "mdy"
        month, day = (a, b) if order == "mdy" else (b, a)
        year = y if y >= 100 else full_year(y, received_at)
        return make_date(year, month, day)
