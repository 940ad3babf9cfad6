"""`ringback doctor` for an `asterisk` source: reach AMI, log in, and try the actions
the source needs, with the driver's own protocol class and one deadline.

Checked: the CDR/CEL catch-up back-end when `catchup:` is set (connect as the
read-only user, the tables readable, the file there), then TCP connect and banner,
Login (with the event classes the tracker reads),
CoreShowChannels (the resync after a reconnect; needs `system` or `reporting` in
manager.conf `write=`), Filter when `event_filter` is on (refused is tolerated: the
source then filters locally). AMI has no action that reports a user's `read=`
classes, so those are named in the message rather than proven.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agent.model import Counters
from drivers.base import DoctorResult, SiteContext
from drivers.sources.asterisk.cdr.backend import CatchupError
from drivers.sources.asterisk.cdr.backends import make_backend
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.connection import LIST_EVENTS
from drivers.sources.asterisk.events import EVENT_CLASSES, WANTED
from drivers.sources.asterisk.frames import FrameParser
from drivers.sources.asterisk.protocol import AmiProtocol, SessionLost

_CONF = "/etc/asterisk/manager.conf (FreePBX: manager_custom.conf)"


async def check(config: AsteriskConfig, site: SiteContext, limit: float) -> DoctorResult:
    ami = await _check_ami(config, limit)
    if config.catchup is None:
        return ami
    cdr = await check_catchup(config, limit)
    return DoctorResult(
        ami.ok and cdr.ok,
        f"{ami.message}; {cdr.message}",
        "; ".join(h for h in (ami.hint, cdr.hint) if h),
    )


async def check_catchup(config: AsteriskConfig, limit: float) -> DoctorResult:
    """Reach the CDR back-end with the catch-up's own code, within `limit` seconds."""
    assert config.catchup is not None
    cfg = config.catchup
    try:
        backend = make_backend(cfg)
        async with asyncio.timeout(limit):
            found = await asyncio.to_thread(backend.probe)
    except TimeoutError:
        return DoctorResult(False, f"CDR: no answer within {limit:.0f}s", _cdr_hint(config))
    except CatchupError as err:
        return DoctorResult(False, f"CDR: {err}", _cdr_hint(config))
    return DoctorResult(True, f"CDR: {found}")


def _cdr_hint(config: AsteriskConfig) -> str:
    assert config.catchup is not None
    cfg = config.catchup
    if cfg.backend == "mysql":
        return (
            f"check catchup host/port/unix_socket of pbx {config.name!r}; the password "
            f"(credential {config.name}.cdr_password) must be that of {cfg.user!r}, granted "
            f"SELECT ON {cfg.database}.{cfg.cdr_table} (and .{cfg.cel_table or 'cel'})"
        )
    return f"check catchup.path of pbx {config.name!r} and that ringback may read it"


async def _check_ami(config: AsteriskConfig, limit: float) -> DoctorResult:
    where = f"AMI {config.host}:{config.port}"
    try:
        async with asyncio.timeout(limit):
            return await _check(config, where)
    except TimeoutError:
        return DoctorResult(
            False,
            f"{where}: no answer within {limit:.0f}s",
            "is Asterisk running and the port open to this server (firewall, manager.conf "
            "bindaddr/port, enabled = yes)?",
        )
    except (OSError, SessionLost) as err:
        why = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return DoctorResult(
            False,
            f"{where}: cannot connect ({why})",
            f"check host/port of pbx {config.name!r}, that Asterisk runs, and `enabled = yes` "
            f"with a matching bindaddr in {_CONF}",
        )


async def _check(config: AsteriskConfig, where: str) -> DoctorResult:
    loop = asyncio.get_running_loop()
    parser = FrameParser(Counters(), _ignore, config.max_frame_bytes, WANTED | LIST_EVENTS)
    _, proto = await loop.create_connection(
        lambda: AmiProtocol(parser, _ignore_events), config.host, config.port
    )
    try:
        return await _session(proto, config, where)
    finally:
        proto.close()


async def _session(proto: AmiProtocol, config: AsteriskConfig, where: str) -> DoctorResult:
    wait = config.connect_timeout_seconds
    secret = config.secret.get_secret_value() if config.secret is not None else ""
    login = await proto.action(
        {"Action": "Login", "Username": config.username, "Secret": secret, "Events": EVENT_CLASSES},
        wait,
    )
    if not login.success:
        return DoctorResult(
            False,
            f"{where}: login refused for user {config.username!r}",
            f"the secret of pbx {config.name!r} (credential {config.name}.secret) must match "
            f"`secret =` of [{config.username}] in {_CONF}; then `asterisk -rx 'manager reload'`",
        )
    channels = await proto.action({"Action": "CoreShowChannels"}, wait)
    first = channels[0] if isinstance(channels, list) and channels else channels
    if not first.success:
        return DoctorResult(
            False,
            f"{where}: logged in, but CoreShowChannels refused ({_message(first)})",
            f"add `reporting` to `write =` of [{config.username}] in {_CONF}: without it, "
            "calls in progress during a reconnect are lost",
        )
    notes = [f"logged in as {config.username!r}", f"{_banner(proto)}"]
    if config.event_filter:
        reply = await proto.action(
            {"Action": "Filter", "Operation": "Add", "Filter": "Event: Hangup"}, wait
        )
        if not reply.success:
            notes.append("Filter refused (events filtered here)")
    items = channels if isinstance(channels, list) else []
    count = sum(1 for m in items if m.get("Event") == "CoreShowChannel")
    notes.append(f"{count} channel(s) up")
    notes.append(f"read= must include {EVENT_CLASSES}")
    await _logoff(proto, wait)
    return DoctorResult(True, f"{where}: " + ", ".join(notes))


async def _logoff(proto: AmiProtocol, wait: float) -> None:
    with contextlib.suppress(TimeoutError, SessionLost):
        await proto.action({"Action": "Logoff"}, min(wait, 2.0))


def _banner(proto: AmiProtocol) -> str:
    return proto.banner or "unknown version"


def _message(reply: Any) -> str:
    return str(reply.get("Message") or "refused")


def _ignore(reason: str, detail: str) -> None:
    return None


def _ignore_events(frames: list[dict[str, str]]) -> None:
    return None
