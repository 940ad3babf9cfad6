"""What the names in the stream mean on this PBX: contexts, apps, channel names.

Built once from the options; every test is a compiled regex or a set lookup, because
it runs for every event.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from drivers.sources.asterisk.config import AsteriskConfig

_CHANNEL_RE = re.compile(r"^(?P<tech>[^/]+)/(?P<resource>.+?)(?:-[0-9a-fA-F]+)?(?:;[12])?$")
_DIGITS_RE = re.compile(r"\+?\d{2,}")
_EMPTY_IDS = frozenset({"", "<unknown>", "unknown"})


def _matcher(patterns: Iterable[str]) -> re.Pattern[str]:
    joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
    return re.compile(joined or r"(?!x)x")


def channel_resource(channel: str) -> str:
    """`PJSIP/102-0000002a` -> `102`; `Local/201@from-queue-0000;1` -> `201@from-queue`."""
    match = _CHANNEL_RE.match(channel)
    return match["resource"] if match else channel


def is_local(channel: str) -> bool:
    return channel.startswith("Local/")


def extension_of(channel: str) -> str:
    """The extension a channel stands for: `102`, `201` (of a Local queue member)."""
    return channel_resource(channel).partition("@")[0]


def interface_extension(interface: str) -> str:
    """A queue member interface (`Local/201@from-queue/n`, `PJSIP/201`) -> `201`."""
    tail = interface.partition("/")[2] or interface
    return tail.partition("@")[0].partition("/")[0]


def number_in(text: str) -> str | None:
    """The first run of digits (with its `+`) in a dial string, if any."""
    match = _DIGITS_RE.search(text)
    return match.group(0) if match else None


def clean_id(value: str | None) -> str | None:
    """Caller ID values Asterisk uses for 'nothing' become None."""
    if value is None or value.strip() in _EMPTY_IDS:
        return None
    return value


class Dialplan:
    """The options turned into fast predicates."""

    __slots__ = (
        "_inbound",
        "_internal",
        "_ivr",
        "_outbound",
        "_queue",
        "_ringgroup",
        "_trunks",
        "_vm_apps",
        "_vm_contexts",
        "external_min_digits",
    )

    def __init__(self, config: AsteriskConfig) -> None:
        self._inbound = _matcher(config.inbound_contexts)
        self._internal = _matcher(config.internal_contexts)
        self._outbound = _matcher(config.outbound_contexts)
        self._ivr = _matcher(config.ivr_contexts)
        self._queue = _matcher(config.queue_contexts)
        self._ringgroup = _matcher(config.ringgroup_contexts)
        self._vm_contexts = _matcher(config.voicemail_contexts)
        self._vm_apps = _matcher(a.lower() for a in config.voicemail_applications)
        self._trunks = _matcher(config.trunks)
        self.external_min_digits = config.external_min_digits

    def inbound_context(self, context: str) -> bool:
        return self._inbound.match(context) is not None

    def internal_context(self, context: str) -> bool:
        return self._internal.match(context) is not None

    def outbound_context(self, context: str) -> bool:
        return self._outbound.match(context) is not None

    def ivr_context(self, context: str) -> bool:
        return self._ivr.match(context) is not None

    def queue_context(self, context: str) -> bool:
        return self._queue.match(context) is not None

    def ringgroup_context(self, context: str) -> bool:
        return self._ringgroup.match(context) is not None

    def voicemail(self, context: str, application: str) -> bool:
        return (
            self._vm_apps.match(application.lower()) is not None
            or self._vm_contexts.match(context) is not None
        )

    def trunk_channel(self, channel: str) -> bool:
        return self._trunks.match(channel_resource(channel)) is not None

    def external_number(self, exten: str) -> bool:
        digits = exten.lstrip("+")
        return digits.isdigit() and len(digits) >= self.external_min_digits
