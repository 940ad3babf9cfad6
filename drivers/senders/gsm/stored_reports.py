"""Delivery reports the modem stored (`AT+CNMI=...,2,...`, announced `+CDSI: "SR",<i>`).

They sit in their own memory (`SR` on SIMCom and Quectel modems): `read()` selects it
as the read/delete memory (`AT+CPMS="SR"`), reads the slot, and puts back the memory
that was selected (`AT+CPMS?` first), all under the work lock, so the replies'
`AT+CMGR` never reads the wrong memory; `delete()` does the same around `AT+CMGD`.
A full report memory refuses new reports (`+CMS ERROR: 322`): each one is deleted
once it has been handed over, and `listing()` finds those stored while ringback was
down (matched through the store to the recent text they are about, else counted
unmatched; deleted either way).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from drivers.senders.gsm.at import AtChannel
from drivers.senders.gsm.inbox import Stored, parse_listing, parse_read

log = logging.getLogger(__name__)
CDSI = re.compile(r'^\+CDSI:\s*"?([A-Z]{2})?"?\s*,\s*(\d+)')
_MEMORY = re.compile(r'"([A-Z]{2})"')


def parse_cdsi(line: str) -> tuple[str, int] | None:
    """(memory, index) of a `+CDSI:` line; the memory is "" when the modem omits it."""
    match = CDSI.match(line)
    return (match.group(1) or "", int(match.group(2))) if match else None


@asynccontextmanager
async def _in_memory(channel: AtChannel, memory: str, wait: float) -> AsyncIterator[bool]:
    """With `memory` selected for reading and deleting, then the old one back."""
    before = ""
    if memory:
        answer = await channel.command("AT+CPMS?", wait)
        found = _MEMORY.search(answer.value("+CPMS:") or "") if answer.ok else None
        before = found.group(1) if found else ""
    switch = bool(memory) and memory != before
    if switch and not (await channel.command(f'AT+CPMS="{memory}"', wait)).ok:
        log.warning("gsm: modem refuses AT+CPMS=%r: stored delivery report not read", memory)
        yield False
        return
    try:
        yield True
    finally:
        if switch and before:
            await channel.command(f'AT+CPMS="{before}"', wait)


async def read(
    channel: AtChannel, lock: asyncio.Lock, memory: str, index: int, wait: float
) -> str | None:
    """The PDU of stored report `index`, None when the slot is empty or unreadable."""
    async with lock, _in_memory(channel, memory, wait) as selected:
        if not selected:
            return None
        answer = await channel.command(f"AT+CMGR={index}", wait)
    stored = parse_read(index, answer.lines) if answer.ok else None
    return stored.pdu if stored else None


async def delete(
    channel: AtChannel, lock: asyncio.Lock, memory: str, index: int, wait: float
) -> bool:
    async with lock, _in_memory(channel, memory, wait) as selected:
        return selected and (await channel.command(f"AT+CMGD={index}", wait)).ok


async def listing(channel: AtChannel, lock: asyncio.Lock, memory: str, wait: float) -> list[Stored]:
    """Every report stored in `memory` (`AT+CMGL=4` there)."""
    async with lock, _in_memory(channel, memory, wait) as selected:
        if not selected:
            return []
        answer = await channel.command("AT+CMGL=4", wait)
    return parse_listing(answer.lines) if answer.ok else []
