"""The idle-memory floor of the card's own packages: a bare process that imports
asyncio and ssl, builds a one-field pydantic-settings model, opens an httpx client
(its SSL context is what the daemon's heartbeat and cloud senders hold) and imports
aiosqlite, panoramisk, pyserial and tenacity, then prints its RSS in MB. The daemon
imports all of these (and aiohttp for the status API and the desk, holidays,
phonenumbers, Jinja2 and its own modules) before it is idle, so its idle RSS cannot
go under this figure, which bench_spine measures beside it in the same run.

    .venv/bin/python -m bench.card_floor
"""

from __future__ import annotations

import asyncio
import ssl  # noqa: F401  (the daemon's TLS, as in every process that serves or posts)


def main() -> None:
    import aiosqlite  # noqa: F401
    import httpx
    import panoramisk  # noqa: F401
    import pydantic_settings
    import serial  # noqa: F401
    import tenacity  # noqa: F401

    from bench.harness import current_rss_mb

    class One(pydantic_settings.BaseSettings):
        value: int = 1

    One()

    async def hold() -> float:
        async with httpx.AsyncClient():
            return current_rss_mb()

    print(f"{asyncio.run(hold()):.2f}")


if __name__ == "__main__":
    main()
