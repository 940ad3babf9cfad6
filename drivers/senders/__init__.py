"""The table of SMS senders, by `type:` name. Adding one is a module and a line here."""

from drivers.base import DriverEntry
from drivers.senders.log_config import LogConfig

SENDERS: dict[str, DriverEntry] = {
    "log": DriverEntry(LogConfig, "drivers.senders.log:LogSender"),
}
