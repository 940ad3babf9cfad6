"""A simulated GSM/LTE modem on a pty that speaks AT like the real ones.

The driver opens `FakeModem.path` (a symlink standing in for /dev/serial/by-id/...)
with pyserial, exactly as in production. The modem runs in its own thread, so it
serves an in-process sender as well as a daemon started as a subprocess.

Scripted behaviours (`Behaviour`): echo on at boot, SIM PIN required, no network or
LTE-only registration, radio off, slow answers, a URC between a command and its
answer, the prompt with or without the space, a queue of outcomes for the next
`AT+CMGS` (a CMS error number, "ERROR" or "silence" after Ctrl-Z), a mute modem.
Live actions: `deliver()` stores an incoming text and announces `+CMTI`,
`status_report()` routes a `+CDS`, `inject()`/`write_raw()` send URCs or garbage,
`unplug()`/`plug()` make the tty vanish and come back under the same name.

Delivery reports: after each `+CMGS` whose PDU asks for one (TP-SRR), the modem
routes an SMS-STATUS-REPORT as `+CDS: <len>` + PDU, like a network that answers at
once: TP-ST 0x00 (delivered), or the statuses `report_statuses` gives for that
recipient, one report each (e.g. `[0x20, 0x00]`: still trying, then delivered;
`[0x41]`: incompatible destination); `report_copies` sends each one several times
(a network that repeats itself); `hold_reports` keeps them until `release_reports()`
(in reverse order for out-of-order arrival); `report_recipient` writes the recipient
another way (national digits). `reports` lists every report PDU the modem made.
With `AT+CNMI=...,2,...` (when `cnmi_ds` allows it; some modems refuse `1`) a report
is stored in the "SR" memory instead and announced as `+CDSI: "SR",<index>`, read
with `AT+CPMS="SR"` then `AT+CMGR`, as on a SIM7600.

Every PDU the modem accepted is in `received` (hex as typed after the prompt).
This module is test code: it builds SMS-DELIVER PDUs with its own small encoder,
independent of `drivers.senders.gsm`.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

_Handler = Callable[[str], None]
Outcome = int | str  # a +CMS ERROR number, "ERROR", "silence" or "ok"


@dataclass
class Behaviour:
    echo: bool = True
    pin: str | None = "8642"
    sim: str = "present"  # present, absent, puk
    cfun: int = 1
    registration: int = 1
    lte_only: bool = False
    csq: int = 21
    operator: str = "Rogers"
    smsc: str = "+17057969300"
    answer_delay: float = 0.0
    submit_delay: float = 0.0
    prompt: bytes = b"> "
    urc_before_answer: str | None = None
    first_reference: int = 12
    outcomes: list[Outcome] = field(default_factory=list)
    mute: bool = False
    boot_urcs: tuple[str, ...] = ("RDY",)
    report_statuses: dict[str, list[int]] = field(default_factory=dict)
    report_copies: int = 1
    hold_reports: bool = False
    report_recipient: str | None = None
    cnmi_ds: tuple[int, ...] = (0, 1, 2)  # the <ds> values AT+CNMI accepts


@dataclass(frozen=True)
class Submitted:
    length: int
    hex: str


class FakeModem:
    def __init__(self, directory: Path, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.path = directory / "usb-Fake_EC25_0123456789-if02-port0"
        self.received: list[Submitted] = []
        self.commands: list[str] = []
        self.pin_attempts = 0
        self.storage: dict[int, str] = {}
        self.reports: list[str] = []
        self.report_storage: dict[int, str] = {}
        self.held_reports: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._master = self._slave = -1

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.plug()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unplug()

    def plug(self) -> None:
        """Boot: a new tty under the same name, echo on, SIM locked again."""
        self._boot_state()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        tmp = self.path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self._slave))
        tmp.replace(self.path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fake-modem", daemon=True)
        self._thread.start()
        for urc in self.behaviour.boot_urcs:
            self.inject(urc)

    def unplug(self) -> None:
        """The USB device vanishes: the tty hangs up and the by-id name disappears."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.path.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _boot_state(self) -> None:
        self.echo = self.behaviour.echo
        self.pin_ok = self.behaviour.pin is None
        self.cfun = self.behaviour.cfun
        self._mr = self.behaviour.first_reference
        self.ds = 0
        self.mem1 = "SM"
        self._buffer = bytearray()
        self._pdu_length: int | None = None

    # --- live actions -----------------------------------------------------------------

    def inject(self, line: str) -> None:
        self.write_raw(b"\r\n" + line.encode("latin-1") + b"\r\n")

    def write_raw(self, data: bytes) -> None:
        with self._lock:
            if self._master >= 0:
                os.write(self._master, data)

    def deliver(self, sender: str, text: str, concat: tuple[int, int, int] | None = None) -> int:
        """Store an incoming SMS-DELIVER (UCS-2) and announce it with +CMTI."""
        index = next(i for i in range(1, 256) if i not in self.storage)
        self.storage[index] = deliver_pdu(sender, text, concat)
        self.inject(f'+CMTI: "SM",{index}')
        return index

    def store_raw(self, pdu_hex: str, announce: bool = True) -> int:
        index = next(i for i in range(1, 256) if i not in self.storage)
        self.storage[index] = pdu_hex
        if announce:
            self.inject(f'+CMTI: "SM",{index}')
        return index

    def status_report(
        self, reference: int, status: int = 0, recipient: str = "+14185550142"
    ) -> None:
        self.route_report(status_report_pdu(reference, recipient, status))

    def route_report(self, pdu: str) -> None:
        """A `+CDS` URC carrying `pdu` (any hex, garbled ones too)."""
        self.write_raw(f"\r\n+CDS: {len(pdu) // 2 - 1}\r\n{pdu}\r\n".encode("ascii"))

    def release_reports(self, reverse: bool = False) -> None:
        held, self.held_reports = self.held_reports, []
        for pdu in reversed(held) if reverse else held:
            self._hand_report(pdu)

    def _hand_report(self, pdu: str) -> None:
        """As CNMI says: routed (+CDS), stored and announced (+CDSI), or kept quiet."""
        if self.ds == 1:
            self.route_report(pdu)
        elif self.ds == 2:
            index = next(i for i in range(1, 256) if i not in self.report_storage)
            self.report_storage[index] = pdu
            self.inject(f'+CDSI: "SR",{index}')

    # --- the AT conversation ----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                continue
            if not self.behaviour.mute:
                self._feed(data)

    def _feed(self, data: bytes) -> None:
        for byte in data:
            if self._pdu_length is not None:
                self._pdu_byte(byte)
            elif byte == 0x0D:
                line = self._buffer.decode("ascii", "replace").strip()
                self._buffer.clear()
                if self.echo:
                    self.write_raw(line.encode("ascii", "replace") + b"\r")
                if line:
                    self._command(line)
            elif byte not in (0x0A, 0x1B):
                self._buffer.append(byte)

    def _pdu_byte(self, byte: int) -> None:
        if byte == 0x1B:
            self._pdu_length = None
            self._buffer.clear()
            self._answer([], "OK")
        elif byte == 0x1A:
            length, self._pdu_length = self._pdu_length or 0, None
            pdu = self._buffer.decode("ascii", "replace")
            self._buffer.clear()
            if self.echo:
                self.write_raw(pdu.encode("ascii") + b"\r")
            self._submitted(length, pdu)
        else:
            self._buffer.append(byte)

    def _answer(self, lines: list[str], final: str | None) -> None:
        if self.behaviour.answer_delay:
            time.sleep(self.behaviour.answer_delay)
        if self.behaviour.urc_before_answer:
            self.inject(self.behaviour.urc_before_answer)
        out = b"".join(b"\r\n" + line.encode("latin-1") + b"\r\n" for line in lines)
        if final is not None:
            out += b"\r\n" + final.encode("ascii") + b"\r\n"
        self.write_raw(out)

    def _command(self, line: str) -> None:
        self.commands.append(line if not line.upper().startswith("AT+CPIN=") else "AT+CPIN=*")
        upper = line.upper()
        for prefix, handler in self._handlers():
            if upper.startswith(prefix):
                handler(line[len(prefix) :])
                return
        self._answer([], "ERROR")

    def _handlers(self) -> list[tuple[str, _Handler]]:
        ok: _Handler = lambda _arg: self._answer([], "OK")  # noqa: E731
        cops = f'+COPS: 0,0,"{self.behaviour.operator}",7'
        return [
            ("ATE0", lambda _a: self._set_echo(False)),
            ("ATE1", lambda _a: self._set_echo(True)),
            ("ATZ", lambda _a: self._set_echo(self.behaviour.echo)),
            ("AT+CMEE=", ok),
            ("AT+CGMI", lambda _a: self._answer(["Quectel"], "OK")),
            ("AT+CGMM", lambda _a: self._answer(["EC25"], "OK")),
            ("AT+CGMR", lambda _a: self._answer(["EC25AFAR05A07M4G"], "OK")),
            ("AT+CPIN?", self._cpin_query),
            ("AT+CPIN=", self._cpin_set),
            ("AT+CFUN?", lambda _a: self._answer([f"+CFUN: {self.cfun}"], "OK")),
            ("AT+CFUN=", self._cfun_set),
            ("AT+CREG?", lambda _a: self._registration("CREG", self.behaviour.lte_only)),
            ("AT+CGREG?", lambda _a: self._registration("CGREG", self.behaviour.lte_only)),
            ("AT+CEREG?", lambda _a: self._registration("CEREG", False)),
            ("AT+CSQ", lambda _a: self._answer([f"+CSQ: {self.behaviour.csq},99"], "OK")),
            ("AT+COPS?", lambda _a: self._answer([cops], "OK")),
            ("AT+CSCA?", lambda _a: self._answer([f'+CSCA: "{self.behaviour.smsc}",145'], "OK")),
            ("AT+CMGF=0", ok),
            ("AT+CNMI=", self._cnmi),
            ("AT+CPMS?", self._cpms_query),
            ("AT+CPMS=", self._cpms_set),
            ("AT+CMGL=", self._list),
            ("AT+CMGR=", self._read),
            ("AT+CMGD=", self._delete),
            ("AT+CMGS=", self._cmgs),
            ("AT", ok),
        ]  # fmt: skip

    def _set_echo(self, on: bool) -> None:
        self.echo = on
        self._answer([], "OK")

    def _sim_error(self) -> str | None:
        if self.behaviour.sim == "absent":
            return "+CME ERROR: 10"
        return None

    def _cpin_query(self, _arg: str) -> None:
        error = self._sim_error()
        if error:
            self._answer([], error)
        elif self.behaviour.sim == "puk":
            self._answer(["+CPIN: SIM PUK"], "OK")
        else:
            self._answer([f"+CPIN: {'READY' if self.pin_ok else 'SIM PIN'}"], "OK")

    def _cpin_set(self, arg: str) -> None:
        self.pin_attempts += 1
        if arg.strip('"') == self.behaviour.pin:
            self.pin_ok = True
            self._answer([], "OK")
        else:
            self._answer([], "+CME ERROR: 16")

    def _cfun_set(self, arg: str) -> None:
        self.cfun = int(arg.split(",", maxsplit=1)[0])
        self._answer([], "OK")

    def _registration(self, name: str, zero: bool) -> None:
        stat = 0 if zero or not self.pin_ok or self.cfun != 1 else self.behaviour.registration
        self._answer([f"+{name}: 0,{stat}"], "OK")

    def _memory(self) -> dict[int, str]:
        return self.report_storage if self.mem1 == "SR" else self.storage

    def _cnmi(self, arg: str) -> None:
        values = [int(v) for v in arg.split(",") if v.strip().isdigit()]
        ds = values[3] if len(values) > 3 else 0
        if ds not in self.behaviour.cnmi_ds:
            self._answer([], "+CMS ERROR: 303")
            return
        self.ds = ds
        self._answer([], "OK")

    def _cpms_query(self, _arg: str) -> None:
        used = len(self._memory())
        self._answer([f'+CPMS: "{self.mem1}",{used},50,"SM",{len(self.storage)},50'], "OK")

    def _cpms_set(self, arg: str) -> None:
        memory = arg.split(",", maxsplit=1)[0].strip().strip('"')
        if memory not in ("SM", "SR", "ME"):
            self._answer([], "+CMS ERROR: 302")
            return
        self.mem1 = "SM" if memory == "ME" else memory
        self._answer([f"+CPMS: {len(self._memory())},50,{len(self.storage)},50"], "OK")

    def _list(self, _arg: str) -> None:
        lines: list[str] = []
        for index, pdu in sorted(self._memory().items()):
            lines += [f"+CMGL: {index},0,,{len(pdu) // 2 - 1}", pdu]
        self._answer(lines, "OK")

    def _read(self, arg: str) -> None:
        pdu = self._memory().get(int(arg))
        lines = [f"+CMGR: 0,,{len(pdu) // 2 - 1}", pdu] if pdu else []
        self._answer(lines, "OK")

    def _delete(self, arg: str) -> None:
        self._memory().pop(int(arg), None)
        self._answer([], "OK")

    def _cmgs(self, arg: str) -> None:
        if not self.pin_ok:
            self._answer([], "+CMS ERROR: 311")
            return
        if self.behaviour.registration not in (1, 5):
            self._answer([], "+CMS ERROR: 331")
            return
        self._pdu_length = int(arg)
        if self.behaviour.answer_delay:
            time.sleep(self.behaviour.answer_delay)
        self.write_raw(b"\r\n" + self.behaviour.prompt)

    def _submitted(self, length: int, pdu: str) -> None:
        smsc_octets = int(pdu[:2], 16) + 1 if pdu[:2] else 1
        if len(pdu) // 2 - smsc_octets != length:
            self._answer([], "+CMS ERROR: 304")
            return
        outcome: Outcome = self.behaviour.outcomes.pop(0) if self.behaviour.outcomes else "ok"
        if self.behaviour.submit_delay:
            time.sleep(self.behaviour.submit_delay)
        if outcome == "silence":
            self.received.append(Submitted(length, pdu))
        elif outcome == "ERROR":
            self._answer([], "ERROR")
        elif isinstance(outcome, int):
            self._answer([], f"+CMS ERROR: {outcome}")
        else:
            self.received.append(Submitted(length, pdu))
            reports = self._reports_of(self._mr, pdu)
            self.reports.extend(reports)
            if self.behaviour.hold_reports:  # held before the answer: once the sender
                self.held_reports.extend(reports)  # has it, release_reports() sees them
                reports = []
            self._answer([f"+CMGS: {self._mr}"], "OK")
            for report in reports:  # the network's report comes after the answer
                self._hand_report(report)
            self._mr = (self._mr + 1) % 256

    def _reports_of(self, reference: int, submit: str) -> list[str]:
        """The status reports the network sends for a submitted PDU (none unless it
        asked for one: TP-SRR)."""
        wants, recipient = _submit_report_request(submit)
        if not wants:
            return []
        behaviour = self.behaviour
        written = behaviour.report_recipient or recipient
        return [
            status_report_pdu(reference, written, status)
            for status in behaviour.report_statuses.get(recipient, [0x00])
            for _ in range(behaviour.report_copies)
        ]


