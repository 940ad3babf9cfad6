"""The AT channel: one command in flight, each line sorted where it belongs.

    SerialPort ──bytes──► LineFramer ──Line/Prompt──► AtChannel ──► Response | on_urc(Urc)

A line is, in this order: the second line of a two-line URC (`+CMT:`/`+CDS:` + PDU);
a final result (`OK`, `ERROR`, `+CMS ERROR:`, `+CME ERROR:`, `COMMAND NOT SUPPORT`);
a line starting with the pending command's own prefix (`+CPIN:` while `AT+CPIN?` runs)
which belongs to the answer; a URC by prefix (RING, +CMTI, ^RSSI, +QIND…) wherever it
arrives; the echo of the pending command; else part of the answer, or unexpected when
nothing is pending. Garbled and unexpected lines are counted, logged, and dropped.

Errors (all `AtError`, a `DriverError`): `AtTimeout(phase)` with phase "answer",
"prompt" or "submit" (after Ctrl-Z: the outcome is unknown), `PortLost`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from agent.errors import DriverError
from agent.model import Counters
from drivers.senders.gsm.framing import Line, LineFramer, Prompt
from drivers.senders.gsm.port import PortError, SerialPort

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"

URC_PREFIXES = (
    "RING", "+CRING:", "+CLIP:", "+CMTI:", "+CDSI:", "+CDS:", "+CMT:", "+CBM:",
    "+CREG:", "+CGREG:", "+CEREG:", "+CPIN:", "RDY", "+QIND:", "+QUSIM:", "SMS DONE",
    "PB DONE", "^", "+ZDONR:", "+ZPASR:", "+CUSD:", "+CIEV:", "+CGEV:", "+CTZV:",
    "+CTZE:", "*PSUTTZ", "+STIN:", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE",
    "+CFUN:", "+QSIMSTAT:", "+SIMCARD:", "POWERED DOWN", "NORMAL POWER DOWN",
)  # fmt: skip
TWO_LINE_URCS = ("+CMT:", "+CDS:")
_FINAL_CODE = re.compile(r"^\+(CMS|CME) ERROR:\s*(.*)$")
_OWN_PREFIX = re.compile(r"^AT([+^$#*][A-Z0-9]+)", re.IGNORECASE)

FinalKind = Literal["OK", "ERROR", "CMS", "CME"]


class AtError(DriverError):
    """The AT conversation failed (not a modem error result: those are Responses)."""


class AtTimeout(AtError):
    def __init__(self, phase: Literal["answer", "prompt", "submit"], command: str) -> None:
        super().__init__(f"no {phase} from the modem to {command} in time")
        self.phase = phase


class PortLost(AtError):
    """The port closed (modem unplugged, reset, or its tty vanished)."""


@dataclass(frozen=True, slots=True)
class Final:
    kind: FinalKind
    code: int | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    lines: tuple[str, ...]
    final: Final

    @property
    def ok(self) -> bool:
        return self.final.kind == "OK"

    def value(self, prefix: str) -> str | None:
        """The text after `prefix` on the first line that has it, stripped."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None


@dataclass(frozen=True, slots=True)
class Urc:
    line: str
    pdu: str | None = None


def parse_final(text: str) -> Final | None:
    """The final result code a line is, or None."""
    if text == "OK":
        return Final("OK")
    if text in ("ERROR", "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS"):
        return Final("ERROR", None, text)
    match = _FINAL_CODE.match(text)
    if match:
        kind: FinalKind = "CMS" if match.group(1) == "CMS" else "CME"
        detail = match.group(2).strip()
        return Final(kind, int(detail) if detail.isdigit() else None, detail)
    return None


@dataclass(slots=True)
class _Pending:
    echo: str
    prefix: str | None
    done: asyncio.Future[Final]
    prompt: asyncio.Future[None] | None = None
    lines: list[str] = field(default_factory=list)


def _prefix_of(command: str) -> str | None:
    match = _OWN_PREFIX.match(command)
    return match.group(1).upper() + ":" if match else None


def is_urc(text: str) -> bool:
    return text.startswith(URC_PREFIXES)


