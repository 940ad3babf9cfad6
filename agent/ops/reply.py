"""`ringback reply CASE --text TEXT [--as NAME]`: answer a case's caller from a shell,
through the same function as the desk and the status API (`agent.cases.reply`: the
thread's sender, opt-out, quiet hours, caps).

Like `ringback cases`, it works on the store beside the running daemon, as the
store's owner; the daemon sees the new outbox row within seconds (it watches the
store for other writers). A refusal is one line with the reason and exit 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from agent.cases.reply import ReplyRefused, reply
from agent.config.settings import LoadedConfig, Settings
from agent.numbers import mask
from agent.ops.outbox import beside_daemon
from agent.store import Store
from drivers.base import utc_now


def cmd_reply(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    return beside_daemon("reply", loaded.settings, lambda: _run(args, loaded.settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    by = args.as_name or getpass.getuser()
    async with Store(settings.storage.path) as store:
        try:
            queued = await reply(store, settings, args.case, args.text, by, utc_now())
        except ReplyRefused as err:
            print(f"ringback reply: case {args.case}: {err.detail} ({err.reason})", file=sys.stderr)
            return 1
    local = queued.not_before.astimezone(settings.site.tz)
    through = queued.via or "the sender chain"
    if args.json:
        doc = {
            "message_id": queued.message_id,
            "case_id": queued.case_id,
            "to": mask(queued.to_e164),
            "by": queued.by,
            "via": queued.via,
            "segments": queued.segments,
            "not_before": local.isoformat(timespec="seconds"),
            "deferred": queued.deferred,
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    when = f"held for quiet hours until {local:%Y-%m-%d %H:%M}" if queued.deferred else "now"
    print(
        f"case {queued.case_id}: text queued as message {queued.message_id} to "
        f"{mask(queued.to_e164)} through {through}, leaving {when}"
    )
    return 0
