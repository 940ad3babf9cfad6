"""The PDU codec against the shared vectors, an independent decoder and itself."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smspdudecoder.fields import SMSSubmit  # type: ignore[import-untyped]

from drivers.senders.gsm import gsm7
from drivers.senders.gsm.pdu import (
    SubmitOptions,
    encode_submit,
    relative_validity,
    split,
    text_cost,
    validity_minutes,
)
from drivers.senders.gsm.pdu_decode import PduError, decode_deliver, decode_submit
from tests.peers.modem import deliver_pdu

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "gsm" / "pdu-vectors.json").read_text("utf-8")
)["vectors"]


def _options(vector: dict[str, Any]) -> tuple[int, SubmitOptions]:
    s = vector["settings"]
    bits: Literal[8, 16] = 16 if s["concat_reference_bits"] == 16 else 8
    validity = (s["validity_period"] or {}).get("tp_vp")
    opts = SubmitOptions(
        status_report=s["status_report_request"], validity=validity, reference_bits=bits
    )
    return s["concat_reference"] or 0, opts


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    """encode_submit reproduces each shared vector: hex, AT+CMGS length, part texts."""
    reference, opts = _options(vector)
    pdus = encode_submit(vector["number"], vector["text"], reference, opts)
    assert [p.hex for p in pdus] == [p["hex"] for p in vector["pdus"]]
    assert [p.tpdu_length for p in pdus] == [p["tpdu_length"] for p in vector["pdus"]]
    assert [p.part_text for p in pdus] == [p["part_text"] for p in vector["pdus"]]
    assert text_cost(vector["text"]) == (vector["encoding"], vector["segments"])


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_decodes_with_our_decoder(vector: dict[str, Any]) -> None:
    """decode_submit reads each vector back: recipient, text, flags, concatenation."""
    reference, opts = _options(vector)
    decoded = [decode_submit(p["hex"]) for p in vector["pdus"]]
    assert "".join(d.text for d in decoded) == vector["text"]
    for seq, d in enumerate(decoded, start=1):
        assert d.recipient == vector["number"]
        assert d.reference == 0
        assert d.status_report is opts.status_report
        assert d.validity == opts.validity
        if len(decoded) > 1:
            assert d.concat is not None
            assert (d.concat.reference, d.concat.total, d.concat.seq) == (
                reference,
                len(decoded),
                seq,
            )


def _independent(pdu_hex: str) -> dict[str, Any]:
    result: dict[str, Any] = SMSSubmit.decode(StringIO(pdu_hex))
    return result


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_decodes_with_smspdudecoder(vector: dict[str, Any]) -> None:
    """smspdudecoder agrees on recipient, DCS and part texts (modulo its known extra '@'
    on GSM-7 parts holding an escape pair, see the fixtures README)."""
    for part in vector["pdus"]:
        sms = _independent(part["hex"])
        assert sms["recipient"]["number"] == vector["number"].lstrip("+")
        text = sms["user_data"]["data"]
        expected = part["part_text"]
        assert text == expected or (text == expected + "@" and "\x1b" in _raw(expected))


def _raw(text: str) -> str:
    return "".join(chr(c) for c in gsm7.encode(text)) if gsm7.is_gsm7(text) else ""


def test_escape_pair_never_split() -> None:
    """A '€' that would take the 153rd septet (ESC alone) moves whole to part 2."""
    text = "a" * 152 + "€" + "b" * 10
    segments = split(text)
    assert segments.parts == ("a" * 152, "€" + "b" * 10)


def test_surrogate_pair_never_split() -> None:
    """An emoji that would straddle UCS-2 unit 67 moves whole to part 2."""
    text = "é" + "x" * 65 + "🚗" + "y" * 10
    assert split(text).parts == ("é" + "x" * 65, "🚗" + "y" * 10)


def test_typographic_apostrophe_forces_ucs2() -> None:
    """One U+2019 turns a 1-segment GSM-7 text into UCS-2 (the technician's trap)."""
    assert text_cost("x" * 100) == ("gsm7", 1)
    assert text_cost("x" * 100 + "’") == ("ucs2", 2)


def test_validity_octets() -> None:
    """Relative TP-VP: 24 h is A7, 4 h is 2F, a week is AD, beyond 63 weeks is FF."""
    assert relative_validity(24 * 60) == 0xA7
    assert relative_validity(4 * 60) == 0x2F
    assert relative_validity(7 * 24 * 60) == 0xAD
    assert validity_minutes(0xFF) == 63 * 7 * 24 * 60
    assert relative_validity(10**9) == 0xFF


def test_smsc_override_is_outside_tpdu_length() -> None:
    """An SMSC written in the PDU does not count in the AT+CMGS length."""
    plain = encode_submit("+14185550142", "hi")[0]
    with_smsc = encode_submit("+14185550142", "hi", options=SubmitOptions(smsc="+15149931123"))[0]
    assert with_smsc.hex.startswith("07915141991321F3")
    assert with_smsc.tpdu_length == plain.tpdu_length
    assert with_smsc.hex[16:] == plain.hex[2:]


@pytest.mark.parametrize("bad", ["", "+", "+1418-555", "abc", "+" + "1" * 21])
def test_invalid_number_is_value_error(bad: str) -> None:
    """Anything but '+' and digits is refused before any PDU is built."""
    with pytest.raises(ValueError):
        encode_submit(bad, "hi")


def test_real_world_deliver() -> None:
    """A classic SMS-DELIVER: national sender, GSM-7 'hellohello', timestamp with zone."""
    d = decode_deliver("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
    assert d.sender == "27838890001"
    assert d.text == "hellohello"
    assert d.timestamp is not None and d.timestamp.year == 1999
    assert d.concat is None


@pytest.mark.parametrize(
    "bad",
    ["", "zz", "00", "0004", "07917283010010F5040BC87238880900F10000993092516195800AE8", "0001"],
)
def test_garbage_deliver_is_pdu_error(bad: str) -> None:
    """Truncated, non-hex or wrong-type PDUs raise PduError, nothing else."""
    with pytest.raises(PduError):
        decode_deliver(bad)


_GSM_CHARS = st.sampled_from(gsm7.DEFAULT_TABLE.replace("\x1b", "") + "^{}\\[~]|€\f")
_ANY_CHARS = st.characters(exclude_categories=["Cs"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(_GSM_CHARS, max_size=500), st.text(_ANY_CHARS, max_size=300)))
def test_round_trip(text: str) -> None:
    """Any text survives encode_submit -> decode_submit, parts joined, same encoding,
    and every part stays within 140 octets of user data."""
    pdus = encode_submit("+15145550100", text, reference=7)
    decoded = [decode_submit(p.hex) for p in pdus]
    assert "".join(d.text for d in decoded) == text
    assert all(len(bytes.fromhex(p.hex)) - 1 == p.tpdu_length for p in pdus)
    assert all(p.tpdu_length <= 140 + 13 for p in pdus)
    assert text_cost(text) == (("gsm7" if gsm7.is_gsm7(text) else "ucs2"), len(pdus))


@pytest.mark.parametrize(("total", "seq"), [(2, 0), (2, 3), (0, 0), (1, 5)])
def test_impossible_concatenation_header_is_ignored(total: int, seq: int) -> None:
    """Pins: a part number of 0 or beyond the total leaves `concat` None and flags
    `bad_concat` (3GPP 23.040 9.2.3.24.1: the element is ignored)."""
    message = decode_deliver(deliver_pdu("+15145550100", "STOP", concat=(7, total, seq)))
    assert (message.concat, message.bad_concat, message.text) == (None, True, "STOP")


@given(st.binary(max_size=200).map(bytes.hex), st.text(alphabet="0123456789ABCDEFabcdef xyz"))
def test_arbitrary_hex_decodes_or_is_pdu_error(pdu: str, noise: str) -> None:
    """Pins: any hex (or near-hex) string is a Deliver with a plausible concatenation,
    or a `PduError`, never another exception."""
    for candidate in (pdu, noise, pdu + noise):
        try:
            message = decode_deliver(candidate)
        except PduError:
            continue
        assert message.concat is None or 1 <= message.concat.seq <= message.concat.total