class AtChannel:
    """Owns an open `SerialPort`; `command()`/`submit()` are serialised by a lock.

    `on_urc` is called synchronously from the reader for every unsolicited line; it
    must not block (queue follow-up commands, never send them from there).
    """

    def __init__(self, on_urc: Callable[[Urc], None], counters: Counters) -> None:
        self._on_urc = on_urc
        self._counters = counters
        self._framer = LineFramer()
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._two_line: str | None = None
        self._draining = False
        self._port: SerialPort | None = None
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.last_rx = 0.0

    def attach(self, port_factory: Callable[..., SerialPort]) -> None:
        """Open the port through `port_factory(on_data=..., on_lost=...)`."""
        self._port = port_factory(on_data=self._on_data, on_lost=self._on_lost)

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
        self._fail_pending(PortLost("port closed"))

    @property
    def is_open(self) -> bool:
        return self._port is not None and not self._port.closed

    # --- commands ---------------------------------------------------------------------

    async def command(self, command: str, wait: float, secret: bool = False) -> Response:
        """Send `command` and wait for its final result. Raises AtTimeout, PortLost."""
        async with self._lock:
            label = "AT+CPIN=<hidden>" if secret else command
            pending = self._start(command)
            await self._write(command.encode("ascii") + b"\r", label)
            return await self._finish(pending, wait, "answer", label)

    async def submit(
        self, length: int, pdu_hex: str, prompt_timeout: float, submit_timeout: float
    ) -> Response:
        """`AT+CMGS=<length>`, the PDU after the prompt, Ctrl-Z, then the result.

        An error instead of the prompt is returned without sending the PDU. A timeout
        waiting for the prompt sends ESC; after Ctrl-Z it raises AtTimeout("submit")."""
        command = f"AT+CMGS={length}"
        async with self._lock:
            pending = self._start(command)
            pending.prompt = asyncio.get_running_loop().create_future()
            await self._write(command.encode("ascii") + b"\r", command)
            waiter = asyncio.wait(
                (pending.prompt, pending.done), timeout=prompt_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )  # fmt: skip
            await waiter
            if pending.done.done():
                return self._response(pending)
            if not pending.prompt.done():
                self._pending = None
                await self._write(ESC, "ESC")
                raise AtTimeout("prompt", command)
            pending.echo = pdu_hex
            await self._write(pdu_hex.encode("ascii") + CTRL_Z, "PDU")
            return await self._finish(pending, submit_timeout, "submit", command)

    async def escape(self, quiet: float, limit: float) -> None:
        """ESC (closes a prompt left open), then discard input until `quiet` s of
        silence or `limit` s."""
        async with self._lock:
            await self._write(ESC, "ESC")
            await self._drain(quiet, limit)

    async def _drain(self, quiet: float, limit: float) -> None:
        loop = asyncio.get_running_loop()
        self._draining = True
        start = loop.time()
        try:
            while loop.time() - max(self.last_rx, start) < quiet:
                if loop.time() - start > limit or self.lost.is_set():
                    break
                await asyncio.sleep(quiet / 4)
        finally:
            self._draining = False

    def _start(self, command: str) -> _Pending:
        if not self.is_open:
            raise PortLost(self.lost_reason or "port not open")
        loop = asyncio.get_running_loop()
        self._pending = _Pending(command.upper(), _prefix_of(command), loop.create_future())
        return self._pending

    async def _write(self, data: bytes, label: str) -> None:
        if self._port is None:
            raise PortLost("port not open")
        log.debug("gsm >> %s", label)
        try:
            await self._port.write(data, stuck_after=5.0)
        except PortError as err:
            self._pending = None
            raise PortLost(str(err)) from err

    async def _finish(self, pending: _Pending, wait: float, phase: str, label: str) -> Response:
        try:
            async with asyncio.timeout(wait):
                await pending.done
        except TimeoutError:
            self._counters.inc("command_timeout" if phase != "submit" else "submit_timeout")
            raise AtTimeout("submit" if phase == "submit" else "answer", label) from None
        finally:
            if self._pending is pending:
                self._pending = None
        return self._response(pending)

    def _response(self, pending: _Pending) -> Response:
        if self._pending is pending:
            self._pending = None
        final = pending.done.result()
        if final.kind != "OK":
            log.debug("gsm << %s %s", final.kind, final.text)
        return Response(tuple(pending.lines), final)

    # --- reading ----------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self.last_rx = asyncio.get_running_loop().time()
        for event in self._framer.feed(data):
            if isinstance(event, Prompt):
                self._on_prompt()
            else:
                self._on_line(event)

    def _on_prompt(self) -> None:
        pending = self._pending
        if pending is not None and pending.prompt is not None and not pending.prompt.done():
            pending.prompt.set_result(None)
        elif not self._draining:
            self._counters.inc("unexpected_prompt")
            log.warning("gsm: unexpected '>' prompt from the modem, ignored")

    def _on_line(self, line: Line) -> None:
        pending = self._pending
        if self._draining:
            return
        if line.garbled:
            self._counters.inc("garbled_line")
            log.warning("gsm: garbled line from the modem dropped: %r", line.text[:60])
            return
        if self._two_line is not None:
            header, self._two_line = self._two_line, None
            self._emit(Urc(header, line.text))
            return
        self._sort(line.text, pending)

    def _sort(self, text: str, pending: _Pending | None) -> None:
        final = parse_final(text)
        if pending is not None and final is not None:
            if not pending.done.done():
                pending.done.set_result(final)
            return
        if pending is not None and pending.prefix and text.upper().startswith(pending.prefix):
            pending.lines.append(text)
        elif is_urc(text):
            if text.startswith(TWO_LINE_URCS):
                self._two_line = text
            else:
                self._emit(Urc(text))
        elif pending is not None and text.upper() == pending.echo:
            return
        elif pending is not None:
            pending.lines.append(text)
        elif not text.upper().startswith("AT"):
            self._counters.inc("unexpected_line")
            log.warning("gsm: unexpected line from the modem ignored: %r", text[:60])

    def _emit(self, urc: Urc) -> None:
        self._counters.inc("urc")
        try:
            self._on_urc(urc)
        except Exception:  # a URC handler bug must not kill the reader
            self._counters.inc("urc_handler_error")
            log.exception("gsm: URC handler failed on %r", urc.line[:40])

    def _on_lost(self, reason: str) -> None:
        self.lost_reason = reason
        self._counters.inc("port_lost")
        log.warning("gsm: serial port lost: %s", reason)
        self._fail_pending(PortLost(reason))
        self.lost.set()

    def _fail_pending(self, err: AtError) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        for future in (pending.done, pending.prompt):
            if future is not None and not future.done():
                future.set_exception(err)
                future.exception()  # mark retrieved: the waiter may already be gone
