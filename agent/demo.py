"""`ringback demo`: the real daemon on bundled recorded calls, with nothing to set up.

A temporary store, the `log` sender printing what it would send, the status API on a
free loopback port. Prints each call's verdict and decision, then a summary.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from importlib import resources
from pathlib import Path

from agent.config import LoadedConfig, load
from agent.daemon import Daemon
from agent.model import CallRecord, decision_label
from agent.numbers import mask
from agent.pipeline import Accepted

DEMO_CONFIG = "demo.yaml"


def demo_config_text(store_path: Path) -> str:
    text = resources.files("agent.resources").joinpath(DEMO_CONFIG).read_text(encoding="utf-8")
    return text.replace("/tmp/ringback-demo.db", str(store_path))


def run_demo(speed: float = 0.0, keep: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ringback-demo-") as tmp:
        path = Path(tmp) / "ringback.yaml"
        text = demo_config_text(Path(tmp) / "ringback.db")
        if speed:
            text = text.replace("speed: 0", f"speed: {speed}")
        path.write_text(text, encoding="utf-8")
        loaded = load(path)
        return asyncio.run(_demo(loaded, path, keep))


def _print_call(record: CallRecord, accepted: Accepted, tz: object) -> None:
    local = record.ended_at.astimezone(tz)  # type: ignore[arg-type]
    decision = decision_label(accepted.decision) if accepted.decision else "seen before"
    print(
        f"{local:%H:%M:%S}  {record.direction.value:<8} {mask(record.caller_raw):<13} "
        f"{(record.caller_name or '')[:16]:<16} {record.outcome.value:<16} "
        f"{accepted.department or '-':<8} {decision}",
        flush=True,
    )


async def _demo(loaded: LoadedConfig, path: Path, keep: bool) -> int:
    settings = loaded.settings
    daemon = Daemon(loaded, path)
    daemon.observer = lambda record, accepted: _print_call(record, accepted, settings.site.tz)
    task = asyncio.create_task(daemon.run(), name="daemon")
    while daemon.runtime is None or daemon.status_port is None:
        if task.done():
            return task.result()
        await asyncio.sleep(0.05)
    print(
        f"ringback demo: {settings.site.name} ({settings.site.timezone}), recorded calls, "
        f"dry-run sender"
    )
    print(f"status API: http://127.0.0.1:{daemon.status_port}/v1/status  (also /metrics, /readyz)")
    print()
    await _wait_until_done(daemon)
    await _print_summary(daemon)
    if keep:
        print("\nstatus API stays up; Ctrl-C to stop")
        await daemon.stop_requested.wait()
    else:
        daemon.request_stop()
    return await task


async def _wait_until_done(daemon: Daemon) -> None:
    while True:
        runtime, store = daemon.runtime, daemon.store
        if runtime is not None and store is not None and all(s.finished for s in runtime.sources):
            counts = await store.message_counts()
            if not any(counts[s] for s in ("pending", "sending")) and not counts["retry_wait"]:
                return
        await asyncio.sleep(0.1)


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
