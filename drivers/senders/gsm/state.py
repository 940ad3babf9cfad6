"""What the sender knows about its modem, and the pure parsers that fill it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

REGISTRATION = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home_sms_only",
    7: "roaming_sms_only",
    8: "emergency_only",
    9: "home_csfb_not_preferred",
    10: "roaming_csfb_not_preferred",
}
REGISTERED = frozenset({1, 5, 6, 7, 9, 10})
_NUMBERS = re.compile(r"-?\d+")
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass(slots=True)
class ModemState:
    port: str
    phase: str = "starting"  # starting, port_missing, initialising, ready, fault
    model: str | None = None
    firmware: str | None = None
    sim: str | None = None
    registration: str | None = None
    registered: bool = False
    operator: str | None = None
    csq: int | None = None
    rssi_dbm: int | None = None
    smsc_known: bool | None = None
    delivery_reports: str = "off"  # off, routed (+CDS), stored (+CDSI), refused
    last_success_at: datetime | None = None
    last_error: str | None = None
    fault: str | None = None
    since: datetime | None = None

    @property
    def ready(self) -> bool:
        return self.phase == "ready" and self.registered

    def details(self) -> dict[str, object]:
        return {
            "port": self.port,
            "phase": self.phase,
            "model": self.model,
            "firmware": self.firmware,
            "sim": self.sim,
            "registration": self.registration,
            "operator": self.operator,
            "signal_csq": self.csq,
            "rssi_dbm": self.rssi_dbm,
            "smsc_known": self.smsc_known,
            "delivery_reports": self.delivery_reports,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_error": self.last_error,
            "fault": self.fault,
        }


def registration_stat(value: str | None, answer: bool = True) -> int | None:
    """`<stat>` of a `+CREG:`/`+CGREG:`/`+CEREG:` answer (`<n>,<stat>[,...]`) or, with
    `answer=False`, of the URC (`<stat>[,...]`)."""
    numbers = [int(n) for n in _NUMBERS.findall((value or "").split('"')[0])]
    index = 1 if answer else 0
    return numbers[index] if len(numbers) > index else None


def best_registration(stats: list[int | None]) -> int | None:
    """Registered in any of CREG/CGREG/CEREG wins; else denied; else the first known."""
    known = [s for s in stats if s is not None]
    for stat in known:
        if stat in REGISTERED:
            return stat
    if 3 in known:
        return 3
    return known[0] if known else None


def signal(value: str | None) -> tuple[int | None, int | None]:
    """(csq, dBm) from `+CSQ: <rssi>,<ber>` or `^RSSI: <rssi>`; 99 is unknown."""
    numbers = _NUMBERS.findall(value or "")
    if not numbers:
        return None, None
    rssi = int(numbers[0])
    if not 0 <= rssi <= 31:
        return None, None
    return rssi, -113 + 2 * rssi


def operator(value: str | None) -> str | None:
    """The operator name of `+COPS: <mode>,<format>,"<name>"[,<act>]`."""
    match = _QUOTED.search(value or "")
    return match.group(1)[:40] if match else None
