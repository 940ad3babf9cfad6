"""`ringback purge --number N`: erase one person's data now, on their request."""

from __future__ import annotations

import asyncio
import sys

from agent.config.settings import LoadedConfig
from agent.errors import StoreError
from agent.numbers import mask, normalize
from agent.ops.outbox import as_owner, no_store_yet
from agent.store import Store
from agent.store.retention import Anonymised, purge_number
from drivers.base import utc_now


def cmd_purge(number: str, loaded: LoadedConfig) -> int:
    """`ringback purge --number N`: erase one person now (see the module docstring)."""
    settings = loaded.settings
    e164, reason = normalize(number, settings.site.country)
    if e164 is None:
        print(f"ringback purge: {number!r} is not a phone number ({reason})", file=sys.stderr)
        return 2
    if no_store_yet("purge", settings):
        return 1

    async def erase() -> Anonymised:
        async with Store(settings.storage.path) as store:
            return await purge_number(store, e164, utc_now())

    try:
        with as_owner(settings.storage.path):
            done = asyncio.run(erase())
    except StoreError as err:
        print(f"ringback purge: {err}", file=sys.stderr)
        return 1
    print(f"{mask(e164)}: {done}; the opt-out is kept as a one-way token")
    return 0