# --- an independent SMS-DELIVER / STATUS-REPORT builder (TS 23.040) ---------------------


def _bcd(number: str) -> str:
    digits = number.lstrip("+")
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def _address(number: str) -> str:
    digits = number.lstrip("+")
    toa = "91" if number.startswith("+") else "81"
    return f"{len(digits):02X}{toa}{_bcd(number)}"


_SCTS = "62113241000000"  # 2026-11-23 14:00:00 +00:00 as swapped semi-octets


def deliver_pdu(sender: str, text: str, concat: tuple[int, int, int] | None = None) -> str:
    """SMS-DELIVER hex (with SMSC field), UCS-2, optional 8-bit concatenation header."""
    header = ""
    if concat is not None:
        reference, total, seq = concat
        header = f"050003{reference:02X}{total:02X}{seq:02X}"
    body = header + text.encode("utf-16-be").hex().upper()
    first = "44" if concat else "04"
    smsc = "07917150969703F0"
    return f"{smsc}{first}{_address(sender)}0008{_SCTS}{len(body) // 2:02X}{body}"


def status_report_pdu(reference: int, recipient: str, status: int) -> str:
    """SMS-STATUS-REPORT hex (empty SMSC field, TP-MMS set), SCTS = DT = `_SCTS`."""
    return f"0006{reference:02X}{_address(recipient)}{_SCTS}{_SCTS}{status:02X}"


def _submit_report_request(pdu: str) -> tuple[bool, str]:
    """(TP-SRR set, recipient as E.164 or digits) of an SMS-SUBMIT hex."""
    data = bytes.fromhex(pdu)
    pos = data[0] + 1  # the SMSC field
    first = data[pos]
    digits, toa = data[pos + 2], data[pos + 3]
    raw = data[pos + 4 : pos + 4 + (digits + 1) // 2].hex().upper()
    swapped = "".join(raw[i + 1] + raw[i] for i in range(0, len(raw), 2)).rstrip("F")
    return bool(first & 0x20), ("+" if toa == 0x91 else "") + swapped
