"""When the `asterisk` source catches up, from when, and what it hands on.

A catch-up runs when the source starts and after every (re)connect, once the channel
snapshot is in (so the calls still in progress are known and left to AMI). It reads
from the earliest of: the last call this source stored (the store's watermark, asked
once at start through `SiteContext.last_call_at`, until the first read succeeds),
the end of the last call it yielded since, the start of the calls in progress when
the link was lost (or the time it was lost), and when the last good read began; less
`overlap_minutes`, and never further back than `max_lookback_hours`.

What AMI already handed on (the last `MAX_SEEN` linkedids) is skipped, so a call is
yielded once; the store's UNIQUE (source, pbx_call_id) is the last guard. A call the
resync could only finish as `unknown` (it ended while the link was down) is held until
the catch-up has run: the CDR verdict replaces it when the rows settle it. A failed
read is retried after `retry_seconds`; held records are handed on after the first try
whatever it found.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.model import CallRecord, Outcome
from drivers.base import SiteContext
from drivers.sources.asterisk.cdr.backend import CatchupError
from drivers.sources.asterisk.cdr.catchup import Catchup

log = logging.getLogger("drivers.sources.asterisk")

MAX_SEEN = 50_000


class _Skip:
    """The linkedids a catch-up must not yield: already handed on, or in progress."""

    def __init__(self, seen: OrderedDict[str, None], live: Callable[[str], bool]) -> None:
        self._seen = seen
        self._live = live

    def __contains__(self, linkedid: object) -> bool:
        return isinstance(linkedid, str) and (linkedid in self._seen or self._live(linkedid))


class CatchupRunner:
    def __init__(
        self,
        catchup: Catchup,
        site: SiteContext,
        name: str,
        push: Callable[[CallRecord], None],
        in_progress: Callable[[str], bool],
    ) -> None:
        self._catchup = catchup
        self._site = site
        self._name = name
        self._push = push
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._skip = _Skip(self._seen, in_progress)
        self._due = asyncio.Event()
        self._held: dict[str, CallRecord] = {}
        self._last_ended: datetime | None = None
        self._lost_from: datetime | None = None
        self._store_mark: datetime | None = None
        self._read_at: datetime | None = None  # when the last good read began
        self.last_run_at: datetime | None = None
        self.last_since: datetime | None = None
        self.last_error = ""
        self.last_note = ""
        self.caught_up = 0

    # --- what the source tells -----------------------------------------------------

    def saw(self, record: CallRecord) -> None:
        """A record left the source (live or caught up): never yield it again."""
        self._seen[record.call_id] = None
        self._seen.move_to_end(record.call_id)
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        if self._last_ended is None or record.ended_at > self._last_ended:
            self._last_ended = record.ended_at

    def link_lost(self, earliest_start: datetime | None) -> None:
        mark = earliest_start or self._site.clock()
        if self._lost_from is None or mark < self._lost_from:
            self._lost_from = mark

    def session(self, resynced: list[CallRecord]) -> list[CallRecord]:
        """A session began: schedule a catch-up; returns the resync's records to hand
        on now (the `unknown` ones wait for it)."""
        now_out = []
        for record in resynced:
            if record.outcome is Outcome.UNKNOWN:
                self._held[record.call_id] = record
            else:
                now_out.append(record)
        self._due.set()
        return now_out

    # --- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: one catch-up at start, then one after each session."""
        await self._ask_store()
        self._due.set()
        while True:
            await self._due.wait()
            self._due.clear()
            ok = await self._once()
            self._flush_held()
            if not ok:
                await asyncio.sleep(self._catchup.config.retry_seconds)
                self._due.set()

    async def _ask_store(self) -> None:
        ask = self._site.last_call_at
        if ask is None:
            return
        try:
            self._store_mark = await ask(self._name)
        except Exception as err:  # the store's trouble must not stop the source
            log.warning("asterisk: driver=%s no watermark from the store: %s", self._name, err)

    def since(self) -> datetime:
        cfg = self._catchup.config
        now = self._site.clock()
        floor = now - timedelta(hours=cfg.max_lookback_hours)
        found = (self._store_mark, self._last_ended, self._lost_from, self._read_at)
        marks = [m for m in found if m]
        if not marks:
            return floor
        return max(floor, min(marks) - timedelta(minutes=cfg.overlap_minutes))

    async def _once(self) -> bool:
        since, began = self.since(), self._site.clock()
        self.last_since = since
        try:
            result = await self._catchup.read(since, self._skip)
        except CatchupError as err:
            self.last_error = str(err)
            log.warning("asterisk: driver=%s CDR catch-up failed: %s", self._name, err)
            return False
        self.last_error = ""
        self.last_note = result.note
        self.last_run_at = self._site.clock()
        self._lost_from = None
        self._store_mark = None  # caught up past it: later reads start from what followed
        self._read_at = began
        for record in result.records:
            self._held.pop(record.call_id, None)
            self._push(record)
        self.caught_up += len(result.records)
        log.info(
            "asterisk: driver=%s CDR catch-up since %s: %d call(s), %d still open%s",
            self._name,
            since.isoformat(timespec="seconds"),
            len(result.records),
            result.incomplete,
            f" ({result.note})" if result.note else "",
        )
        return True

    def _flush_held(self) -> None:
        held, self._held = self._held, {}
        for record in held.values():
            self._push(record)

    def details(self) -> dict[str, object]:
        return {
            "backend": self._catchup.config.backend,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_since": self.last_since.isoformat() if self.last_since else None,
            "last_error": self.last_error or None,
            "note": self.last_note or None,
            "calls_caught_up": self.caught_up,
        }
