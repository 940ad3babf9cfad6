"""Status reports matched to the text they are about (drivers/senders/gsm/report_match)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.model import Delivery
from drivers.senders.gsm.pdu_decode import StatusReport
from drivers.senders.gsm.report_match import Tracker, references_of

TO = "+15145550123"
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def report(mr: int, status: int, to: str = TO, minute: int = 0) -> StatusReport:
    return StatusReport(mr, to, T0.replace(minute=minute), status)


def test_single_part_delivered() -> None:
    """One part, one report: delivered, with the provider id of the Sent."""
    tracker = Tracker()
    assert tracker.track(1, TO, [12], "gsm:12") is None
    verdict, due = tracker.report(report(12, 0x00))
    assert verdict == "handed" and due is not None
    assert (due.provider_id, due.meaning.state, due.at) == ("gsm:12", Delivery.DELIVERED, T0)


def test_multi_part_delivered_when_every_part_is_in_any_order() -> None:
    """Three parts: nothing until the last part's report, whatever the order; the time
    is the latest discharge time."""
    tracker = Tracker()
    tracker.track(1, TO, [20, 21, 22], "gsm:20,21,22")
    assert tracker.report(report(22, 0x00, minute=5)) == ("waiting", None)
    assert tracker.report(report(20, 0x00, minute=1)) == ("waiting", None)
    verdict, due = tracker.report(report(21, 0x00, minute=3))
    assert verdict == "handed" and due is not None
    assert due.provider_id == "gsm:20,21,22"
    assert due.meaning.state is Delivery.DELIVERED
    assert due.at == T0.replace(minute=5)


def test_duplicates_are_not_handed_twice() -> None:
    """The same report again, or any report after the final state, is a duplicate."""
    tracker = Tracker()
    tracker.track(1, TO, [30, 31], "gsm:30,31")
    assert tracker.report(report(30, 0x00))[0] == "waiting"
    assert tracker.report(report(30, 0x00))[0] == "duplicate"
    assert tracker.report(report(31, 0x00))[0] == "handed"
    assert tracker.report(report(31, 0x00))[0] == "duplicate"
    assert tracker.report(report(30, 0x41))[0] == "duplicate"  # too late: delivered stays


def test_a_failed_part_fails_the_text_at_once() -> None:
    """A permanent failure of one part is the text's final state, even if another part
    was delivered; the rest is then a duplicate."""
    tracker = Tracker()
    tracker.track(1, TO, [40, 41], "gsm:40,41")
    assert tracker.report(report(40, 0x00))[0] == "waiting"
    verdict, due = tracker.report(report(41, 0x41))
    assert verdict == "handed" and due is not None
    assert (due.meaning.state, due.status) == (Delivery.FAILED, 0x41)
    assert tracker.report(report(41, 0x00))[0] == "duplicate"


def test_still_trying_is_told_once_then_the_final_word() -> None:
    """0x20-0x3F: the text is `sent` (the SC still tries), told once; a part still
    trying may then be delivered."""
    tracker = Tracker()
    tracker.track(1, TO, [50], "gsm:50")
    verdict, due = tracker.report(report(50, 0x21))
    assert verdict == "handed" and due is not None and due.meaning.state is Delivery.SENT
    assert tracker.report(report(50, 0x22))[0] == "waiting"  # another trying code
    verdict, due = tracker.report(report(50, 0x00))
    assert verdict == "handed" and due is not None and due.meaning.state is Delivery.DELIVERED


def test_unknown_reference_and_other_recipient() -> None:
    """A reference no text used is unmatched; one whose recipient differs (the
    reference reused for another number) is refused."""
    tracker = Tracker()
    tracker.track(1, TO, [60], "gsm:60")
    assert tracker.report(report(61, 0x00)) == ("unmatched", None)
    assert tracker.report(report(60, 0x00, to="+14185550142")) == ("wrong_recipient", None)


def test_national_form_of_the_recipient_matches() -> None:
    """The SMSC may write the recipient without the country code."""
    tracker = Tracker()
    tracker.track(1, TO, [70], "gsm:70")
    assert tracker.report(report(70, 0x00, to="5145550123"))[0] == "handed"
    tracker.track(2, TO, [71], "gsm:71")
    assert tracker.report(report(71, 0x00, to="550123"))[0] == "wrong_recipient"  # too short


def test_reused_reference_points_at_the_newest_text() -> None:
    """TP-MR wraps at 256: the newest text that used a reference gets its reports."""
    tracker = Tracker()
    tracker.track(1, TO, [80], "gsm:80")
    tracker.track(2, "+14185550142", [80], "gsm:80")
    verdict, due = tracker.report(report(80, 0x00, to="+14185550142"))
    assert verdict == "handed" and due is not None
    assert tracker.report(report(80, 0x00))[0] == "wrong_recipient"


def test_report_before_the_last_part_left_is_kept_until_the_text_is_sent() -> None:
    """Part 1 left, part 2 waits for a retry: part 1's report is kept, the text is
    delivered only when it is sent and part 2 is delivered."""
    tracker = Tracker()
    assert tracker.track(1, TO, [90, None], "") is None
    assert tracker.report(report(90, 0x00)) == ("waiting", None)
    assert tracker.track(1, TO, [90, 91], "gsm:90,91") is None
    verdict, due = tracker.report(report(91, 0x00))
    assert verdict == "handed" and due is not None and due.provider_id == "gsm:90,91"


def test_failure_before_the_text_is_sent_is_handed_when_it_is() -> None:
    """A failure reported between two attempts is handed over with the final id."""
    tracker = Tracker()
    tracker.track(1, TO, [100, None], "")
    assert tracker.report(report(100, 0x45)) == ("waiting", None)
    due = tracker.track(1, TO, [100, 101], "gsm:100,101")
    assert due is not None and due.meaning.state is Delivery.FAILED


def test_parts_the_smsc_took_as_duplicates_are_not_waited_for() -> None:
    """A part answered CMS 197 (already sent, reference unknown) has no report."""
    tracker = Tracker()
    tracker.track(1, TO, [110, -1], "gsm:110,dup")
    assert tracker.report(report(110, 0x00))[0] == "handed"


def test_old_texts_are_forgotten() -> None:
    """Only the newest `keep` texts are remembered."""
    tracker = Tracker(keep=2)
    tracker.track(1, TO, [1], "gsm:1")
    tracker.track(2, TO, [2], "gsm:2")
    tracker.track(3, TO, [3], "gsm:3")
    assert tracker.report(report(1, 0x00))[0] == "unmatched"
    assert tracker.report(report(3, 0x00))[0] == "handed"


@pytest.mark.parametrize(
    ("provider_id", "references"),
    [
        ("gsm:12", [12]),
        ("gsm:12,13", [12, 13]),
        ("gsm:dup,255", [None, 255]),
        ("gsm:256", []),
        ("gsm:", []),
        ("gsm:1,x", []),
        ("SM" + "ab" * 16, []),
        ("log-1-1", []),
    ],
)
def test_references_read_back_from_the_provider_id(
    provider_id: str, references: list[int | None]
) -> None:
    """What a restarted sender reads back from the id the store kept: one TP-MR per
    part, a duplicate part as None, anything else (another sender's id, a reference
    out of range) no reference at all."""
    assert references_of(provider_id) == references
