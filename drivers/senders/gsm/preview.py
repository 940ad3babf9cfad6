"""`ringback sms-preview`: what a text costs and, optionally, the exact PDUs.

The PDUs are built with the modem sender's default settings (the shared vectors'):
no SMSC in the PDU, TP-MR 0, no validity period, no status report, 8-bit reference.
"""

from __future__ import annotations

from drivers.senders.gsm.pdu import encode_submit, split

PREVIEW_NUMBER = "+15145550100"  # used when --to is not given
PREVIEW_REFERENCE = 0


def preview(text: str, to: str | None, with_pdu: bool) -> dict[str, object]:
    """{"encoding", "segments", "pdus": [{"tpdu_length", "hex"}]} (pdus empty unless
    `with_pdu`). Raises ValueError for an invalid `to`."""
    segments = split(text)
    pdus: list[dict[str, object]] = []
    if with_pdu:
        for pdu in encode_submit(to or PREVIEW_NUMBER, text, PREVIEW_REFERENCE):
            pdus.append({"tpdu_length": pdu.tpdu_length, "hex": pdu.hex})
    return {"encoding": segments.encoding, "segments": len(segments.parts), "pdus": pdus}
