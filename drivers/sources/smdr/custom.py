"""`custom`: a PBX we have not seen, described in the YAML.

Either a regex with named groups or a CSV column map gives the fields `start` (or
`date` + `time`, read with `datetime_format`), `caller`, `caller_name`, `dialed`,
`extension`, `direction`, `status`, `ring`, `talk` (seconds or hh:mm:ss), `call_id`.
Direction values are matched against the `inbound`/`outbound`/`internal` lists
(default inbound). An inbound call is unanswered when its status is in
`unanswered_status`, or, with no such list, when its talk time is 0. Lines that do
not match are headers if they contain no digit, garbled otherwise.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime

from agent.model import Direction, Outcome
from drivers.sources.smdr.config import CustomOptions
from drivers.sources.smdr.parsing import (
    IGNORED,
    BadLine,
    LineParser,
    ParseContext,
    ParsedLine,
    content_id,
    facts_of,
    finish,
    hms_seconds,
    plain_csv,
)


def _seconds(text: str | None, what: str) -> float:
    if not text or not text.strip():
        return 0.0
    value = text.strip()
    if value.isascii() and value.replace(".", "", 1).isdigit():
        return float(value)
    return hms_seconds(value, what)


class CustomParser(LineParser):
    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        assert ctx.config.custom is not None  # enforced by SmdrConfig
        self._o: CustomOptions = ctx.config.custom
        self._regex = re.compile(self._o.regex) if self._o.regex else None
        self._directions = {
            **{v.upper(): Direction.INTERNAL for v in self._o.internal},
            **{v.upper(): Direction.OUTBOUND for v in self._o.outbound},
            **{v.upper(): Direction.INBOUND for v in self._o.inbound},
        }

    def _fields(self, line: str) -> dict[str, str] | None:
        if self._regex is not None:
            match = self._regex.search(line)
            return {k: v for k, v in match.groupdict().items() if v is not None} if match else None
        columns = self._o.csv_columns or {}
        delimiter = self._o.csv_delimiter
        values = plain_csv(line, delimiter) or next(csv.reader([line], delimiter=delimiter), [])
        if len(values) <= max(columns.values()):
            return None
        return {name: values[i].strip() for name, i in columns.items()}

    def _start(self, f: dict[str, str]) -> datetime:
        text = f["start"] if "start" in f else f"{f.get('date', '')} {f.get('time', '')}"
        try:
            naive = datetime.strptime(text.strip(), self._o.datetime_format)
        except ValueError:
            raise BadLine("field_impossible", f"start {text.strip()!r} does not match "
                          f"{self._o.datetime_format!r}") from None  # fmt: skip
        return naive.replace(tzinfo=self.ctx.tz)

    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        f = self._fields(line)
        if f is None:
            if not any(c.isdigit() for c in line):
                return IGNORED
            raise BadLine("line_garbled", "does not match the custom regex / columns")
        direction = self._directions.get(f.get("direction", "").strip().upper(), None)
        if direction is None and f.get("direction", "").strip():
            raise BadLine("record_unknown", f"direction {f['direction']!r}")
        direction = direction or Direction.INBOUND
        talk, ring = _seconds(f.get("talk"), "talk"), _seconds(f.get("ring"), "ring")
        ext = f.get("extension") or None
        outcome = self._outcome(direction, f.get("status", ""), talk, ext)
        facts = facts_of(
            "custom-" + (f.get("call_id") or content_id("l", line)), self._start(f), direction,
            caller=f.get("caller"), dialed=f.get("dialed"), caller_name=f.get("caller_name"),
            station=ext, outcome=outcome, ring=ring, talk=talk,
        )  # fmt: skip
        return finish(self.ctx, facts, received_at)

    def _outcome(self, direction: Direction, status: str, talk: float, ext: str | None) -> Outcome:
        if self._o.unanswered_status:
            unanswered = status.strip().upper() in {s.upper() for s in self._o.unanswered_status}
        else:
            unanswered = talk <= 0
        if unanswered:
            return Outcome.MISSED
        if direction is Direction.INBOUND:
            return self.ctx.roles.role(ext) or Outcome.ANSWERED
        return Outcome.ANSWERED
