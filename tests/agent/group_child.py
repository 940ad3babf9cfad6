"""A burst of calls stored through the real pipeline and store, in a child process
that the crash tests kill with SIGKILL (tests/agent/test_group_commit_crash.py).

    python -m tests.agent.group_child CONFIG.yaml CALLS [PAUSE]

Prints `started`, then `ack <call id> <message id>` for each call once `accept`
returned (the call is durable). With PAUSE `before:N` or `after:N` it prints
`pause` and sleeps just before (or just after) the N-th batch's COMMIT on SQLite's
thread, for the parent to kill it there (the units ran, the commit waits).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.config.settings import load_text
from agent.decide.pipeline import Pipeline
from agent.model import CallRecord, Direction, Outcome
from agent.store import Store, group

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in Montreal


def burst(count: int) -> list[CallRecord]:
    """`count` missed calls, each from its own number (each gets a text)."""
    return [
        CallRecord(
            source="pbx",
            call_id=f"burst-{i}",
            started_at=NOW - timedelta(seconds=30 + i),
            ended_at=NOW - timedelta(seconds=10 + i),
            direction=Direction.INBOUND,
            outcome=Outcome.MISSED,
            caller_raw=f"514555{i:04d}",
            dialed="5145550102",
            ring_seconds=20.0,
        )
        for i in range(count)
    ]


class _Pausing:
    """The sqlite3 connection, pausing at one COMMIT (`when`: before or after)."""

    def __init__(self, raw: sqlite3.Connection, when: str, batch: int) -> None:
        self.raw, self.when, self.batch = raw, when, batch
        self.commits = 0

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        commit = sql == "COMMIT"
        if commit:
            _COMMITS[0] += 1
        if commit and self.when == "before" and _COMMITS[0] == self.batch:
            _pause()
        cursor = self.raw.execute(sql, *args)
        if commit and self.when == "after" and _COMMITS[0] == self.batch:
            _pause()
        return cursor


_COMMITS = [0]


def _pause() -> None:
    print("pause", flush=True)
    time.sleep(600)


def _install_pause(spec: str) -> None:
    when, batch = spec.split(":")
    original = group.lend  # type: ignore[attr-defined]  # the name group.py calls

    def pausing(lent: Any, raw: sqlite3.Connection) -> list[Any]:
        return original(lent, _Pausing(raw, when, int(batch)))  # type: ignore[arg-type]

    group.lend = pausing  # type: ignore[attr-defined]


async def main(config: Path, text: str, count: int) -> None:
    loaded = load_text(text, config)
    async with Store(loaded.settings.storage.path) as store:
        pipeline = Pipeline(loaded.settings, store, lambda: NOW)

        async def one(record: CallRecord) -> None:
            accepted = await pipeline.accept(record)
            print(f"ack {record.call_id} {accepted.message_id}", flush=True)

        print("started", flush=True)
        async with asyncio.TaskGroup() as tasks:
            for i, record in enumerate(burst(count)):
                tasks.create_task(one(record))
                if i % 7 == 6:  # in waves, so the burst spans several commits
                    await asyncio.sleep(0)


if __name__ == "__main__":
    if len(sys.argv) > 3:
        _install_pause(sys.argv[3])
    path = Path(sys.argv[1])
    asyncio.run(main(path, path.read_text(), int(sys.argv[2])))
