"""What every catch-up back-end offers: read the rows since a time, and a doctor probe.

`read(since)` gets `since` as a naive datetime in the PBX's CDR time (local or UTC, as
the options say) and returns a `Batch` of raw rows (column name -> value). Rows older
than `since` may be returned (the reader drops them after parsing). A back-end that
cannot read raises `CatchupError` with a message fit for a log line (never a secret).
Back-ends block: they run in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from drivers.sources.asterisk.cdr.rows import RawRow

# The CDR columns the judge reads (FreePBX names; cdr_csv's `start` is `calldate`).
CDR_COLUMNS = (
    "calldate",
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "duration",
    "billsec",
    "disposition",
    "uniqueid",
    "linkedid",
    "sequence",
    "did",
    "cnum",
)
CEL_COLUMNS = (
    "id",
    "eventtype",
    "eventtime",
    "cid_num",
    "exten",
    "context",
    "channame",
    "appname",
    "appdata",
    "uniqueid",
    "linkedid",
    "extra",
    "eventextra",
)


class CatchupError(Exception):
    """The back-end could not be read (connection, permission, missing file)."""


@dataclass(slots=True)
class Batch:
    """Raw rows of one read. `cel` is None when CEL is off or not readable (`note` says
    why); `bad` lists rows the back-end could not even split, as (kind, fingerprint)."""

    cdr: list[RawRow] = field(default_factory=list)
    cel: list[RawRow] | None = None
    bad: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


class Backend(Protocol):
    def read(self, since: datetime) -> Batch: ...

    def probe(self) -> str:
        """One short check for `ringback doctor`: what was found, or CatchupError."""
        ...
