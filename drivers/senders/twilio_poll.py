"""Twilio without a public URL: read the Messages list for replies and delivery states.

Each round lists the messages sent since the high-water mark minus an overlap
(`DateSent>`, newest first, `next_page_uri` to the end or `poll_max_pages`), and hands
over what is ours: an inbound text to our number (`on_inbound`) and the status of a
text from our number (`on_delivery`). Only after a complete round are the two marks
saved (`save_mark`): the newest inbound seen, and the oldest text of ours still not in
a final state (bounded by `STATUS_HORIZON`: carriers that never confirm leave a text
`sent` for good) -- so a restart re-reads from there, nothing falls in a gap, and the
overlap re-reads are skipped by SID (here while the process lives, by the store's
`inbound_seen` and the forward-only delivery state after a restart).

Bad input, counted and never fatal: an item twice in one round (a page served twice),
an item without a SID, a status Twilio does not document, a 429 (its Retry-After is
waited out) or a 5xx / transport failure (backoff), a page that is not a list.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.backoff import Backoff, Retries
from agent.model import Delivery, DeliveryReport, NumberFact
from drivers.base import SenderContext
from drivers.senders import twilio_messages as tm
from drivers.senders.cloud_http import CloudHealth, Exchange
from drivers.senders.twilio_api import messages_path
from drivers.senders.twilio_config import TwilioConfig

log = logging.getLogger(__name__)

MARK_KEY = "poll"
FIRST_LOOKBACK = timedelta(hours=1)
STATUS_HORIZON = timedelta(hours=6)
PAGE_SIZE = 100
_KEPT = 5000
_FINAL = frozenset({Delivery.DELIVERED, Delivery.UNDELIVERED, Delivery.FAILED})

COUNTER_NAMES = (
    "polls",
    "poll_pages",
    "poll_failed",
    "poll_rate_limited",
    "poll_duplicate_items",
    "poll_overlap",
    "poll_unknown_status",
    "poll_bad_item",
    "poll_truncated",
    "inbound",
    "inbound_media_only",
    "status_reports",
)

Exchanger = Callable[..., Awaitable[Exchange]]


@dataclass
class _Round:
    """What one round saw."""

    sids: set[str] = field(default_factory=set)
    newest_inbound: datetime | None = None
    newest_outbound: datetime | None = None
    oldest_open: datetime | None = None


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TwilioPoller:
    def __init__(
        self,
        config: TwilioConfig,
        context: SenderContext,
        exchange: Exchanger,
        health: CloudHealth,
    ) -> None:
        self.config = config
        self.context = context
        self.name = config.name
        self._exchange = exchange
        self._health = health
        self._clock = context.site.clock
        self._handed: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        first = max(config.poll_interval_seconds, 5.0)
        self._retries = Retries(Backoff(first, 900.0, 0.8, 1.2))
        for name in COUNTER_NAMES:
            health.counters.inc(name, 0)

    async def run(self) -> None:
        """Round after round until cancelled, the first once the daemon has started;
        a failing round waits with backoff."""
        await self.context.started()
        while True:
            try:
                wait = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug of ours: reported, the loop goes on
                self._health.counters.inc("poll_failed")
                log.error("driver=%s poll failed: %s", self.name, type(err).__name__, exc_info=True)
                wait = self._retries.next()
            await asyncio.sleep(wait)

    # --- one round ----------------------------------------------------------------

    async def poll_once(self) -> float:
        """One round; returns the seconds to wait before the next."""
        self._health.counters.inc("polls")
        inbound_mark, status_mark = await self._marks()
        since = min(inbound_mark, status_mark) - timedelta(seconds=self.config.poll_overlap_seconds)
        path: str = messages_path(self.config)
        params: dict[str, str] | None = {"DateSent>": _iso(since), "PageSize": str(PAGE_SIZE)}
        seen = _Round()
        for _ in range(self.config.poll_max_pages):
            answer = await self._exchange("GET", path, params=params)
            failed = self._failed(answer)
            if failed is not None:
                return failed
            assert answer.data is not None
            self._health.counters.inc("poll_pages")
            items = answer.data["messages"]
            assert isinstance(items, list)
            for item in items:
                await self._item(item, seen)
            following = self._next_page(answer.data.get("next_page_uri"))
            if following is None:
                break
            path, params = following, None
        else:
            self._health.counters.inc("poll_truncated")
            log.warning(
                "driver=%s poll: more than %d pages since the mark; marks kept, "
                "raise poll_max_pages",
                self.name,
                self.config.poll_max_pages,
            )
            return self.config.poll_interval_seconds
        await self._save(inbound_mark, status_mark, seen)
        self._retries.reset()
        return self.config.poll_interval_seconds

    def _failed(self, answer: Exchange) -> float | None:
        """None for a usable page, else the wait before the next round."""
        if answer.ok and isinstance(answer.data, dict):
            if isinstance(answer.data.get("messages"), list):
                return None
            self._health.counters.inc("bad_response")
        self._health.counters.inc("poll_failed")
        wait = self._retries.next()
        if answer.status == 429:
            self._health.counters.inc("poll_rate_limited")
            if answer.retry_after is not None:
                wait = max(wait, answer.retry_after)
        log.info("driver=%s poll: %s, next round in %.0fs", self.name, answer.status, wait)
        return wait

    def _next_page(self, value: object) -> str | None:
        """A next page of the same list (a path of this account's Messages.json)."""
        if not isinstance(value, str) or not value:
            return None
        if not value.startswith(messages_path(self.config) + "?"):
            self._health.counters.inc("poll_bad_item")
            log.warning("driver=%s poll: next_page_uri of another resource ignored", self.name)
            return None
        return value

    async def _item(self, item: object, seen: _Round) -> None:
        if not isinstance(item, dict) or tm.sid_of(item.get("sid")) is None:
            self._health.counters.inc("poll_bad_item")
            return
        sid = str(item["sid"])
        if sid in seen.sids:
            self._health.counters.inc("poll_duplicate_items")
            return
        seen.sids.add(sid)
        if tm.is_inbound(item):
            if self._ours(item, "to"):
                await self._inbound(item, seen)
        elif self._ours(item, "from"):
            await self._outbound(item, seen)

    def _ours(self, item: Mapping[str, Any], side: str) -> bool:
        if self.config.from_ is not None:
            return bool(item.get(side) == self.config.from_)
        return bool(item.get("messaging_service_sid") == self.config.messaging_service_sid)

    async def _inbound(self, item: Mapping[str, Any], seen: _Round) -> None:
        text = tm.item_inbound(self.name, item, self._clock())
        if text is None:
            self._health.counters.inc("poll_bad_item")
            return
        seen.newest_inbound = _later(seen.newest_inbound, text.received_at)
        await self.hand_inbound(text.provider_id or "", lambda: self.context.on_inbound(text),
                                media_only=not text.body.strip() and text.media > 0)  # fmt: skip

    async def hand_inbound(
        self, sid: str, hand: Callable[[], Awaitable[None]], media_only: bool
    ) -> bool:
        """Hand a received text over once per process (the store dedups across
        restarts); False when it was handed over before. Shared with the webhook."""
        if sid in self._handed:
            self._health.counters.inc("poll_overlap")
            return False
        await hand()
        self._remember(sid, ("received", None))
        self._health.counters.inc("inbound")
        if media_only:
            self._health.counters.inc("inbound_media_only")
        return True

    async def _outbound(self, item: Mapping[str, Any], seen: _Round) -> None:
        report = tm.item_report(self.name, item, self._clock())
        sent_at = tm.when(item.get("date_sent"))
        if sent_at is not None:
            seen.newest_outbound = _later(seen.newest_outbound, sent_at)
        if report is None:
            self._health.counters.inc("poll_unknown_status")
            return
        if report.state not in _FINAL and sent_at is not None:
            seen.oldest_open = _earlier(seen.oldest_open, sent_at)
        await self.hand_report(report)

    async def hand_report(self, report: DeliveryReport) -> bool:
        """Hand a status over unless this process already did (same SID, state and
        code); False for such a repeat. Shared with the webhook."""
        key = (report.state.value, report.error_code)
        if self._handed.get(report.provider_id) == key:
            self._health.counters.inc("poll_overlap")
            return False
        await self.context.on_delivery(report)
        self._remember(report.provider_id, key)
        self._health.counters.inc("status_reports")
        if report.fact in (NumberFact.FILTERED, NumberFact.MISCONFIGURED):
            self._health.note_fact(report.fact, report.detail)
        elif report.state is Delivery.DELIVERED:
            self._health.clear_degraded()
        return True

    def _remember(self, sid: str, key: tuple[str, str | None]) -> None:
        self._handed[sid] = key
        self._handed.move_to_end(sid)
        while len(self._handed) > _KEPT:
            self._handed.popitem(last=False)

    # --- the marks --------------------------------------------------------------------

    async def _marks(self) -> tuple[datetime, datetime]:
        start = self._clock() - FIRST_LOOKBACK
        try:
            raw = await self.context.load_mark(self.name, MARK_KEY)
            data = json.loads(raw) if raw else {}
            return (
                datetime.fromisoformat(data["inbound"]) if "inbound" in data else start,
                datetime.fromisoformat(data["status"]) if "status" in data else start,
            )
        except (ValueError, TypeError, KeyError):
            log.warning("driver=%s poll mark unreadable: starting from one hour ago", self.name)
            return start, start

    async def _save(self, inbound_mark: datetime, status_mark: datetime, seen: _Round) -> None:
        inbound = max(inbound_mark, seen.newest_inbound or inbound_mark)
        newest = max(status_mark, seen.newest_outbound or status_mark)
        # nothing of ours still open: the list is read up to its newest entry
        status = seen.oldest_open if seen.oldest_open is not None else max(newest, inbound)
        status = max(status, newest - STATUS_HORIZON, status_mark)
        value = json.dumps({"inbound": inbound.isoformat(), "status": status.isoformat()})
        await self.context.save_mark(self.name, MARK_KEY, value)
