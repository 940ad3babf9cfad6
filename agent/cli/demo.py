"""`ringback demo`: the real daemon on bundled recorded calls, with nothing to set up.

The Asterisk driver's demo peer (a fake AMI server on loopback) plays the calls
recorded from a real Asterisk; the real Asterisk driver connects to it over TCP. A
temporary store, the `log` sender printing what it would send, the status API on a
free loopback port. Plays the calls one at a time and prints each call's verdict,
decision and reason, then the text it got (masked as the call line is), then a
summary and the recovery cases (one closes on the recorded callback from an
extension). `--keep` leaves the status API up until Ctrl-C (exit 0, nothing left in
the temporary directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import Coroutine
from importlib import resources
from pathlib import Path
from typing import Any

from agent.config.settings import LoadedConfig, load
from agent.daemon.service import Daemon
from agent.decide.pipeline import Accepted
from agent.desk.auth import passwords_path, set_password
from agent.model import CallRecord, Defer, Direction, Notify, Skip, decision_label
from agent.numbers import mask, normalize
from agent.plural import counted
from agent.status.paging import person_name
from agent.store import parse_ts
from drivers.base import DemoPeer
from drivers.sources import SOURCES

DEMO_CONFIG = "demo.yaml"
DEMO_SECRET = "demo-only-secret"
DEMO_ADVISOR = "advisor"


def demo_config_text(store_path: Path, ami_port: int = 5038) -> str:
    text = resources.files("agent.resources").joinpath(DEMO_CONFIG).read_text(encoding="utf-8")
    text = text.replace("port: 5038", f"port: {ami_port}")
    return text.replace("/tmp/ringback-demo.db", str(store_path))


def run_demo(speed: float = 0.0, keep: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(_demo(speed, keep))


async def _demo(speed: float, keep: bool) -> int:
    make_peer = SOURCES["asterisk"].capability("demo")
    assert make_peer is not None, "the asterisk driver provides the demo peer"
    peer: DemoPeer = make_peer(secret=DEMO_SECRET)
    async with peer as ami:
        streams = ami.recordings()
        with tempfile.TemporaryDirectory(prefix="ringback-demo-") as tmp:
            path = Path(tmp) / "ringback.yaml"
            path.write_text(demo_config_text(Path(tmp) / "ringback.db", ami.port), "utf-8")
            password = secrets.token_urlsafe(9)
            set_password(passwords_path(path), DEMO_ADVISOR, password)
            loaded = load(path)
            daemon = Daemon(loaded, path)
            texts: list[int] = []

            def observe(record: CallRecord, accepted: Accepted) -> None:
                _print_call(record, accepted, loaded)
                if accepted.message_id is not None:
                    texts.append(accepted.message_id)

            daemon.observer = observe
            task = asyncio.create_task(daemon.run(), name="daemon")
            try:
                session = _session(daemon, task, ami, streams, speed, keep, password, texts)
                code = await _until_stopped(daemon, task, session)
            finally:
                if not task.done():
                    if not daemon.stop_requested.is_set():  # Ctrl-C already asked
                        daemon.request_stop()
                    await task
            return code


async def _until_stopped(
    daemon: Daemon, task: asyncio.Task[int], session: Coroutine[Any, Any, int]
) -> int:
    """The session's exit code, or 0 when Ctrl-C stopped the demo before its end (the
    daemon then closes the store the session reads: the session is cancelled first)."""
    played = asyncio.create_task(session, name="demo-session")
    stop = asyncio.create_task(daemon.stop_requested.wait(), name="demo-stop")
    try:
        await asyncio.wait({played, stop, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if played.done():
        return played.result()
    played.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await played
    if task.done() and not daemon.stop_requested.is_set():
        return task.result()  # the daemon ended on its own: its exit code
    print("\ndemo stopped (Ctrl-C)", flush=True)
    return 0


async def _session(
    daemon: Daemon,
    task: asyncio.Task[int],
    ami: DemoPeer,
    streams: dict[str, bytes],
    speed: float,
    keep: bool,
    password: str,
    texts: list[int],
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
    for _ in range(100):  # the desk starts right after the status API
        if daemon.desk_port is not None or task.done():
            break
        await asyncio.sleep(0.05)
    if daemon.desk_port is not None:
        print(
            f"desk: http://127.0.0.1:{daemon.desk_port}/desk/  "
            f"(user {DEMO_ADVISOR}, one-time password {password})"
        )
    print()
    await ami.ready(within=30.0)
    for played, data in enumerate(streams.values(), start=1):
        await ami.play(data, speed=speed or None)
        await _wait_until_done(daemon, played)  # its text is printed under it
        await _print_texts(daemon, texts)
    await _print_summary(daemon)
    if keep:
        print("\nstatus API stays up; Ctrl-C to stop")
        await daemon.stop_requested.wait()
    return 0


def _print_call(record: CallRecord, accepted: Accepted, loaded: LoadedConfig) -> None:
    settings = loaded.settings
    local = record.ended_at.astimezone(settings.site.tz)
    decision = decision_label(accepted.decision) if accepted.decision else "seen before"
    if isinstance(accepted.decision, Defer):
        decision = "defer"
    if record.direction is Direction.INBOUND:
        number = normalize(record.caller_raw, settings.site.country)[0] or record.caller_raw
        who = mask(number)
    else:  # a staff phone called: its extension is no one's personal number
        who = f"ext {record.caller_raw or '?'}"
    print(
        f"{local:%H:%M:%S}  {record.direction.value:<8} {who:<13} "
        f"{(person_name(record.caller_name, False) or '')[:16]:<16} {record.outcome.value:<16} "
        f"{accepted.department or '-':<8} {decision:<20} {_reason(accepted, loaded)}",
        flush=True,
    )


def _reason(accepted: Accepted, loaded: LoadedConfig) -> str:
    """Why, in words: open or closed (which template), the grace, quiet hours."""
    decision = accepted.decision
    settings = loaded.settings
    if decision is None:
        return "(this call was already stored)"
    if isinstance(decision, Skip):
        return ""  # the reason is in the decision itself (skip:answered)
    state = "open" if decision.template == "open" else "closed"
    template = f"{decision.department}.{decision.template}.{decision.language}"
    if isinstance(decision, Defer):
        until = decision.until.astimezone(settings.site.tz)
        return f"({state}, template {template}, quiet hours until {until:%H:%M})"
    assert isinstance(decision, Notify)
    return f"({state}, template {template}, after {settings.sms.grace_seconds:g} s grace)"


async def _print_texts(daemon: Daemon, texts: list[int]) -> None:
    """The texts of the call just printed, as the caller would read them."""
    store = daemon.store
    assert store is not None
    for message_id in texts:
        row = await store.fetchone(
            "SELECT to_e164, state, body, last_error FROM messages WHERE id = ?", (message_id,)
        )
        if row is None:
            continue
        to, state, body, error = row
        if state == "sent":
            print(f"  text to {mask(to)}: {body}", flush=True)
        else:
            print(f"  text to {mask(to)} {state}: {error or 'waiting'}", flush=True)
    texts.clear()


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
    sent = counted(counts["sent"], "text", "texts")
    print(
        f"summary: {calls[0]} calls, {calls[1] or 0} inbound, {calls[2] or 0} unanswered; "
        f"{sent} sent (dry run), {counts['suppressed']} withdrawn, {counts['failed']} failed"
    )
    await _print_cases(daemon)


async def _print_cases(daemon: Daemon) -> None:
    """The recovery cases the calls opened, and the one the recorded callback closed."""
    store = daemon.store
    assert store is not None
    tz = daemon.loaded.settings.site.tz
    cases = list(reversed(await store.cases(limit=100)))
    print(f"\ncases: {len(cases)} opened, {sum(c['state'] == 'closed' for c in cases)} closed")
    for c in cases:
        caller = mask(c["caller_e164"]) if c["caller_e164"] else "withheld"
        opened = parse_ts(c["opened_at"]).astimezone(tz)
        calls = counted(c["calls"], "call", "calls")
        line = (
            f"  case {c['id']:<3} {c['department']:<8} {caller:<13} {calls:<7}  "
            f"opened {opened:%H:%M:%S}  {c['state']}"
        )
        if c["resolution"] == "reached":
            reached = parse_ts(c["reached_at"]).astimezone(tz)
            line += (
                f": reached by extension {c['reached_by']} at {reached:%H:%M:%S} "
                f"(proof: call {c['proof_call_id']})"
            )
        print(line)
