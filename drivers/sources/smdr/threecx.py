"""3CX CDR service output (v15-v20): one CSV line per call, fields in the order the
administrator chose (`threecx.fields`). Lines start with `Call <historyid>`; `chain`
holds commas and is quoted. Shorter rows (older templates) map by position.

Direction from from-type/to-type (`External`/`Line` vs internal types), or, when the
template has no types, from `Ext.` prefixes. An inbound call is answered when it
has an answer time and talk time and its final party is a person; a final party of
a voicemail or IVR type, or listed in `voicemail:`/`auto_attendant:`, gives
`voicemail`/`abandoned_ivr`; queue misses (`missed-queue-calls`) give
`abandoned_queue`; a call routed to `EndCall` is recorded with outcome `unknown`.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta

from agent.model import Direction, Outcome
from drivers.sources.smdr.clock import hour_to_utc, make_date, parse_clock, to_utc
from drivers.sources.smdr.config import ThreeCxOptions
from drivers.sources.smdr.parsing import (
    IGNORED,
    BadLine,
    CallFacts,
    LineParser,
    ParseContext,
    ParsedLine,
    finish,
    hms_seconds,
    plain_csv,
)

_STAMP = re.compile(r"^(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}:\d{2}:\d{2})")
EXTERNAL_TYPES = frozenset({"external", "line"})
REQUIRED = ("historyid", "time-start", "from-no", "to-no")
_MM_SS = {f"{m:02}:{s:02}": timedelta(minutes=m, seconds=s) for m in range(60) for s in range(60)}
_HOURS_MAX = 4096


class ThreeCxParser(LineParser):
    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        self._options = ctx.config.threecx or ThreeCxOptions()
        self._names = self._options.fields
        present = [n for n in REQUIRED if n in self._names]
        self._min_fields = 1 + max(self._names.index(n) for n in present)
        self._tz = UTC if self._options.times_are_utc else ctx.tz
        self._hours: dict[str, datetime] = {}  # "YYYY/MM/DD hh" -> its start in UTC

    def _row(self, line: str) -> dict[str, str]:
        try:
            values = plain_csv(line) or next(csv.reader([line]))
        except (csv.Error, StopIteration):
            raise BadLine("line_garbled", "not a CSV line") from None
        if values and values[0].strip().lower() == "historyid":
            return {}
        if not values or not values[0].startswith("Call "):
            raise BadLine("line_garbled", "does not start with 'Call <historyid>'")
        if len(values) < self._min_fields:
            raise BadLine("line_truncated", f"{len(values)} fields, {self._min_fields} needed")
        return dict(zip(self._names, map(str.strip, values), strict=False))

    def _time(self, text: str) -> datetime | None:
        if not text:
            return None
        # a stamp "YYYY/MM/DD hh:mm:ss" in an hour already read: two look-ups
        hour = self._hours.get(text[:13]) if len(text) == 19 and text[13] == ":" else None
        if hour is not None:
            below = _MM_SS.get(text[14:])
            if below is not None:
                return hour + below
        m = _STAMP.match(text)
        if not m:
            raise BadLine("field_impossible", f"time {text!r} is not YYYY/MM/DD hh:mm:ss")
        day = make_date(int(m[1]), int(m[2]), int(m[3]))
        hms = parse_clock(m[4])
        if len(text) == 19 and text[13] == ":":
            start = hour_to_utc(day, hms[0], self._tz)  # None: the offset changes in it
            if start is not None:
                if len(self._hours) >= _HOURS_MAX:
                    self._hours.clear()
                self._hours[text[:13]] = start
        return to_utc(day, hms, self._tz)

    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        row = self._row(line)
        if not row:
            return IGNORED
        started = self._time(row["time-start"])
        if started is None:
            raise BadLine("field_impossible", "empty time-start")
        answered_at = self._time(row.get("time-answered", ""))
        talk = hms_seconds(row["duration"], "duration") if row.get("duration") else 0.0
        direction = _direction(row)
        inbound = direction is Direction.INBOUND
        if inbound:
            outcome = self._inbound_outcome(row, answered_at is not None and talk > 0)
        else:
            outcome = Outcome.ANSWERED if talk > 0 else Outcome.MISSED
        ring = (answered_at - started).total_seconds() if answered_at else 0.0
        # the facts in the order the keyword call read them (the same first error)
        call_id = "3cx-" + (row.get("callid") or row["historyid"].removeprefix("Call "))
        ended = self._time(row.get("time-end", ""))
        caller = row["from-no"] if inbound else row.get("from-dn") or row["from-no"]
        dialed = row.get("dial-no") or row.get("to-dn") or row["to-no"]
        name = row.get("from-dispname") if inbound else None
        to_dn, final_dn = row.get("to-dn"), row.get("final-dn")
        who = final_dn if outcome is Outcome.ANSWERED else None
        if to_dn and final_dn:
            extensions: tuple[str, ...] = (to_dn,) if to_dn == final_dn else (to_dn, final_dn)
        else:
            extensions = (to_dn,) if to_dn else (final_dn,) if final_dn else ()
        facts = CallFacts(
            call_id, started, direction, outcome, caller, dialed, max(0.0, ring), talk, 0.0,
            name, who, extensions, ended,
        )  # fmt: skip
        return finish(self.ctx, facts, received_at)

    def _inbound_outcome(self, row: dict[str, str], talked: bool) -> Outcome:
        final_type = (row.get("final-type") or row.get("to-type") or "").lower()
        if "EndCall" in (row["to-no"], row.get("final-number", "")):
            return Outcome.UNKNOWN
        role = self.ctx.roles.role(row.get("final-dn"), row.get("final-number"))
        if role is None and ("voicemail" in final_type or "vmail" in final_type):
            role = Outcome.VOICEMAIL
        if role is None and ("ivr" in final_type or "script" in final_type):
            role = Outcome.ABANDONED_IVR
        if role is not None:
            return role
        if talked:
            return Outcome.ANSWERED
        if row.get("missed-queue-calls") or "queue" in final_type:
            return Outcome.ABANDONED_QUEUE
        return Outcome.MISSED


def _external(kind: str | None, number: str) -> bool:
    if kind:
        return kind.lower() in EXTERNAL_TYPES
    return bool(number) and not number.startswith("Ext.")


def _direction(row: dict[str, str]) -> Direction:
    if _external(row.get("from-type"), row["from-no"]):
        return Direction.INBOUND
    if _external(row.get("to-type"), row["to-no"]):
        return Direction.OUTBOUND
    return Direction.INTERNAL
