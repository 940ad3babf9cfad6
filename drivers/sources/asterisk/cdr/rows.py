"""Raw CDR/CEL rows (mappings of column name to value, whatever the back-end) -> typed
rows. Pure.

Every back-end hands rows as it read them: MariaDB gives `datetime` and `int`, a CSV
file and SQLite give text (SQLite may hold anything in any column). A row that cannot
be read raises `BadRow` naming its kind (`cdr_bad_date`, `cdr_bad_number`,
`cdr_missing_id`, `cel_bad_date`, `cel_missing_id`), which the caller counts and skips.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

RawRow = Mapping[str, object]

# Integer dispositions (integer columns, `CDR(disposition,u)`) -> ast_cdr_disp2str.
_DISPOSITION_CODES = {
    0: "NO ANSWER",
    1: "NO ANSWER",
    2: "FAILED",
    4: "BUSY",
    8: "ANSWERED",
    16: "CONGESTION",
    32: "CANCEL",
}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")
MAX_SECONDS = 30 * 86400  # a CDR longer than 30 days is garbage


class BadRow(ValueError):
    """A row that cannot be read; `kind` is the counter it goes to."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class CdrRow:
    """One CDR: one path between Party A and Asterisk or Party B."""

    start: datetime  # aware (the PBX's zone)
    duration: int
    billsec: int
    disposition: str
    uniqueid: str
    linkedid: str
    sequence: int = 0
    src: str = ""
    dst: str = ""
    dcontext: str = ""
    clid: str = ""
    channel: str = ""
    dstchannel: str = ""
    lastapp: str = ""
    lastdata: str = ""
    did: str = ""

    @property
    def end(self) -> float:
        return self.start.timestamp() + self.duration

    @property
    def key(self) -> tuple[str, str, int]:
        """The dedupe key of one CDR: (linkedid, uniqueid, sequence)."""
        return (self.linkedid, self.uniqueid, self.sequence)


@dataclass(frozen=True, slots=True)
class CelRow:
    """One CEL event. `order` sorts the events of one call (FreePBX's `id`)."""

    order: int
    eventtype: str
    at: datetime  # aware (the PBX's zone)
    uniqueid: str
    linkedid: str
    channame: str = ""
    context: str = ""
    exten: str = ""
    appname: str = ""
    appdata: str = ""
    cid_num: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


def _text(raw: RawRow, name: str) -> str:
    value = raw.get(name)
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def parse_time(value: object, tz: tzinfo) -> datetime | None:
    """A CDR date (a `datetime`, text, or epoch seconds) in `tz` -> aware; None if not."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            return None
        return datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        parsed = _parse_text_time(value.strip())
        if parsed is None:
            return None
        stamp = parsed
    else:
        return None
    if stamp.year < 1990:
        return None
    return stamp.replace(tzinfo=tz) if stamp.tzinfo is None else stamp


def _parse_text_time(text: str) -> datetime | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:  # epoch seconds written as text (`start(int64)` style columns)
        return datetime.fromtimestamp(float(text), UTC) if text else None
    except (ValueError, OverflowError, OSError):
        return None


def _seconds(raw: RawRow, name: str) -> int:
    value = raw.get(name)
    if isinstance(value, bool):
        raise BadRow("cdr_bad_number", f"{name} is not a number")
    number: float
    if isinstance(value, int | float):
        number = value
    else:
        try:
            number = float(_text(raw, name))
        except ValueError:
            raise BadRow("cdr_bad_number", f"{name} is not a number") from None
    if not math.isfinite(number) or number < 0 or number > MAX_SECONDS:
        raise BadRow("cdr_bad_number", f"{name} out of range")
    return int(number)


def _clid_number(clid: str) -> str:
    """`"Alice" <5145550100>` -> `5145550100` (cdr_sqlite3_custom's sample has no src)."""
    head, _, tail = clid.rpartition("<")
    return tail.rstrip(">").strip() if head or tail.endswith(">") else ""


def _disposition(raw: RawRow) -> str:
    text = _text(raw, "disposition").upper()
    if text.isdigit():
        return _DISPOSITION_CODES.get(int(text), "UNKNOWN")
    return text or "UNKNOWN"


def parse_cdr(raw: RawRow, tz: tzinfo) -> CdrRow:
    """One CDR row; raises `BadRow`. `linkedid` falls back to `uniqueid` (old schemas)."""
    start = parse_time(raw.get("calldate", raw.get("start")), tz)
    if start is None:
        raise BadRow("cdr_bad_date", "calldate/start is not a date")
    duration, billsec = _seconds(raw, "duration"), _seconds(raw, "billsec")
    uniqueid = _text(raw, "uniqueid")
    linkedid = _text(raw, "linkedid") or uniqueid
    if not linkedid:
        raise BadRow("cdr_missing_id", "row has neither linkedid nor uniqueid")
    sequence = _text(raw, "sequence")
    return CdrRow(
        start=start,
        duration=duration,
        billsec=min(billsec, duration),
        disposition=_disposition(raw),
        uniqueid=uniqueid or linkedid,
        linkedid=linkedid,
        sequence=int(sequence) if sequence.isdigit() else 0,
        src=_text(raw, "src") or _text(raw, "cnum") or _clid_number(_text(raw, "clid")),
        dst=_text(raw, "dst"),
        dcontext=_text(raw, "dcontext"),
        clid=_text(raw, "clid"),
        channel=_text(raw, "channel"),
        dstchannel=_text(raw, "dstchannel"),
        lastapp=_text(raw, "lastapp"),
        lastdata=_text(raw, "lastdata"),
        did=_text(raw, "did"),
    )


def parse_cel(raw: RawRow, tz: tzinfo, order: int) -> CelRow:
    """One CEL row; raises `BadRow`. A bad `extra` JSON is read as empty."""
    at = parse_time(raw.get("eventtime"), tz)
    if at is None:
        raise BadRow("cel_bad_date", "eventtime is not a date")
    uniqueid, linkedid = _text(raw, "uniqueid"), _text(raw, "linkedid")
    if not uniqueid or not linkedid:
        raise BadRow("cel_missing_id", "CEL row without uniqueid/linkedid")
    row_id = _text(raw, "id")
    eventtype = _text(raw, "eventtype").upper()
    hangup = eventtype == "HANGUP"
    return CelRow(
        order=int(row_id) if row_id.isdigit() else order,
        eventtype=eventtype,
        at=at,
        uniqueid=uniqueid,
        linkedid=linkedid,
        channame=_text(raw, "channame"),
        context=_text(raw, "context"),
        exten=_text(raw, "exten"),
        appname=_text(raw, "appname"),
        appdata=_text(raw, "appdata"),
        cid_num=_text(raw, "cid_num"),
        # only HANGUP's extra (hangupsource) is read: the others stay unparsed
        extra=_extra(_text(raw, "extra") or _text(raw, "eventextra")) if hangup else {},
    )


def _extra(text: str) -> Mapping[str, object]:
    if not text.startswith("{"):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
