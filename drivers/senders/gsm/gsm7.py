"""The GSM 03.38 7-bit alphabet (TS 23.038 §6.2.1) and septet packing. Pure.

`septets_for(char)` gives the codes of one character (one code, or `ESC` + code for
the extension table), `None` when the character is outside both tables. Packing lays
septets into octets least-significant bit first, optionally after `fill_bits` zero
bits (the fill that aligns text after a user data header on a septet boundary).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ESC = 0x1B

DEFAULT_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ENCODE: dict[str, tuple[int, ...]] = {
    char: (code,) for code, char in enumerate(DEFAULT_TABLE) if code != ESC
}
_ENCODE.update({char: (ESC, code) for code, char in EXTENSION_TABLE.items()})

assert len(DEFAULT_TABLE) == 128


def septets_for(char: str) -> tuple[int, ...] | None:
    """The septet codes of one character, or None when GSM-7 cannot carry it."""
    return _ENCODE.get(char)


def is_gsm7(text: str) -> bool:
    """True when every character is in the default or the extension table."""
    return all(char in _ENCODE for char in text)


def encode(text: str) -> list[int]:
    """The septets of `text`. Raises ValueError naming the first character outside."""
    out: list[int] = []
    for char in text:
        codes = _ENCODE.get(char)
        if codes is None:
            raise ValueError(f"character U+{ord(char):04X} is not in the GSM 7-bit alphabet")
        out.extend(codes)
    return out


def decode(septets: Iterable[int]) -> str:
    """Text from septet codes. An escape before an unknown code reads as the default
    character (TS 23.038 §6.2.1.1); a trailing lone escape is dropped."""
    out: list[str] = []
    escaped = False
    for raw in septets:
        code = raw & 0x7F
        if escaped:
            out.append(EXTENSION_TABLE.get(code, DEFAULT_TABLE[code] if code != ESC else " "))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            out.append(DEFAULT_TABLE[code])
    return "".join(out)


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first after `fill_bits` zero bits; unused high bits are 0."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for code in septets:
        acc |= (code & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits > 0:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """The `count` septets packed in `data` after `fill_bits` bits.

    Raises ValueError when `data` is too short for `count` septets."""
    needed_bits = fill_bits + 7 * count
    if len(data) * 8 < needed_bits:
        raise ValueError(f"user data holds fewer than {count} septets")
    value = int.from_bytes(data, "little")
    return [(value >> (fill_bits + 7 * k)) & 0x7F for k in range(count)]
