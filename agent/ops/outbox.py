"""`ringback outbox list|show ID|retry ID|cancel ID`: the technician's view of the queue.

It opens the store beside the running daemon (SQLite WAL lets a second connection in;
every change is one `BEGIN IMMEDIATE` transaction guarded by the message's state, see
`Store.retry_message` / `Store.cancel_message`), so a text the dispatcher claims at the
same moment is never changed behind its back. The daemon looks at the outbox at least
every 30 s, so a retried text leaves within half a minute.

Run as root, it works with the database owner's identity, so no file it creates (WAL,
shared memory) ends up owned by root and unreadable by the service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.config.settings import LoadedConfig, Settings
from agent.errors import StoreError
from agent.numbers import mask
from agent.store import Store
from drivers.base import utc_now

OPEN_OR_STUCK = ("pending", "retry_wait", "sending", "failed", "unknown")
_COLUMNS = (
    "id, state, created_at, to_e164, department, template, attempts, not_before, "
    "sender, last_error, sent_at, updated_at, delivery, delivery_code, delivery_at"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]


@contextlib.contextmanager
def as_owner(path: Path) -> Iterator[None]:
    """As root, act with the uid/gid owning `path` (or its directory) for the block."""
    target = path if path.exists() else path.parent
    if os.geteuid() != 0 or not target.exists():
        yield
        return
    info = target.stat()
    if info.st_uid == 0:
        yield
        return
    os.setegid(info.st_gid)
    os.seteuid(info.st_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def no_store_yet(command: str, settings: Settings) -> int:
    """1, with one line, when the store does not exist yet (before the first start);
    0 when it does."""
    path = settings.storage.path
    if path.exists():
        return 0
    print(
        f"ringback {command}: no store at {path} yet (`ringback run` creates it when it "
        "first starts; storage.path says where)",
        file=sys.stderr,
    )
    return 1


def beside_daemon(
    command: str, settings: Settings, work: Callable[[], Coroutine[Any, Any, int]]
) -> int:
    """Run a technician's command on the store as its owner, safe beside the running
    daemon; a store that cannot be used is one line and exit 1, and so is one that does
    not exist yet (opening it would create an empty one)."""
    missing = no_store_yet(command, settings)
    if missing:
        return missing
    try:
        with as_owner(settings.storage.path):
            return asyncio.run(work())
    except StoreError as err:
        print(f"ringback {command}: {err}", file=sys.stderr)
        return 1


def cmd_outbox(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    return beside_daemon("outbox", loaded.settings, lambda: _run(args, loaded.settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with Store(settings.storage.path) as store:
        action = args.outbox_command
        if action == "list":
            return await _list(store, settings, args)
        if action == "show":
            return await _show(store, settings, args)
        now = utc_now()
        if action == "retry":
            expires = now + timedelta(minutes=settings.sms.max_age_minutes)
            before = await store.retry_message(args.id, expires, now)
            return _verdict(args.id, before, ("failed", "unknown"), "queued again, due now")
        before = await store.cancel_message(args.id, now)
        return _verdict(
            args.id, before, ("pending", "retry_wait", "unknown"), "cancelled (suppressed)"
        )


def _verdict(message_id: int, before: str, allowed: tuple[str, ...], done: str) -> int:
    if not before:
        print(f"message {message_id}: no such message", file=sys.stderr)
        return 1
    if before not in allowed:
        print(
            f"message {message_id} is {before}: only a {' or '.join(allowed)} message can be "
            "changed this way; nothing changed",
            file=sys.stderr,
        )
        return 1
    print(f"message {message_id}: was {before}, {done}")
    return 0


async def _list(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    states = tuple(args.state) if args.state else OPEN_OR_STUCK
    marks = ",".join("?" * len(states))
    rows = await store.fetchall(
        f"SELECT {_COLUMNS} FROM messages WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
        (*states, args.limit),
    )
    docs = [_doc(row, settings.site.tz, args.full) for row in rows]
    if args.json:
        print(json.dumps(docs, indent=2))
        return 0
    if not docs:
        print(f"no message in state {', '.join(states)}")
        return 0
    print(f"{'ID':>6}  {'STATE':<10}  {'CREATED':<16}  {'TO':<14}  {'DEPT':<8}  TRIES  LAST ERROR")
    for d in docs:
        print(
            f"{d['id']:>6}  {d['state']:<10}  {str(d['created_at'])[:16]:<16}  "
            f"{d['to']:<14}  {str(d['department'])[:8]:<8}  {d['attempts']:>5}  "
            f"{d['last_error'] or ''}"
        )
    return 0


async def _show(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    row = await store.fetchone(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (args.id,))
    if not row:
        print(f"message {args.id}: no such message", file=sys.stderr)
        return 1
    doc = _doc(row, settings.site.tz, args.full)
    attempts = await store.fetchall(
        "SELECT started_at, sender, result, detail FROM attempts WHERE message_id = ? ORDER BY id",
        (args.id,),
    )
    doc["history"] = [
        {"at": _local(a[0], settings.site.tz), "sender": a[1], "result": a[2], "detail": a[3]}
        for a in attempts
    ]
    doc["deliveries"] = [  # the carrier's reports, as they came (applied or late)
        {"at": _local(at, settings.site.tz), "state": state, "code": code, "applied": applied}
        for state, code, at, applied in await store.delivery_history(args.id)
    ]
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for key, value in doc.items():
        if key not in ("history", "deliveries"):
            print(f"{key:>12}: {value if value is not None else '-'}")
    print("     history:")
    for item in doc["history"]:  # type: ignore[attr-defined]
        print(f"  {item['at']}  {item['result']:<16} {item['sender'] or '-':<10} {item['detail']}")
    if doc["deliveries"]:
        print("  deliveries:")
    for item in doc["deliveries"]:  # type: ignore[attr-defined]
        late = "" if item["applied"] else "  (late: not applied)"
        print(f"  {item['at']}  {item['state']:<16} {item['code'] or '':<10}{late}")
    return 0


def _doc(row: tuple[object, ...], tz: ZoneInfo, full: bool) -> dict[str, object]:
    doc = dict(zip(_NAMES, row, strict=True))
    number = str(doc.pop("to_e164") or "")
    doc["to"] = number if full else mask(number)
    for key in ("created_at", "not_before", "sent_at", "updated_at", "delivery_at"):
        doc[key] = _local(doc[key], tz)
    return doc


def _local(value: object, tz: ZoneInfo) -> str | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
