"""Decoding of the PDUs a modem hands over (TS 23.040 §9.2.2): SMS-DELIVER (a text a
caller sent), SMS-STATUS-REPORT (a delivery report) and SMS-SUBMIT (what we sent, for
tests and the simulated modem). Pure: no I/O.

Every PDU starts with the SMSC field, as `AT+CMGR`, `AT+CMGL`, `+CMT` and `+CDS` give
it. Anything malformed raises `PduError` with what was wrong; callers count and log it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from drivers.senders.gsm import gsm7


class PduError(ValueError):
    """The PDU does not decode (truncated, bad hex, unsupported coding)."""


@dataclass(frozen=True, slots=True)
class Concat:
    reference: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class UserData:
    text: str
    concat: Concat | None


@dataclass(frozen=True, slots=True)
class Deliver:
    sender: str
    text: str
    timestamp: datetime | None
    concat: Concat | None
    bad_concat: bool = False  # a concatenation header was present but impossible


@dataclass(frozen=True, slots=True)
class StatusReport:
    reference: int
    recipient: str
    delivered_at: datetime | None
    status: int

    @property
    def outcome(self) -> str:
        """ "delivered", "pending" or "failed" from TP-ST (TS 23.040 §9.2.3.15)."""
        if self.status <= 0x1F:
            return "delivered"
        if self.status <= 0x3F:
            return "pending"
        return "failed"


@dataclass(frozen=True, slots=True)
class Submit:
    recipient: str
    text: str
    reference: int
    status_report: bool
    validity: int | None
    dcs: int
    concat: Concat | None


class _Reader:
    """Octets consumed in order; running past the end is a `PduError`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise PduError(f"PDU truncated at octet {self.pos} (wanted {count} more)")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def octet(self) -> int:
        return self.take(1)[0]

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def _from_hex(pdu_hex: str) -> _Reader:
    try:
        return _Reader(bytes.fromhex(pdu_hex.strip()))
    except ValueError:
        raise PduError("PDU is not hexadecimal") from None


def _bcd(data: bytes) -> str:
    digits = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                continue
            digits.append("0123456789*#abc"[nibble])
    return "".join(digits)


