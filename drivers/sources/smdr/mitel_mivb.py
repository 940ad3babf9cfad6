"""Mitel MiVoice Business / 3300 ICP / SX-2000 external SMDR: fixed columns.

Columns (1-based, inclusive) were measured on the extended layout (extended digit
length, ANI/DNIS, call id); a site with another layout overrides them with
`mitel_mivb.columns`. Incoming records carry a time-to-answer: digits = answered
(by the called party, which may be a voicemail/auto-attendant port the site lists),
`***`/`****` = never answered. Completion status `B` on an incoming record = busy.
Dates have no year; a `p` after the time means PM on a 12-hour clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import itemgetter

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import infer_year, parse_clock
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
    hms_seconds,
)

COLUMNS: dict[str, tuple[int, int]] = {
    "date": (2, 6),
    "time": (8, 16),
    "duration": (18, 27),
    "calling": (29, 35),
    "answer": (37, 40),
    "digits": (42, 67),
    "status": (68, 68),
    "called": (70, 76),
    "transfer": (77, 77),
    "third": (78, 84),
    "ani": (114, 133),
    "dnis": (135, 153),
}
_DATE = re.compile(r"^(\d{2})/(\d{2})$")
_TRUNK = re.compile(r"^[TX]\d+$")


class MitelMivbParser(LineParser):
    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        options = ctx.config.mitel_mivb
        overrides = options.columns if options else {}
        self._slices = {name: slice(a - 1, b) for name, (a, b) in {**COLUMNS, **overrides}.items()}
        self._min_len = self._slices["called"].stop
        # every column cut by one precompiled getter: the slicing and stripping in C
        self._names = tuple(self._slices)
        self._cut = itemgetter(*self._slices.values())

    def _cols(self, line: str) -> dict[str, str]:
        return dict(zip(self._names, map(str.strip, self._cut(line)), strict=True))

    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        date = _DATE.match(line[self._slices["date"]])
        if not date:
            if not line.strip() or "DATE" in line.upper():
                return IGNORED  # page header / column titles
            raise BadLine("line_garbled", "no mm/dd date in columns 2-6")
        if len(line.rstrip()) < self._min_len - 7:
            raise BadLine("line_truncated", f"{len(line)} characters, record cut short")
        f = self._cols(line)
        started = infer_year(
            int(date[1]), int(date[2]), parse_clock(f["time"]), self.ctx.tz, received_at
        )
        duration = hms_seconds(f["duration"], "duration") if f["duration"] else 0.0
        if f["answer"] or _TRUNK.match(f["calling"]):
            facts = self._incoming(f, started, duration)
        else:
            facts = self._outgoing(f, started, duration)
        return finish(self.ctx, _with_id(facts, line), received_at)

    def _incoming(self, f: dict[str, str], started: datetime, duration: float) -> CallFacts:
        answer = f["answer"]
        parties = (f["called"], f["third"])
        if set(answer) == {"*"}:
            outcome, ring, talk = Outcome.MISSED, duration, 0.0
        elif not answer or (answer.isascii() and answer.isdigit()):
            ring, talk = float(answer or 0), duration
            outcome = self._answered_by_whom(f)
        else:
            raise BadLine("field_impossible", f"time to answer {answer!r}")
        if f["status"] == "B":
            outcome = Outcome.BUSY
        return facts_of(
            "", started, Direction.INBOUND,
            caller=f["ani"] or None, dialed=f["dnis"] or f["digits"].split(" ")[0] or None,
            station=f["called"], outcome=outcome, ring=ring, talk=talk,
            extensions=tuple(p for p in parties if p),
        )  # fmt: skip

    def _answered_by_whom(self, f: dict[str, str]) -> Outcome:
        """Answered by the called party, unless it is a VM/AA port and the call was
        not transferred on to a person."""
        machine = self.ctx.roles.role(f["called"])
        if machine is None:
            return Outcome.ANSWERED
        if f["transfer"] == "T" and f["third"] and self.ctx.roles.role(f["third"]) is None:
            return Outcome.ANSWERED
        return machine

    def _outgoing(self, f: dict[str, str], started: datetime, duration: float) -> CallFacts:
        digits = f["digits"].split(" ")[0]
        internal = not digits and bool(f["called"])
        return facts_of(
            "", started, Direction.INTERNAL if internal else Direction.OUTBOUND,
            caller=f["calling"] or None, dialed=(f["called"] if internal else digits) or None,
            talk=duration,
        )  # fmt: skip


def _with_id(facts: CallFacts, line: str) -> CallFacts:
    # set in place rather than `dataclasses.replace` (a copy per line): facts is this
    # line's own, built just before
    facts.call_id = content_id("mivb", line)
    return facts
