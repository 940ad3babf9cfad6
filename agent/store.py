"""The SQLite store: calls, the outbox, attempts, opt-outs, replies. The only shared state.

One aiosqlite connection owned by one `Store`, WAL journal, `synchronous=FULL`
(dealerships lose power in storms). Writes go through `transaction()`, which holds an
asyncio lock so two tasks never interleave statements of one transaction.

Crash rule for the outbox: a message claimed for sending is committed as `sending`
(with its attempt counted) before any sender sees it. A message found `sending` at
start-up was interrupted mid-send: it is requeued once (`retry_wait`, attempt recorded
as `interrupted`); if it had already been interrupted before, it goes to `unknown`
for a technician, so a message that crashes the daemon cannot loop.
"""

from __future__ import annotations

from agent.store_base import Row, StoreBase, parse_ts, ts
from agent.store_calls import RECOVERY_LOOKBACK, CallStore
from agent.store_numbers import NumberStore
from agent.store_outbox import OutboxStore

__all__ = ["RECOVERY_LOOKBACK", "Row", "Store", "StoreBase", "parse_ts", "ts"]


class Store(CallStore, OutboxStore, NumberStore):
    """The store: `async with Store(path) as store:`; raises StoreError when unusable.
    Its parts: the connection (`store_base`), calls, the outbox, numbers."""
