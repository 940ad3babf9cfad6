"""The error table, row by row (reference §7)."""

from __future__ import annotations

import pytest

from drivers.senders.gsm.codes import Action, Kind, classify, rule_for

ROWS: list[tuple[Kind, int | None, Action]] = [
    ("CMS", 1, "reject"),
    ("CMS", 8, "device"),
    ("CMS", 10, "device"),
    ("CMS", 21, "retry"),
    ("CMS", 27, "retry"),
    ("CMS", 28, "reject"),
    ("CMS", 30, "reject"),
    ("CMS", 29, "device"),
    ("CMS", 50, "device"),
    ("CMS", 69, "device"),
    ("CMS", 38, "retry"),
    ("CMS", 41, "retry"),
    ("CMS", 42, "retry"),
    ("CMS", 47, "retry"),
    ("CMS", 81, "retry"),
    ("CMS", 95, "retry"),
    ("CMS", 99, "retry"),
    ("CMS", 111, "retry"),
    ("CMS", 127, "retry"),
    ("CMS", 128, "reject"),
    ("CMS", 143, "reject"),
    ("CMS", 144, "reject"),
    ("CMS", 159, "reject"),
    ("CMS", 176, "reject"),
    ("CMS", 192, "retry"),
    ("CMS", 194, "retry"),
    ("CMS", 193, "device"),
    ("CMS", 195, "reject"),
    ("CMS", 196, "reject"),
    ("CMS", 197, "already_sent"),
    ("CMS", 198, "reject"),
    ("CMS", 199, "reject"),
    ("CMS", 212, "retry"),
    ("CMS", 300, "retry"),
    ("CMS", 301, "retry"),
    ("CMS", 302, "retry"),
    ("CMS", 303, "device"),
    ("CMS", 305, "device"),
    ("CMS", 304, "reject"),
    ("CMS", 310, "device"),
    ("CMS", 313, "device"),
    ("CMS", 315, "device"),
    ("CMS", 311, "device"),
    ("CMS", 312, "device"),
    ("CMS", 316, "device"),
    ("CMS", 318, "device"),
    ("CMS", 314, "retry"),
    ("CMS", 330, "device"),
    ("CMS", 331, "retry"),
    ("CMS", 332, "retry"),
    ("CMS", 500, "retry"),
    ("CMS", 512, "retry"),
    ("CMS", 513, "retry"),
    ("CMS", 514, "retry"),
    ("CMS", 515, "retry"),
    ("CME", 3, "device"),
    ("CME", 4, "device"),
    ("CME", 10, "device"),
    ("CME", 13, "device"),
    ("CME", 15, "device"),
    ("CME", 11, "device"),
    ("CME", 12, "device"),
    ("CME", 17, "device"),
    ("CME", 18, "device"),
    ("CME", 14, "retry"),
    ("CME", 16, "device"),
    ("CME", 30, "retry"),
    ("CME", 31, "retry"),
    ("CME", 100, "retry"),
    ("CME", 515, "retry"),
    ("ERROR", None, "retry"),
    ("CMS", None, "retry"),
    ("CMS", 999, "retry"),
    ("CME", 999, "retry"),
]


@pytest.mark.parametrize(("kind", "code", "action"), ROWS, ids=[f"{k}-{c}" for k, c, _ in ROWS])
def test_row(kind: Kind, code: int | None, action: Action) -> None:
    """Each documented code maps to its class on a first attempt; the reason names it."""
    verdict = classify(kind, code, attempt=1)
    assert verdict.action == action
    assert (str(code) in verdict.reason) if code is not None and kind != "ERROR" else True


@pytest.mark.parametrize(
    ("kind", "code", "limit"),
    [("CMS", 21, 2), ("CMS", 81, 2), ("CMS", 500, 3), ("CME", 100, 3), ("ERROR", None, 3)],
)
def test_bounded_retries_end_in_reject(kind: Kind, code: int | None, limit: int) -> None:
    """'Retry once / 2-3 times, then fail': the attempt that reaches the bound rejects."""
    assert classify(kind, code, attempt=limit - 1).action == "retry"
    assert classify(kind, code, attempt=limit).action == "reject"


def test_reinit_rows() -> None:
    """ME failure, 302, unknown and bare ERROR ask for a modem re-initialisation."""
    assert rule_for("CMS", 300).reinit and rule_for("CMS", 302).reinit
    assert rule_for("ERROR", None).reinit
    assert not rule_for("CMS", 42).reinit
