"""The feeds follow changes: a row already pulled comes again when it changes in a way
the cloud cares about, once per pull at its latest change, never twice for nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.decide.pipeline import Pipeline
from agent.model import MessageState, Outcome
from agent.status.paging import FEEDS, read_page
from agent.store import Store
from tests.agent.conftest import SettingsFactory, call, clock_at, local


async def _pull(
    store: Store, feed: str, cursor: str | None, now: datetime
) -> tuple[list[dict[str, Any]], str]:
    page = await read_page(store, FEEDS[feed], cursor, 100, now, full_numbers=True)
    return page.items, page.next_cursor


async def test_message_is_served_again_when_its_state_changes(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """Pulled as `pending`, the message comes again as `sent` after the send, and not
    a third time; a first pull from zero afterwards sees it once, as sent."""
    async with Store(tmp_path / "feeds.db") as store:
        clock = clock_at("2026-11-23 10:00")
        await Pipeline(make_settings(), store, clock).accept(call("2026-11-23 10:00"))
        items, cursor = await _pull(store, "messages", None, clock())
        assert [(m["id"], m["state"]) for m in items] == [(1, "pending")]
        await store.finish(
            1,
            state=MessageState.SENT,
            sender="dry-run",
            started_at=clock(),
            now=clock(),
            result="sent",
            provider_id="p-1",
        )
        items, cursor = await _pull(store, "messages", cursor, clock())
        assert [(m["id"], m["state"]) for m in items] == [(1, "sent")]
        assert (await _pull(store, "messages", cursor, clock()))[0] == []
        items, _ = await _pull(store, "messages", None, clock())
        assert [(m["id"], m["state"]) for m in items] == [(1, "sent")]


async def test_call_is_served_again_when_recovered(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """A missed call already pulled comes again, with `recovered_at`, after the caller
    was answered on a later call; that later call comes once too."""
    async with Store(tmp_path / "feeds.db") as store:
        clock = clock_at("2026-11-23 10:00")
        pipeline = Pipeline(make_settings(), store, clock)
        await pipeline.accept(call("2026-11-23 10:00"))
        items, cursor = await _pull(store, "calls", None, clock())
        assert [(c["id"], c["recovered_at"]) for c in items] == [(1, None)]
        clock.now = local("2026-11-23 10:30")
        await pipeline.accept(call("2026-11-23 10:30", outcome=Outcome.ANSWERED, ring_seconds=5))
        items, cursor = await _pull(store, "calls", cursor, clock())
        assert sorted(c["id"] for c in items) == [1, 2]
        recovered = next(c for c in items if c["id"] == 1)
        assert recovered["recovered_by"] == "answered_again"
        assert (await _pull(store, "calls", cursor, clock() + timedelta(minutes=1)))[0] == []


async def test_phone_numbers_inside_replies_are_masked(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """A reply that gives another number ("call me at 514 555 0199") does not expose
    it in /v1/replies unless full numbers are allowed."""
    from agent.model import InboundText

    async with Store(tmp_path / "feeds.db") as store:
        clock = clock_at("2026-11-23 10:00")
        pipeline = Pipeline(make_settings(), store, clock)
        await pipeline.inbound(
            InboundText("+15145550123", "rappelez-moi au 514 555 0199 svp", clock(), "modem")
        )
        masked = await read_page(store, FEEDS["replies"], None, 10, clock(), full_numbers=False)
        full = await read_page(store, FEEDS["replies"], None, 10, clock(), full_numbers=True)
    assert masked.items[0]["body"] == "rappelez-moi au ••••••••99 svp"
    assert full.items[0]["body"] == "rappelez-moi au 514 555 0199 svp"
