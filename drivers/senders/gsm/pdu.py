"""SMS-SUBMIT encoding (TS 23.040 §9.2.2.2) with segmentation. Pure: no I/O.

    text ──split()──► Segment(s) ──encode_submit()──► SubmitPdu(hex, tpdu_length)

The encoding is GSM 7-bit when every character is in the default or the extension
table, otherwise UCS-2 (UTF-16BE, surrogate pairs for characters above U+FFFF) for the
whole message; nothing is transliterated. Long texts are split greedily into parts that
carry a concatenation header; a part never ends inside an escape pair or a surrogate
pair. Decoding of what the modem receives lives in `pdu_decode`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from drivers.senders.gsm import gsm7

Encoding = Literal["gsm7", "ucs2"]

# (single part, per part with an 8-bit reference, per part with a 16-bit reference)
_LIMITS: dict[Encoding, tuple[int, int, int]] = {
    "gsm7": (160, 153, 152),
    "ucs2": (70, 67, 66),
}
MAX_PARTS = 255

_FO_SUBMIT = 0x01
_FO_VPF_RELATIVE = 0x10
_FO_SRR = 0x20
_FO_UDHI = 0x40
_DCS: dict[Encoding, int] = {"gsm7": 0x00, "ucs2": 0x08}
_NUMBER_RE = re.compile(r"^\+?[0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """The per-modem settings of every PDU. The defaults are the shared vectors'."""

    smsc: str | None = None
    status_report: bool = False
    validity: int | None = None  # relative TP-VP octet (0-255), None = absent
    reference_bits: Literal[8, 16] = 8


@dataclass(frozen=True, slots=True)
class SubmitPdu:
    """One part ready for `AT+CMGS=<tpdu_length>` then `<hex><Ctrl-Z>`."""

    hex: str
    tpdu_length: int
    part_text: str


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    parts: tuple[str, ...]


def encoding_for(text: str) -> Encoding:
    return "gsm7" if gsm7.is_gsm7(text) else "ucs2"


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "gsm7":
        codes = gsm7.septets_for(char)
        return len(codes) if codes is not None else 0
    return 2 if ord(char) > 0xFFFF else 1


def split(text: str, reference_bits: Literal[8, 16] = 8) -> Segments:
    """The encoding and the text of each part, filled greedily, pairs kept whole."""
    encoding = encoding_for(text)
    single, per8, per16 = _LIMITS[encoding]
    sizes = [_units(char, encoding) for char in text]
    if sum(sizes) <= single:
        return Segments(encoding, (text,))
    limit = per8 if reference_bits == 8 else per16
    parts: list[str] = []
    start = used = 0
    for index, size in enumerate(sizes):
        if used + size > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += size
    parts.append(text[start:])
    return Segments(encoding, tuple(parts))


def text_cost(text: str) -> tuple[str, int]:
    """(encoding, segments) of a text as the modem sender would send it: the price of a
    template. Cheap: no PDU is built."""
    segments = split(text)
    return segments.encoding, len(segments.parts)


def encode_address(number: str) -> bytes:
    """TP-DA: digit count, type (0x91 with a leading '+', else 0x81), swapped BCD.

    Raises ValueError for anything but an optional '+' and 1-20 digits."""
    if not _NUMBER_RE.match(number):
        raise ValueError("destination is not a phone number (digits with an optional '+')")
    digits = number.lstrip("+")
    toa = 0x91 if number.startswith("+") else 0x81
    return bytes([len(digits), toa]) + _swapped_bcd(digits)


def encode_smsc(number: str | None) -> bytes:
    """The SMSC field: `00` (use the modem's) or length in octets, type, swapped BCD."""
    if not number:
        return b"\x00"
    address = encode_address(number)
    return bytes([len(address) - 1]) + address[1:]


def _swapped_bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def relative_validity(minutes: int) -> int:
    """The smallest relative TP-VP (TS 23.040 §9.2.3.12.1) lasting at least `minutes`."""
    for octet in range(256):
        if validity_minutes(octet) >= minutes:
            return octet
    return 255


def validity_minutes(octet: int) -> int:
    """How long a relative TP-VP octet lasts, in minutes."""
    if octet <= 143:
        return (octet + 1) * 5
    if octet <= 167:
        return 12 * 60 + (octet - 143) * 30
    if octet <= 196:
        return (octet - 166) * 24 * 60
    return (octet - 192) * 7 * 24 * 60


def concat_header(reference: int, total: int, seq: int, bits: Literal[8, 16]) -> bytes:
    """UDHL + the concatenation element (IEI 0x00, or 0x08 for a 16-bit reference)."""
    if bits == 8:
        return bytes([5, 0x00, 3, reference & 0xFF, total, seq])
    return bytes([6, 0x08, 4, (reference >> 8) & 0xFF, reference & 0xFF, total, seq])


def _user_data(part: str, encoding: Encoding, header: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) of one part with an optional header."""
    if encoding == "ucs2":
        body = part.encode("utf-16-be")
        return len(header) + len(body), header + body
    septets = gsm7.encode(part)
    header_septets = (len(header) * 8 + 6) // 7
    fill = header_septets * 7 - len(header) * 8
    return header_septets + len(septets), header + gsm7.pack(septets, fill)


def _tpdu(to: bytes, encoding: Encoding, header: bytes, part: str, opts: SubmitOptions) -> bytes:
    first = _FO_SUBMIT
    first |= _FO_UDHI if header else 0
    first |= _FO_SRR if opts.status_report else 0
    first |= _FO_VPF_RELATIVE if opts.validity is not None else 0
    udl, ud = _user_data(part, encoding, header)
    vp = bytes([opts.validity]) if opts.validity is not None else b""
    return bytes([first, 0x00]) + to + bytes([0x00, _DCS[encoding]]) + vp + bytes([udl]) + ud


def encode_submit(
    to: str, text: str, reference: int = 0, options: SubmitOptions | None = None
) -> list[SubmitPdu]:
    """Every part of `text` for `to`, in order. `reference` is the concatenation
    reference used when the text needs more than one part.

    Raises ValueError for an invalid number or a text beyond 255 parts."""
    opts = options or SubmitOptions()
    if opts.validity is not None and not 0 <= opts.validity <= 255:
        raise ValueError("validity must be a relative TP-VP octet 0-255")
    address = encode_address(to)
    smsc = encode_smsc(opts.smsc)
    segments = split(text, opts.reference_bits)
    total = len(segments.parts)
    if total > MAX_PARTS:
        raise ValueError(f"text needs {total} parts, more than {MAX_PARTS}")
    pdus: list[SubmitPdu] = []
    for seq, part in enumerate(segments.parts, start=1):
        header = concat_header(reference, total, seq, opts.reference_bits) if total > 1 else b""
        tpdu = _tpdu(address, segments.encoding, header, part, opts)
        pdus.append(SubmitPdu((smsc + tpdu).hex().upper(), len(tpdu), part))
    return pdus
