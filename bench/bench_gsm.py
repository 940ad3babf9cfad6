"""GSM modem sender: ringback's own time per text beyond the simulated modem's answer.

Runs the real sender against the pty modem of tests/peers (answering each PDU after a
fixed delay) and prints, per text, the time beyond that delay (limit 100 ms), plus the
PDU encoder's rate; medians of three runs with their spread. Prints only; never
asserts. Usage: python -m bench.bench_gsm
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from agent.model import OutgoingText, Sent
from bench.harness import RUNS, Figure, Sample, rate, repeat, report
from drivers.base import SenderContext, SiteContext
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.pdu import encode_submit
from drivers.senders.gsm.sender import GsmSender
from tests.peers.modem import Behaviour, FakeModem

MODEM_ANSWER_SECONDS = 0.05
TEXTS = 40
SHORT = "Bonjour, nous avons manqué votre appel. Rappelez-nous au 418-555-0100. Merci!"
LONG = "Désolé d'avoir manqué votre appel’ " * 6  # UCS-2, 4 parts


async def _per_text(body: str, count: int) -> tuple[float, int]:
    """(seconds per text, parts per text) through the real sender and the pty modem."""
    with tempfile.TemporaryDirectory() as directory:
        behaviour = Behaviour(submit_delay=MODEM_ANSWER_SECONDS, echo=True)
        with FakeModem(Path(directory), behaviour) as modem:
            config = GsmConfig(
                name="bench", port=modem.path, pin=SecretStr("8642"),
                health_poll_seconds=3600, inbox_poll_seconds=3600,
            )  # fmt: skip
            site = SiteContext(name="bench", tz=ZoneInfo("America/Toronto"))
            async with GsmSender(config, SenderContext(site)) as sender:
                for _ in range(1000):
                    if sender.health().usable:
                        break
                    await asyncio.sleep(0.01)
                start = time.perf_counter()
                for number in range(count):
                    result = await sender.send(OutgoingText(number, "+14185550142", body))
                    assert isinstance(result, Sent), result
                elapsed = time.perf_counter() - start
            parts = len(modem.received) // count
    return elapsed / count, parts


def main() -> None:
    figures: list[Figure] = []
    for label, body in (("1 part gsm7", SHORT), ("4 parts ucs2", LONG)):
        count = TEXTS if parts_hint(body) == 1 else 10
        per_text: list[float] = []
        per_part: list[float] = []
        for _ in range(RUNS):
            seconds, parts = asyncio.run(_per_text(body, count))
            overhead_ms = (seconds - parts * MODEM_ANSWER_SECONDS) * 1000
            per_text.append(overhead_ms)
            per_part.append(overhead_ms / parts)
        figures.append(
            Figure(f"gsm overhead per text ({label})", Sample.of(per_text), "ms", 100, False)
        )
        figures.append(
            Figure(f"gsm overhead per part ({label})", Sample.of(per_part), "ms", 100, False)
        )
    figures.append(
        Figure("pdu encode (4-part UCS-2) rate", repeat(lambda: rate(2000, lambda: encode_submit(
            "+14185550142", LONG, 7))), "/s", 1000, True)
    )  # fmt: skip
    report(figures)


def parts_hint(body: str) -> int:
    return len(encode_submit("+14185550142", body))


if __name__ == "__main__":
    main()
