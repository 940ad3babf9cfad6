"""`ringback cases list|show ID|close ID --resolution R [--note N]|reopen ID`: the
technician's and the manager's view of the recovery cases, `--json` on each.

Like `ringback outbox`, it opens the store beside the running daemon (WAL) and each
change is one `BEGIN IMMEDIATE` transaction guarded by the case's state, so a case
the daemon closes at the same moment is never changed behind its back. Numbers are
masked unless `--full`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from agent.cases.actions import BadResolution, close
from agent.config.settings import LoadedConfig, Settings
from agent.numbers import mask
from agent.ops.outbox import beside_daemon
from agent.store import Store
from agent.store.cases import CaseError
from drivers.base import utc_now

_TIMES = (
    "opened_at",
    "last_miss_at",
    "sla_due_at",
    "first_attempt_at",
    "replied_at",
    "reached_at",
    "escalated_at",
    "closed_at",
    "updated_at",
    "at",
    "ended_at",
    "received_at",
    "sent_at",
)


def cmd_cases(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    return beside_daemon("cases", loaded.settings, lambda: _run(args, loaded.settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with Store(settings.storage.path) as store:
        action = args.cases_command
        if action == "list":
            return await _list(store, settings, args)
        if action == "show":
            return await _show(store, settings, args)
        actor = getattr(args, "by", None) or getpass.getuser()
        try:
            if action == "close":
                await close(store, args.id, args.resolution, args.note or "", actor, utc_now())
            else:
                await store.reopen_case(args.id, actor, utc_now())
        except (BadResolution, CaseError) as err:
            print(f"ringback cases {action}: {err}", file=sys.stderr)
            return 1
        row = await store.case(args.id)
        assert row is not None
        doc = _doc(row, settings.site.tz, False)
        if args.json:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            print(f"case {args.id}: {doc['state']} ({doc['resolution'] or 'open again'})")
        return 0


async def _list(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    state = None if args.state == "all" else args.state
    rows = await store.cases(state, args.department, args.limit)
    docs = [_doc(row, settings.site.tz, args.full) for row in rows]
    if args.json:
        print(json.dumps(docs, indent=2, ensure_ascii=False))
        return 0
    if not docs:
        print(f"no {args.state} case")
        return 0
    print(
        f"{'ID':>6}  {'STATE':<6}  {'OPENED':<16}  {'CALLER':<14}  {'DEPT':<8}  CALLS  "
        f"TRIES  {'DUE':<16}  RESOLUTION"
    )
    for d in docs:
        print(
            f"{d['id']:>6}  {d['state']:<6}  {str(d['opened_at'])[:16]:<16}  "
            f"{d['caller'] or 'withheld':<14}  {str(d['department'])[:8]:<8}  {d['calls']:>5}  "
            f"{d['attempts']:>5}  {str(d['sla_due_at'] or '-')[:16]:<16}  "
            f"{d['resolution'] or ('replied' if d['replied_at'] else '')}"
        )
    return 0


async def _show(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    row = await store.case(args.id)
    if row is None:
        print(f"case {args.id}: no such case", file=sys.stderr)
        return 1
    tz = settings.site.tz
    doc = _doc(row, tz, args.full)
    history = await store.case_history(args.id)
    history["thread"] = await store.case_thread(args.id)
    doc.update({key: [_local_all(item, tz) for item in items] for key, items in history.items()})
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for key, value in doc.items():
        if not isinstance(value, list):
            print(f"{key:>17}: {value if value is not None else '-'}")
    for key in history:
        print(f"{key}:")
        for item in doc[key]:
            print("  " + "  ".join(f"{v}" for v in item.values() if v not in (None, "")))
    return 0


def _doc(row: dict[str, Any], tz: ZoneInfo, full: bool) -> dict[str, Any]:
    doc = _local_all(row, tz)
    number = doc.pop("caller_e164") or doc.pop("caller_raw") or None
    doc.pop("caller_raw", None)
    doc["caller"] = None if number is None else number if full else mask(str(number))
    doc["callback_possible"] = bool(doc["callback_possible"])
    doc["callback_only"] = bool(doc.get("callback_only"))  # the number takes no texts
    return doc


def _local_all(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    from datetime import datetime

    out = dict(row)
    for key in _TIMES:
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return out