def _address(reader: _Reader) -> str:
    """A TP address (length in digits); alphanumeric senders are GSM-7 packed."""
    digits = reader.octet()
    toa = reader.octet()
    raw = reader.take((digits + 1) // 2)
    if toa & 0x70 == 0x50:
        return gsm7.decode(gsm7.unpack(raw, digits * 4 // 7))
    number = _bcd(raw)
    return "+" + number if toa & 0x70 == 0x10 else number


def _skip_smsc(reader: _Reader) -> None:
    reader.take(reader.octet())


def _timestamp(data: bytes) -> datetime | None:
    """TP-SCTS: swapped BCD date and a quarter-hour zone; None when nonsensical."""
    fields = [(b & 0x0F) * 10 + (b >> 4) for b in data[:6]]
    zone = data[6]
    quarters = (zone & 0x07) * 10 + (zone >> 4)
    offset = timedelta(minutes=15 * quarters) * (-1 if zone & 0x08 else 1)
    try:
        century = 1900 if fields[0] >= 90 else 2000
        year, month, day, hour, minute, second = fields
        local = datetime(century + year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return None
    return local.astimezone(UTC)


def _alphabet(dcs: int) -> str:
    """ "gsm7", "8bit" or "ucs2" from TP-DCS (TS 23.038 §4)."""
    group = dcs >> 4
    if group <= 0x07:
        if dcs & 0x20:
            raise PduError(f"compressed user data (DCS {dcs:02X}) is not supported")
        return ("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 0x03]
    if group in (0x0C, 0x0D):
        return "gsm7"
    if group == 0x0E:
        return "ucs2"
    if group == 0x0F:
        return "8bit" if dcs & 0x04 else "gsm7"
    raise PduError(f"reserved data coding scheme {dcs:02X}")


def _concat(header: bytes) -> Concat | None:
    pos = 0
    while pos + 2 <= len(header):
        iei, length = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + length]
        if iei == 0x00 and length == 3 and len(data) == 3:
            return Concat(data[0], data[1], data[2])
        if iei == 0x08 and length == 4 and len(data) == 4:
            return Concat((data[0] << 8) | data[1], data[2], data[3])
        pos += 2 + length
    return None


def plausible(concat: Concat | None) -> bool:
    """3GPP TS 23.040 9.2.3.24.1: a part number of 0 or beyond the total (or a total of
    0) makes the receiver ignore the whole concatenation element."""
    return concat is None or 1 <= concat.seq <= concat.total


def _user_data(reader: _Reader, dcs: int, udhi: bool) -> UserData:
    alphabet = _alphabet(dcs)
    udl = reader.octet()
    ud = reader.rest()
    header = b""
    if udhi:
        if not ud or ud[0] + 1 > len(ud):
            raise PduError("user data header longer than the user data")
        header = ud[1 : 1 + ud[0]]
    if alphabet == "gsm7":
        header_septets = -(-(len(header) + 1) * 8 // 7) if udhi else 0
        if udl < header_septets:
            raise PduError("user data length shorter than its header")
        text = gsm7.decode(gsm7.unpack(ud, udl)[header_septets:])
        return UserData(text, _concat(header))
    body = ud[len(header) + 1 if udhi else 0 : udl]
    if len(body) + (len(header) + 1 if udhi else 0) != udl:
        raise PduError("user data shorter than its length")
    if alphabet == "ucs2":
        return UserData(body.decode("utf-16-be", errors="replace"), _concat(header))
    return UserData(body.decode("latin-1"), _concat(header))


def _mti(reader: _Reader) -> tuple[int, int]:
    _skip_smsc(reader)
    first = reader.octet()
    return first, first & 0x03


def decode_deliver(pdu_hex: str) -> Deliver:
    """An SMS-DELIVER with its SMSC field. Raises PduError."""
    try:
        reader = _from_hex(pdu_hex)
        first, mti = _mti(reader)
        if mti != 0x00:
            raise PduError(f"not an SMS-DELIVER (TP-MTI {mti})")
        sender = _address(reader)
        reader.octet()  # TP-PID
        dcs = reader.octet()
        stamp = _timestamp(reader.take(7))
        data = _user_data(reader, dcs, bool(first & 0x40))
    except (IndexError, ValueError) as err:
        raise PduError(str(err)) from None
    if not plausible(data.concat):  # read as a text of its own, flagged for a counter
        return Deliver(sender, data.text, stamp, None, bad_concat=True)
    return Deliver(sender, data.text, stamp, data.concat)


def decode_status_report(pdu_hex: str) -> StatusReport:
    """An SMS-STATUS-REPORT with its SMSC field. Raises PduError."""
    try:
        reader = _from_hex(pdu_hex)
        _first, mti = _mti(reader)
        if mti != 0x02:
            raise PduError(f"not an SMS-STATUS-REPORT (TP-MTI {mti})")
        reference = reader.octet()
        recipient = _address(reader)
        reader.take(7)  # TP-SCTS: when the SMSC took the message
        discharged = _timestamp(reader.take(7))
        status = reader.octet()
    except (IndexError, ValueError) as err:
        raise PduError(str(err)) from None
    return StatusReport(reference, recipient, discharged, status)


def decode_submit(pdu_hex: str) -> Submit:
    """An SMS-SUBMIT with its SMSC field (what `encode_submit` writes). Raises PduError."""
    try:
        reader = _from_hex(pdu_hex)
        first, mti = _mti(reader)
        if mti != 0x01:
            raise PduError(f"not an SMS-SUBMIT (TP-MTI {mti})")
        reference = reader.octet()
        recipient = _address(reader)
        reader.octet()  # TP-PID
        dcs = reader.octet()
        vpf = (first >> 3) & 0x03
        validity = reader.octet() if vpf == 0x02 else None
        if vpf in (0x01, 0x03):
            reader.take(7)
        data = _user_data(reader, dcs, bool(first & 0x40))
    except (IndexError, ValueError) as err:
        raise PduError(str(err)) from None
    return Submit(recipient, data.text, reference, bool(first & 0x20), validity, dcs, data.concat)
