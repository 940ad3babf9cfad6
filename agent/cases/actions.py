"""Staff's actions on a case, the same from the status API and the CLI: claim it,
note it, close it with a resolution, reopen one closed on a voicemail callback.

A resolution other than the staff's own (`STAFF_RESOLUTIONS`) is refused with
`BadResolution`, naming the allowed values; an unknown case or a state that forbids
the action raises the store's `CaseError`.
"""

from __future__ import annotations

from datetime import datetime

from agent.model import STAFF_RESOLUTIONS, Resolution
from agent.store import Store

ALLOWED = tuple(r.value for r in STAFF_RESOLUTIONS)


class BadResolution(ValueError):
    def __init__(self, given: str) -> None:
        super().__init__(f"unknown resolution {given!r} (expected one of: {', '.join(ALLOWED)})")
        self.allowed = ALLOWED


def staff_resolution(text: str) -> Resolution:
    if text not in ALLOWED:
        raise BadResolution(text)
    return Resolution(text)


async def close(
    store: Store, case_id: int, resolution: str, note: str, actor: str, now: datetime
) -> None:
    chosen = staff_resolution(resolution)
    await store.close_case(case_id, chosen, note, actor, now)
