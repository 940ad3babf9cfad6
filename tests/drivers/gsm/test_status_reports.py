"""SMS-STATUS-REPORT decoding (TS 23.040 §9.2.2.3) and the TP-Status table (§9.2.3.15).

The vectors are written by hand from the spec, field by field, and cross-checked with
the independent decoder of the smspdudecoder library (it has no status-report reader,
but its SMSC, first-octet, address and timestamp decoders read the same fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from smspdudecoder.elements import Date  # type: ignore[import-untyped]
from smspdudecoder.fields import SMSC, Address, PDUHeader  # type: ignore[import-untyped]

from agent.model import Delivery, NumberFact
from drivers.senders.gsm.pdu_decode import PduError, decode_status_report
from drivers.senders.gsm.report_codes import error_code, meaning

VECTORS = [
    # (id, hex, reference, recipient, discharge time UTC, TP-ST)
    (
        # SMSC +17059679300; first octet 06 (MTI 10, MMS); MR 2A; RA +15145550123;
        # SCTS 2026-12-02 01:23:45 -05:00; DT 01:23:50 -05:00; ST 00 received
        "montreal-delivered",
        "07917150969703F0062A0B915141550521F36221201032540A6221201032050A00",
        42,
        "+15145550123",
        datetime(2026, 12, 2, 6, 23, 50, tzinfo=UTC),
        0x00,
    ),
    (
        # no SMSC; the SMSC wrote the recipient nationally (type 81); ST 41
        "national-incompatible",
        "0006070A811554551032621132410000006211324100000041",
        7,
        "5145550123",
        datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC),
        0x41,
    ),
    (
        # French mobile, zone +01:00 (4 quarters: "40"), MR FF, ST 62; then TP-PI 00
        "paris-no-response-with-pi",
        "0002FF0B913316325476F862113241000040621132510000406200",
        255,
        "+33612345678",
        datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC),
        0x62,
    ),
    (
        # still trying (ST 21, SME busy), TP-PI with PID/DCS/UDL present and empty UD
        "still-trying-with-parameters",
        "0006100B915141550521F362113241000000621132410000002107000000",
        16,
        "+15145550123",
        datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC),
        0x21,
    ),
]


@pytest.mark.parametrize(
    ("name", "pdu", "reference", "recipient", "discharged", "status"),
    VECTORS,
    ids=[v[0] for v in VECTORS],
)
def test_status_report_vectors(
    name: str, pdu: str, reference: int, recipient: str, discharged: datetime, status: int
) -> None:
    """TP-MR, the recipient (international or national), the discharge time in UTC and
    TP-ST are read from each vector; trailing optional parameters are ignored."""
    report = decode_status_report(pdu)
    assert (report.reference, report.recipient, report.delivered_at, report.status) == (
        reference,
        recipient,
        discharged,
        status,
    )


@pytest.mark.parametrize(("name", "pdu", "reference", "recipient", "discharged", "status"), VECTORS)
def test_vectors_agree_with_smspdudecoder(
    name: str, pdu: str, reference: int, recipient: str, discharged: datetime, status: int
) -> None:
    """The same fields read by smspdudecoder's decoders give the same values: the
    vectors are not only self-consistent."""
    stream = StringIO(pdu)
    SMSC.decode(stream)
    assert PDUHeader.decode(stream)["mti"] == "status-report"
    assert int(stream.read(2), 16) == reference
    address = Address.decode(stream)
    plus = "+" if address["toa"]["ton"] == "international" else ""
    assert plus + address["number"] == recipient
    Date.decode(stream.read(14))  # TP-SCTS
    assert Date.decode(stream.read(14)) == discharged
    assert int(stream.read(2), 16) == status


def test_status_report_built_by_the_simulated_modem_decodes() -> None:
    """The fake modem's reports (tests/peers/modem.py, its own encoder) read back."""
    from tests.peers.modem import status_report_pdu

    report = decode_status_report(status_report_pdu(200, "+14185550142", 0x46))
    assert (report.reference, report.recipient, report.status) == (200, "+14185550142", 0x46)


GARBLED = [
    ("", "truncated"),
    ("zz06", "not hexadecimal"),
    ("0006", "truncated"),
    ("00062A0B915141550521", "truncated"),  # the address cut short
    ("00062A0B915141550521F362212010325400", "truncated"),  # no DT, no ST
    ("00062A0B915141550521F36221201032540A6221201032050A", "truncated"),  # no ST
    ("00040B915141550521F300006211324100000000", "not an SMS-STATUS-REPORT"),
    ("0001000B915141550521F3000000", "not an SMS-STATUS-REPORT"),  # a SUBMIT
]


@pytest.mark.parametrize(("pdu", "problem"), GARBLED)
def test_garbled_status_reports_raise_pdu_error(pdu: str, problem: str) -> None:
    """A PDU that is not a whole status report raises PduError saying what is wrong
    (the caller counts and logs it), never IndexError or a wrong report."""
    with pytest.raises(PduError, match=problem):
        decode_status_report(pdu)


MEANINGS = [
    # (TP-ST, state, fact)
    (0x00, Delivery.DELIVERED, None),
    (0x01, Delivery.DELIVERED, None),  # forwarded, unconfirmed
    (0x02, Delivery.DELIVERED, None),  # replaced by the SC
    (0x1F, Delivery.DELIVERED, None),  # SC specific
    (0x20, Delivery.SENT, None),
    (0x22, Delivery.SENT, None),
    (0x3F, Delivery.SENT, None),
    (0x40, Delivery.FAILED, None),
    (0x41, Delivery.FAILED, NumberFact.SMS_INCAPABLE),  # incompatible destination
    (0x42, Delivery.FAILED, None),
    (0x43, Delivery.FAILED, NumberFact.SMS_INCAPABLE),  # not obtainable
    (0x45, Delivery.FAILED, NumberFact.SMS_INCAPABLE),  # no interworking
    (0x46, Delivery.FAILED, NumberFact.UNREACHABLE),  # validity period expired
    (0x49, Delivery.FAILED, None),
    (0x5F, Delivery.FAILED, None),
    (0x60, Delivery.UNDELIVERED, None),
    (0x62, Delivery.UNDELIVERED, NumberFact.UNREACHABLE),  # no response from SME
    (0x63, Delivery.UNDELIVERED, NumberFact.UNREACHABLE),  # service rejected
    (0x65, Delivery.UNDELIVERED, None),
    (0x7F, Delivery.UNDELIVERED, None),
    (0x80, Delivery.UNDELIVERED, None),  # bit 7 reserved
    (0xFF, Delivery.UNDELIVERED, None),
]


@pytest.mark.parametrize(("status", "state", "fact"), MEANINGS)
def test_tp_status_table(status: int, state: Delivery, fact: NumberFact | None) -> None:
    """Each TP-ST range gives its state (delivered / still trying = sent / permanent
    failure / temporary but given up) and the codes that say something about the
    number give their fact."""
    found = meaning(status)
    assert (found.state, found.fact) == (state, fact)
    assert found.final is (state is not Delivery.SENT)
    assert found.words


def test_every_status_value_has_a_meaning() -> None:
    """All 256 octets map to a state; only failures carry facts; codes are decimal."""
    for status in range(256):
        found = meaning(status)
        if found.fact is not None:
            assert found.state in (Delivery.FAILED, Delivery.UNDELIVERED)
    assert error_code(0x41) == "gsm:st:65"
