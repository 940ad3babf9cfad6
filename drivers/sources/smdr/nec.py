"""NEC SL1100 / SL2100 / SV8100 / SV9100 / Electra Elite IPK II SMDR print format.

`CLASS TIME [MM/DD] LINE DURATION STATION NUMBER ACCOUNT|NO ANSWER`. Fixed columns
on the wire, but LINE may be a trunk name with spaces and renderers collapse
spacing, so the record is read by tokens around the `hh:mm:ss` duration. Incoming
(`PIN`, `IVIN`) with `NO ANSWER` = missed; with a station = answered (or voicemail /
auto-attendant when the station is listed). `PTRS`/`ITRS` are transferred segments
of a call already recorded by its `PIN` line: classified `continuation`, no record.
"""

from __future__ import annotations

import re
from datetime import datetime

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import infer_date, infer_year, parse_clock
from drivers.sources.smdr.parsing import (
    CONTINUATION,
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

INCOMING = frozenset({"PIN", "IVIN"})
OUTGOING = frozenset({"POT", "POTA", "IVOT", "IVOTA"})
TRANSFER = frozenset({"PTRS", "ITRS"})
INTERNAL = frozenset({"ICM"})
NON_CALL = frozenset({"ALB", "BRD", "BFL", "NEXT"})
_RECORD = re.compile(
    r"^(?P<cls>[A-Z]{2,5})\s+(?P<time>\d{1,2}:\d{2})\s+(?:(?P<date>\d{2}/\d{2})\s+)?(?P<rest>.*)$"
)
_DURATION = re.compile(r"(?<!\S)(\d{2}:\d{2}:\d{2})(?!\S)")
_NUMBER = re.compile(r"^[0-9*#+-]{2,}$")
_HEADER = re.compile(r"PAGE|CLASS|^\s*\d{2}/\d{2}/\d{4}\s*$|^[\s=-]*$")


def split_rest(rest: str) -> tuple[str | None, str | None, float, bool]:
    """(station, number, duration seconds, no answer) from what follows TIME [DATE]."""
    no_answer = rest.rstrip().endswith("NO ANSWER")
    if no_answer:
        rest = rest.rstrip()[: -len("NO ANSWER")]
    found = _DURATION.search(rest)
    if found:
        after = rest[found.end() :].split()
        station = after[0] if after else None
        number = after[1] if len(after) > 1 and _NUMBER.match(after[1]) else None
        return station, number, hms_seconds(found[1], "duration"), no_answer
    tokens = rest.split()
    number = tokens[-1] if len(tokens) >= 2 and _NUMBER.match(tokens[-1]) else None
    return None, number, 0.0, no_answer


class NecParser(LineParser):
    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        match = _RECORD.match(line.strip())
        if not match:
            if _HEADER.search(line):
                return IGNORED
            raise BadLine("line_garbled", "not CLASS HH:MM ... (NEC SMDR)")
        cls = match["cls"]
        if cls in NON_CALL:
            return IGNORED
        known = INCOMING | OUTGOING | TRANSFER | INTERNAL
        if cls not in known:
            raise BadLine("record_unknown", f"record class {cls!r}")
        station, number, seconds, no_answer = split_rest(match["rest"])
        if cls in TRANSFER:
            return ParsedLine(CONTINUATION, number, None)
        hms = parse_clock(match["time"])
        if match["date"]:
            month, day = (int(x) for x in match["date"].split("/"))
            started = infer_year(month, day, hms, self.ctx.tz, received_at)
        else:
            started = infer_date(hms, self.ctx.tz, received_at)
        cid = content_id("nec", line)
        return finish(
            self.ctx,
            self._facts(
                call_id=cid,
                cls=cls,
                station=station,
                number=number,
                seconds=seconds,
                no_answer=no_answer,
                started=started,
            ),
            received_at,
        )

    def _facts(
        self,
        *,
        call_id: str,
        cls: str,
        station: str | None,
        number: str | None,
        seconds: float,
        no_answer: bool,
        started: datetime,
    ) -> CallFacts:
        if cls in INCOMING:
            if no_answer or station is None:
                outcome = Outcome.MISSED
            else:
                outcome = self.ctx.roles.role(station) or Outcome.ANSWERED
            return facts_of(
                call_id, started, Direction.INBOUND,
                caller=number, station=station, outcome=outcome, talk=seconds,
            )  # fmt: skip
        direction = Direction.INTERNAL if cls in INTERNAL else Direction.OUTBOUND
        return facts_of(call_id, started, direction, caller=station, dialed=number, talk=seconds)
