"""The serial port: pyserial opens and configures it (exclusive lock, raw mode, baud
rate, RTS/CTS); the event loop reads it without blocking.

Bytes read are handed to `on_data`; a read error, hang-up or a vanished device calls
`on_lost` once and closes the port. Opening raises `PortError` (missing, busy,
permission denied) with the reason in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

import serial

from agent.errors import DriverError


class PortError(DriverError):
    """The serial port cannot be opened or was lost."""


class SerialPort:
    def __init__(
        self,
        path: Path,
        baudrate: int,
        rtscts: bool,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.path = path
        self._on_data = on_data
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()
        try:
            self._serial = serial.Serial(
                str(path), baudrate=baudrate, rtscts=rtscts, timeout=0, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise PortError(_why(path, err)) from err
        self._fd = self._serial.fileno()
        self.closed = False
        self._loop.add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError as err:
            self._lose(f"read failed: {err.strerror}")
            return
        if not data:
            self._lose("device hung up")
            return
        self._on_data(data)

    def _lose(self, reason: str) -> None:
        if not self.closed:
            self.close()
            self._on_lost(reason)

    async def write(self, data: bytes, stuck_after: float) -> None:
        """Write everything or raise PortError (lost port, or stuck for `stuck_after` s)."""
        view = memoryview(data)
        deadline = self._loop.time() + stuck_after
        while view:
            if self.closed:
                raise PortError("port closed")
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                if self._loop.time() > deadline:
                    raise PortError("write stuck: the modem does not read") from None
                await asyncio.sleep(0.01)
            except OSError as err:
                self._lose(f"write failed: {err.strerror}")
                raise PortError(f"write failed: {err.strerror}") from err

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._fd)
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()


def _why(path: Path, err: Exception) -> str:
    code = getattr(err, "errno", None)
    if code == errno.ENOENT or not path.exists():
        return f"{path} does not exist (modem unplugged, or wrong /dev/serial/by-id name)"
    if code == errno.EACCES:
        return f"{path}: permission denied (add the ringback user to the dialout group)"
    if "lock" in str(err).lower() or code in (errno.EBUSY, errno.EAGAIN):
        return f"{path} is busy: another program holds it (ModemManager, a getty?)"
    return f"{path}: {err}"
