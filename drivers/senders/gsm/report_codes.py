"""What a status report's TP-Status says: the text's state and the number's fact. Pure.

Source: 3GPP TS 23.040 §9.2.3.15 (TP-Status), the values of bits 6-0:

    range      meaning (23.040)                                  Delivery      fact
    0x00-0x1F  short message transaction completed               delivered
               00 received by the SME, 01 forwarded to the SME but
               delivery unconfirmed, 02 replaced by the SC,
               03-0F reserved, 10-1F SC specific
    0x20-0x3F  temporary error, SC still trying to transfer      sent
               20 congestion, 21 SME busy, 22 no response from SME,
               23 service rejected, 24 QoS not available, 25 error
               in SME, 26-2F reserved, 30-3F SC specific
    0x40-0x5F  permanent error, SC is not making more attempts   failed
               40 remote procedure error                                       -
               41 incompatible destination                                     sms_incapable
               42 connection rejected by SME                                   -
               43 not obtainable                                               sms_incapable
               44 quality of service not available                             -
               45 no interworking available                                    sms_incapable
               46 SM validity period expired                                   unreachable
               47 SM deleted by originating SME                                -
               48 SM deleted by SC administration                              -
               49 SM does not exist                                            -
               4A-4F reserved, 50-5F SC specific                               -
    0x60-0x7F  temporary error, SC is not making more attempts   undelivered
               60 congestion, 61 SME busy                                      -
               62 no response from SME                                         unreachable
               63 service rejected                                             unreachable
               64 quality of service not available, 65 error in SME            -
               66-6F reserved, 70-7F SC specific                               -
    0x80-0xFF  bit 7 is reserved: not understood                 undelivered   -

"Incompatible destination", "not obtainable" and "no interworking" say the number
cannot take a text (a landline, a network without SMS): like Twilio's 30006 it
becomes the number's `sms_incapable` fact. A phone off for the whole validity period
or not answering is `unreachable` for now. The error code handed over is
`gsm:st:<decimal>` (e.g. `gsm:st:65` for 0x41).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.model import Delivery, NumberFact

_FACTS: dict[int, NumberFact] = {
    0x41: NumberFact.SMS_INCAPABLE,
    0x43: NumberFact.SMS_INCAPABLE,
    0x45: NumberFact.SMS_INCAPABLE,
    0x46: NumberFact.UNREACHABLE,
    0x62: NumberFact.UNREACHABLE,
    0x63: NumberFact.UNREACHABLE,
}

_WORDS: dict[int, str] = {
    0x00: "received by the handset",
    0x01: "forwarded to the handset, delivery not confirmed",
    0x02: "replaced by the SMS centre",
    0x20: "congestion, still trying",
    0x21: "handset busy, still trying",
    0x22: "no response from the handset, still trying",
    0x23: "service rejected, still trying",
    0x24: "quality of service not available, still trying",
    0x25: "error in the handset, still trying",
    0x40: "remote procedure error",
    0x41: "incompatible destination (cannot take texts)",
    0x42: "connection rejected by the handset",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by the sender",
    0x48: "deleted by the SMS centre",
    0x49: "message does not exist",
    0x60: "congestion, gave up",
    0x61: "handset busy, gave up",
    0x62: "no response from the handset, gave up",
    0x63: "service rejected, gave up",
    0x64: "quality of service not available, gave up",
    0x65: "error in the handset, gave up",
}


@dataclass(frozen=True, slots=True)
class StatusMeaning:
    state: Delivery
    fact: NumberFact | None
    words: str

    @property
    def final(self) -> bool:
        return self.state is not Delivery.SENT


def meaning(status: int) -> StatusMeaning:
    """The state, fact and words of a TP-Status octet (0-255)."""
    fact = _FACTS.get(status)
    if status <= 0x1F:
        state = Delivery.DELIVERED
        default = "delivered (SMS centre specific code)"
    elif status <= 0x3F:
        state = Delivery.SENT
        default = "temporary error, still trying"
    elif status <= 0x5F:
        state = Delivery.FAILED
        default = "permanent error"
    elif status <= 0x7F:
        state = Delivery.UNDELIVERED
        default = "temporary error, gave up"
    else:
        state = Delivery.UNDELIVERED
        default = "reserved status value"
    return StatusMeaning(state, fact, _WORDS.get(status, default))


def error_code(status: int) -> str:
    return f"gsm:st:{status}"
