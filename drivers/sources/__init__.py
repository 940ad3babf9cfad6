"""The table of PBX sources, by `type:` name. Adding one is a module and a line here."""

from drivers.base import DriverEntry
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.replay.config import ReplayConfig
from drivers.sources.smdr.config import SmdrConfig

SOURCES: dict[str, DriverEntry] = {
    "asterisk": DriverEntry(
        AsteriskConfig,
        "drivers.sources.asterisk.source:AsteriskSource",
        replay="drivers.sources.asterisk.replay:replay",
        doctor="drivers.sources.asterisk.doctor:check",
        demo="drivers.sources.asterisk.demo:AsteriskDemoPeer",
    ),
    "replay": DriverEntry(
        ReplayConfig,
        "drivers.sources.replay.source:ReplaySource",
        replay="drivers.sources.replay.source:replay",
    ),
    "smdr": DriverEntry(
        SmdrConfig,
        "drivers.sources.smdr.source:SmdrSource",
        replay="drivers.sources.smdr.replay:replay",
        doctor="drivers.sources.smdr.doctor:check",
    ),
}
