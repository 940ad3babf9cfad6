"""The store: one SQLite file (WAL, `synchronous=FULL`), the only shared state and the queue.

`Store` joins the concerns: connection, migrations and feeds (`base`, `schema`),
group commit of write transactions (`group`, on the connection `lend` lends),
calls (`calls`), the outbox and its attempts (`outbox`), opt-outs, caps and replies
(`numbers`), recovery cases (`cases`, read by `case_views`; their conversation with
the caller, `threads`), the staff notifications (`notifications`), the carrier's
delivery reports (`deliveries`), the senders' persisted marks and received ids
(`marks`), and the daily
anonymisation (`retention`). Imports the vocabulary and
`agent.config` only."""

from __future__ import annotations

from agent.store.base import Row, StoreBase, parse_ts, ts
from agent.store.calls import RECOVERY_LOOKBACK, CallStore
from agent.store.case_views import CaseViews
from agent.store.deliveries import DeliveryStore
from agent.store.marks import MarkStore
from agent.store.notifications import NotificationStore
from agent.store.numbers import NumberStore
from agent.store.outbox import OutboxStore
from agent.store.threads import ThreadStore

__all__ = ["RECOVERY_LOOKBACK", "Row", "Store", "StoreBase", "parse_ts", "ts"]


class Store(
    CallStore,
    OutboxStore,
    NumberStore,
    ThreadStore,
    CaseViews,
    NotificationStore,
    DeliveryStore,
    MarkStore,
):
    """The store: `async with Store(path) as store:`; raises StoreError when unusable.
    Its parts: the connection (`base`), calls, the outbox, numbers, cases."""
