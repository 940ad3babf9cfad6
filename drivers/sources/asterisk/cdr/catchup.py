"""One catch-up read: the rows since a watermark -> the records of the calls they
settle, skipping the calls the caller says it already has or still follows.

`Catchup.read(since, skip)` reads the back-end in a worker thread under the
`timeout_seconds` deadline, parses every row (a bad one is counted once by kind and
skipped), groups them by linkedid, and judges each complete call whose linkedid is
not in `skip` (the calls AMI saw or is still following). Rows older than `since` are
dropped after parsing; a call is judged only from rows of the window, so the window
starts before the watermark by `overlap_minutes` (late dispatch, batch mode).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from agent.model import CallRecord, Counters
from drivers.sources.asterisk.cdr.backend import Backend, Batch, CatchupError
from drivers.sources.asterisk.cdr.backends import make_backend
from drivers.sources.asterisk.cdr.config import CatchupConfig
from drivers.sources.asterisk.cdr.judge import group, judge
from drivers.sources.asterisk.cdr.rows import BadRow, CdrRow, CelRow, RawRow, parse_cdr, parse_cel
from drivers.sources.asterisk.dialplan import Dialplan

COUNTERS = (
    "cdr_rows",
    "cdr_calls",
    "cdr_calls_incomplete",
    "cdr_calls_known",
    "cdr_bad_date",
    "cdr_bad_number",
    "cdr_missing_id",
    "cel_rows",
    "cel_bad_date",
    "cel_missing_id",
    "csv_bad_columns",
    "catchup_runs",
    "catchup_failures",
)
MAX_REMEMBERED_BAD = 100_000
_UTC = ZoneInfo("UTC")

Report = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class CatchupResult:
    """What one read found: the records, how many calls are still open, the CEL note."""

    records: list[CallRecord]
    incomplete: int
    note: str


class Catchup:
    def __init__(
        self,
        config: CatchupConfig,
        source: str,
        site_tz: tzinfo,
        dialplan: Dialplan,
        short_abandon: float,
        counters: Counters,
        report: Report,
        backend: Backend | None = None,
    ) -> None:
        self.config = config
        self._source = source
        self._tz = _UTC if config.times == "utc" else site_tz
        self._dialplan = dialplan
        self._short = short_abandon
        self._counters = counters
        self._report = report
        self._backend = backend or make_backend(config)
        self._bad_seen: set[str] = set()

    async def read(self, since: datetime, skip: Container[str]) -> CatchupResult:
        """The calls settled by the rows since `since` (aware); raises CatchupError."""
        self._counters.inc("catchup_runs")
        local_since = since.astimezone(self._tz).replace(tzinfo=None)
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                batch = await asyncio.to_thread(self._backend.read, local_since)
        except TimeoutError:
            self._counters.inc("catchup_failures")
            raise CatchupError(f"no answer within {self.config.timeout_seconds:g}s") from None
        except CatchupError:
            self._counters.inc("catchup_failures")
            raise
        return self.judge(batch, since, skip)

    def judge(self, batch: Batch, since: datetime, skip: Container[str]) -> CatchupResult:
        """Parse, group and judge one batch (pure but for the counters)."""
        for kind, fingerprint in batch.bad:
            self._bad(kind, fingerprint, "a CDR line of unexpected shape")
        cdr = self._parse_cdr(batch.cdr, since)
        cel = self._parse_cel(batch.cel or [])
        records: list[CallRecord] = []
        incomplete = 0
        for lid, rows in group(cdr, cel).items():
            if lid in skip:
                self._counters.inc("cdr_calls_known")
                continue
            if not rows.cdr and not any(e.eventtype == "CHAN_START" for e in rows.cel):
                continue  # CEL tail of a call that began before the window
            if not rows.complete:
                incomplete += 1
                self._counters.inc("cdr_calls_incomplete")
                continue
            records.append(judge(rows, self._dialplan, self._source, self._short))
        self._counters.inc("cdr_calls", len(records))
        records.sort(key=lambda r: r.ended_at)
        return CatchupResult(records, incomplete, batch.note)

    def _parse_cdr(self, raws: list[RawRow], since: datetime) -> list[CdrRow]:
        out: list[CdrRow] = []
        for raw in raws:
            try:
                row = parse_cdr(raw, self._tz)
            except BadRow as bad:
                self._bad(bad.kind, _fingerprint(raw), str(bad))
                continue
            if row.start >= since:
                out.append(row)
        self._counters.inc("cdr_rows", len(out))
        return out

    def _parse_cel(self, raws: list[RawRow]) -> list[CelRow]:
        out: list[CelRow] = []
        for n, raw in enumerate(raws):
            try:
                out.append(parse_cel(raw, self._tz, n))
            except BadRow as bad:
                self._bad(bad.kind, _fingerprint(raw), str(bad))
        self._counters.inc("cel_rows", len(out))
        return out

    def _bad(self, kind: str, fingerprint: str, detail: str) -> None:
        """Count a bad row once, however many reads see it again."""
        key = f"{kind}:{fingerprint}"
        if key in self._bad_seen:
            return
        if len(self._bad_seen) >= MAX_REMEMBERED_BAD:
            self._bad_seen.clear()
        self._bad_seen.add(key)
        self._report(kind, detail)

    def probe(self) -> str:
        return self._backend.probe()


def _fingerprint(raw: RawRow) -> str:
    text = "\x1f".join(f"{k}={raw[k]!r}" for k in sorted(raw))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
