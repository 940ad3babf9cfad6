"""`ringback demo`: the real daemon on bundled recorded calls, with nothing to set up.

A fake AMI server on loopback plays the calls recorded from a real Asterisk; the real
Asterisk driver connects to it over TCP. A temporary store, the `log` sender printing
what it would send, the status API on a free loopback port. Prints each call's
verdict and decision, then a summary.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config import LoadedConfig, load
from agent.daemon import Daemon
from agent.model import CallRecord, decision_label
from agent.numbers import mask
from agent.pipeline import Accepted

if TYPE_CHECKING:
    from drivers.sources.asterisk.fake_server import FakeAmiServer

DEMO_CONFIG = "demo.yaml"
DEMO_SECRET = "demo-only-secret"


def demo_config_text(store_path: Path, ami_port: int = 5038) -> str:
    text = resources.files("agent.resources").joinpath(DEMO_CONFIG).read_text(encoding="utf-8")
    text = text.replace("port: 5038", f"port: {ami_port}")
    return text.replace("/tmp/ringback-demo.db", str(store_path))


_STAMP = re.compile(rb"^Timestamp: (\d+\.\d+)\r$", re.MULTILINE)


def shift_to_now(streams: dict[str, bytes]) -> dict[str, bytes]:
    """Move the recordings' `Timestamp:` headers so that the last call ends now, and
    order them as they were recorded: the demo's calls are always fresh."""
    firsts = {name: _stamps(data) for name, data in streams.items()}
    latest = max((s[-1] for s in firsts.values() if s), default=time.time())
    shift = time.time() - latest

    def moved(match: re.Match[bytes]) -> bytes:
        return b"Timestamp: %.6f\r" % (float(match.group(1)) + shift)

    ordered = sorted(streams, key=lambda n: firsts[n][0] if firsts[n] else 0.0)
    return {name: _STAMP.sub(moved, streams[name]) for name in ordered}


def _stamps(data: bytes) -> list[float]:
    return [float(m.group(1)) for m in _STAMP.finditer(data)]


def run_demo(speed: float = 0.0, keep: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(_demo(speed, keep))


async def _demo(speed: float, keep: bool) -> int:
    from drivers.sources.asterisk.fake_server import FakeAmiServer, demo_streams

    streams = shift_to_now(demo_streams())
    async with FakeAmiServer(username="ringback", secret=DEMO_SECRET, seed=1) as ami:
        with tempfile.TemporaryDirectory(prefix="ringback-demo-") as tmp:
            path = Path(tmp) / "ringback.yaml"
            path.write_text(demo_config_text(Path(tmp) / "ringback.db", ami.port), "utf-8")
            loaded = load(path)
            daemon = Daemon(loaded, path)
            daemon.observer = lambda record, accepted: _print_call(record, accepted, loaded)
            task = asyncio.create_task(daemon.run(), name="daemon")
            try:
                code = await _session(daemon, task, ami, streams, speed, keep)
            finally:
                if not task.done():
                    daemon.request_stop()
                    await task
            return code


async def _session(
    daemon: Daemon,
    task: asyncio.Task[int],
    ami: FakeAmiServer,
    streams: dict[str, bytes],
    speed: float,
    keep: bool,
) -> int:
    settings = daemon.loaded.settings
    while daemon.status_port is None:
        if task.done():
            return task.result()
        await asyncio.sleep(0.05)
    print(
        f"ringback demo: {settings.site.name} ({settings.site.timezone}), "
        f"{len(streams)} calls recorded on a real Asterisk, played by a fake AMI server"
    )
    print(f"status API: http://127.0.0.1:{daemon.status_port}/v1/status  (also /metrics, /readyz)")
    print()
    await ami.wait_logins(1, within=30.0)
    await ami.wait_action("CoreShowChannels", within=30.0)
    for data in streams.values():
        await ami.play(data, speed=speed or None)
    await _wait_until_done(daemon, len(streams))
    await _print_summary(daemon)
    if keep:
        print("\nstatus API stays up; Ctrl-C to stop")
        await daemon.stop_requested.wait()
    return 0


def _print_call(record: CallRecord, accepted: Accepted, loaded: LoadedConfig) -> None:
    local = record.ended_at.astimezone(loaded.settings.site.tz)
    decision = decision_label(accepted.decision) if accepted.decision else "seen before"
    print(
        f"{local:%H:%M:%S}  {record.direction.value:<8} {mask(record.caller_raw):<13} "
        f"{(record.caller_name or '')[:16]:<16} {record.outcome.value:<16} "
        f"{accepted.department or '-':<8} {decision}",
        flush=True,
    )


async def _wait_until_done(daemon: Daemon, calls: int, within: float = 60.0) -> None:
    """Until every played call is stored and no text is still waiting to leave."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        runtime, store = daemon.runtime, daemon.store
        if runtime is not None and store is not None:
            stored = runtime.pipeline.counters.get("calls")
            counts = await store.message_counts()
            if stored >= calls and not (counts["pending"] or counts["sending"]):
                return
        await asyncio.sleep(0.1)
    print(f"demo: not every call was finished within {within:.0f} s")


async def _print_summary(daemon: Daemon) -> None:
    store = daemon.store
    assert store is not None
    calls = await store.fetchone(
        "SELECT COUNT(*), SUM(direction='inbound'), SUM(direction='inbound' AND outcome IN "
        "('missed','voicemail','abandoned_ivr','abandoned_queue','busy')) FROM calls"
    )
    counts = await store.message_counts()
    print()
    print(
        f"summary: {calls[0]} calls, {calls[1] or 0} inbound, {calls[2] or 0} unanswered; "
        f"{counts['sent']} text(s) sent (dry run), {counts['suppressed']} withdrawn, "
        f"{counts['failed']} failed"
    )
