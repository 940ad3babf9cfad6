"""What a modem's error means for a text: the one table (reference §7).

    classify(kind, code, attempt) -> Verdict(action, reason, retry_after)

`kind` is "CMS", "CME" or "ERROR" (a bare ERROR or an unnumbered/unknown final result).
Actions:
    retry        try the same text later (`retry_after` seconds is a hint)
    reject       this text cannot go to this number: do not retry
    device       the modem, SIM or plan is at fault: stop sending, keep the queue, alert
    already_sent the network says it already has it (duplicate rejected)
A row with `max_attempts` turns into `reject` once the text's attempt number reaches it
("retry once, then fail"). `reinit` asks the sender to re-run the modem initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["retry", "reject", "device", "already_sent"]
Kind = Literal["CMS", "CME", "ERROR"]


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    meaning: str
    retry_after: float = 60.0
    max_attempts: int | None = None
    reinit: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str
    retry_after: float
    reinit: bool


def _rows(codes: tuple[int, ...] | range, rule: Rule) -> dict[int, Rule]:
    return dict.fromkeys(codes, rule)


_PROTOCOL = Rule("retry", "network protocol error", 120.0, max_attempts=2)
_BAD_PDU = Rule("reject", "the network refused the PDU format (encoder bug: PDU logged)")

CMS: dict[int, Rule] = {
    1: Rule("reject", "unassigned number"),
    **_rows((8, 10), Rule("device", "operator barring: the SIM may not send SMS")),
    21: Rule("retry", "short message transfer rejected", 600.0, max_attempts=2),
    27: Rule("retry", "destination out of order", 600.0),
    **_rows((28, 30), Rule("reject", "unknown subscriber")),
    **_rows((29, 50, 69), Rule("device", "SMS not on the plan (facility rejected)")),
    **_rows((38, 41, 42, 47), Rule("retry", "network temporarily unavailable", 60.0)),
    **_rows((81, 95, 96, 97, 98, 99, 111, 127), _PROTOCOL),
    **_rows((*range(128, 160), 176), _BAD_PDU),
    **_rows((192, 194), Rule("retry", "SMSC busy or failing", 120.0)),
    193: Rule("device", "no SMSC subscription"),
    195: Rule("reject", "invalid destination address"),
    196: Rule("reject", "destination barred"),
    197: Rule("already_sent", "duplicate rejected: the SMSC already has it"),
    **_rows((198, 199), Rule("reject", "validity period refused: remove validity_minutes")),
    212: Rule("retry", "SIM toolkit busy", 10.0),
    **_rows((300, 301), Rule("retry", "modem failure", 30.0, reinit=True)),
    302: Rule("retry", "operation not allowed (SMS stack not ready?)", 30.0, reinit=True),
    **_rows((303, 305), Rule("device", "modem does not support PDU-mode sending")),
    304: Rule("reject", "modem refused the PDU (encoder bug: PDU logged)"),
    **_rows((310, 313, 315), Rule("device", "SIM missing, failed or wrong")),
    **_rows((311, 312, 316, 317, 318), Rule("device", "SIM locked (PIN/PUK required)")),
    314: Rule("retry", "SIM busy", 5.0),
    330: Rule("device", "SMSC address unknown: set it on the SIM or in smsc"),
    331: Rule("retry", "no network service", 60.0),
    332: Rule("retry", "network timeout", 60.0),
    500: Rule("retry", "unknown modem error", 60.0, max_attempts=3, reinit=True),
    **_rows((512, 513, 514), Rule("retry", "radio link failure (weak signal?)", 60.0)),
    515: Rule("retry", "modem busy", 10.0),
}

CME: dict[int, Rule] = {
    **_rows((3, 4), Rule("device", "operation not allowed or not supported")),
    **_rows((10, 13, 15), Rule("device", "SIM missing, failed or wrong")),
    **_rows((11, 12, 17, 18), Rule("device", "SIM locked (PIN/PUK required)")),
    14: Rule("retry", "SIM busy", 5.0),
    16: Rule("device", "wrong SIM PIN (never retried)"),
    **_rows((30, 31), Rule("retry", "no network service", 60.0)),
    100: Rule("retry", "unknown modem error", 60.0, max_attempts=3, reinit=True),
    515: Rule("retry", "modem busy", 10.0),
}

UNCLASSIFIED = Rule("retry", "unclassified error", 60.0, max_attempts=3, reinit=True)


def rule_for(kind: Kind, code: int | None) -> Rule:
    """The table row; unknown codes and bare ERROR are bounded retries with re-init."""
    table = CMS if kind == "CMS" else CME if kind == "CME" else {}
    if code is None:
        return UNCLASSIFIED
    return table.get(code, UNCLASSIFIED)


def classify(kind: Kind, code: int | None, attempt: int = 1) -> Verdict:
    """The verdict for this error on the text's `attempt`-th try (1-based)."""
    rule = rule_for(kind, code)
    label = f"+{kind} ERROR: {code}" if kind != "ERROR" and code is not None else "ERROR"
    reason = f"{label} ({rule.meaning})"
    if rule.max_attempts is not None and attempt >= rule.max_attempts:
        return Verdict("reject", f"{reason}, after {attempt} attempts", 0.0, rule.reinit)
    return Verdict(rule.action, reason, rule.retry_after, rule.reinit)
