"""`ringback sms-preview`: what a text costs and, optionally, the exact PDUs.

The PDUs are built with the modem sender's default settings (the shared vectors'):
no SMSC in the PDU, TP-MR 0, no validity period, no status report, 8-bit reference.
"""

from __future__ import annotations

import unicodedata

from drivers.senders.gsm import gsm7
from drivers.senders.gsm.pdu import encode_submit, split

PREVIEW_NUMBER = "+15145550100"  # used when --to is not given
PREVIEW_REFERENCE = 0


def preview(text: str, to: str | None, with_pdu: bool) -> dict[str, object]:
    """{"encoding", "segments", "characters", "ucs2_characters", "pdus": [{"tpdu_length",
    "hex"}]} (pdus empty unless `with_pdu`; `ucs2_characters`: each character outside
    the GSM alphabet, first place and Unicode name, what forces UCS-2). Raises
    ValueError for an invalid `to`."""
    segments = split(text)
    pdus: list[dict[str, object]] = []
    if with_pdu:
        for pdu in encode_submit(to or PREVIEW_NUMBER, text, PREVIEW_REFERENCE):
            pdus.append({"tpdu_length": pdu.tpdu_length, "hex": pdu.hex})
    return {
        "encoding": segments.encoding,
        "segments": len(segments.parts),
        "characters": len(text),
        "ucs2_characters": _not_gsm7(text),
        "pdus": pdus,
    }


def _not_gsm7(text: str) -> list[dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for place, char in enumerate(text, start=1):
        if char not in found and gsm7.septets_for(char) is None:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            found[char] = {"char": char, "position": place, "name": name}
    return list(found.values())
