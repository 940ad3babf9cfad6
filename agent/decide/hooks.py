"""What else happens to a call or a reply inside the pipeline's transaction.

The pipeline calls a `CaseHook` (the recovery cases, `agent.cases.keeper`, wired by
whoever builds the pipeline) after it stored a call and its decision, and after it
stored a reply, within the same transaction: the hook's writes commit with them or
not at all. A hook that raises has its own writes undone (a savepoint) and is
counted; the call or the reply is stored all the same. On a call the hook runs in
the pipeline's unit (agent/store/group.py): it may await the
store's methods only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from agent.model import CallRecord


class CaseHook(Protocol):
    async def on_call(
        self,
        record: CallRecord,
        call_id: int,
        e164: str | None,
        department: str,
        now: datetime,
    ) -> None:
        """A new call was stored and decided (`department` is its route)."""

    async def on_reply(
        self, number: str, reply_id: int, kind: str, received_at: datetime, now: datetime
    ) -> None:
        """A text from `number` was stored (`kind`: reply, opt_out, opt_in, help)."""
