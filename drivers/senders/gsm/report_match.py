"""Status reports matched to the texts they are about. Pure: no I/O, no clock.

Each part of a text gets its own TP-MR from the modem (`+CMGS: <mr>`) and its own
status report. `Sent.provider_id` of a text is `gsm:<mr>,<mr>...` (one per part, in
order); a report is matched by its TP-MR to the newest text that used it (the
reference wraps at 256) and checked against the recipient it names. The text's state:

    a part still being tried (TP-ST 0x20-0x3F)  -> sent, once per text
    a part that failed (0x40-0xFF)              -> that failure, at once, final
    every part delivered (0x00-0x1F)            -> delivered, final

A final state is handed over once; what comes after it about the same text (a
duplicate, a late part) is a duplicate. A report for a text whose send is not finished
(some parts still to go, or the +CMGS of the last part not yet read) is kept and
handed over when the text is sent. Parts the
SMSC took as duplicates of an earlier send (`dup` in the provider id) have no
reference and are not waited for.

After a restart the tracker knows no text: `references_of(provider_id)` reads the
TP-MRs back from the provider id the store kept, and `track()` re-learns the text
(its parts' earlier reports are not known again: a text with several parts waits for
the reports still to come of every part).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from drivers.senders.gsm.pdu_decode import StatusReport
from drivers.senders.gsm.report_codes import StatusMeaning, meaning

Verdict = Literal["handed", "waiting", "duplicate", "unmatched", "wrong_recipient"]
MIN_MATCHING_DIGITS = 7
_DELIVERED = range(0x00, 0x20)
_TRYING = range(0x20, 0x40)


@dataclass(frozen=True, slots=True)
class Due:
    """What to hand over for one text."""

    provider_id: str
    status: int
    meaning: StatusMeaning
    at: datetime | None


@dataclass(slots=True)
class _Text:
    recipient: str
    references: tuple[int, ...] = ()
    provider_id: str = ""
    statuses: dict[int, int] = field(default_factory=dict)
    at: datetime | None = None
    told_sent: bool = False
    finished: bool = False

    def due(self) -> Due | None:
        """The text's state to hand over now, if any (and mark it handed)."""
        if self.finished or not self.provider_id:
            return None
        failed = [s for s in self.statuses.values() if s not in _DELIVERED and s not in _TRYING]
        if failed:
            self.finished = True
            return self._due(failed[0])
        done = [self.statuses.get(r, -1) for r in self.references]
        if done and all(s in _DELIVERED for s in done):
            self.finished = True
            return self._due(max(done))
        trying = [s for s in self.statuses.values() if s in _TRYING]
        if trying and not self.told_sent:
            self.told_sent = True
            return self._due(trying[-1])
        return None

    def _due(self, status: int) -> Due:
        return Due(self.provider_id, status, meaning(status), self.at)


class Tracker:
    """Texts by message id (the newest `keep`) and by TP-MR (a reused reference
    points at the newest text that used it)."""

    def __init__(self, keep: int = 512) -> None:
        self._texts: OrderedDict[int, _Text] = OrderedDict()
        self._by_reference: dict[int, _Text] = {}
        self._keep = keep

    def track(
        self, message_id: int, recipient: str, references: list[int | None], provider_id: str
    ) -> Due | None:
        """Remember the parts of a text that left (`provider_id` "" while parts are still
        to go); returns what is due for reports that came before the text was sent."""
        text = self._texts.get(message_id)
        if text is None:
            text = self._texts[message_id] = _Text(_digits(recipient))
            while len(self._texts) > self._keep:
                _, old = self._texts.popitem(last=False)
                for reference in old.references:
                    if self._by_reference.get(reference) is old:
                        del self._by_reference[reference]
        text.references = tuple(r for r in references if r is not None and 0 <= r <= 255)
        for reference in text.references:
            self._by_reference[reference] = text
        text.provider_id = provider_id or text.provider_id
        return text.due()

    def report(self, report: StatusReport) -> tuple[Verdict, Due | None]:
        text = self._by_reference.get(report.reference)
        if text is None:
            return "unmatched", None
        if not _same_number(text.recipient, _digits(report.recipient)):
            return "wrong_recipient", None
        before = text.statuses.get(report.reference)
        if text.finished or before == report.status:
            return "duplicate", None
        if before is not None and before not in _TRYING:
            return "duplicate", None  # a part's final word stays
        text.statuses[report.reference] = report.status
        if report.delivered_at is not None:
            text.at = report.delivered_at if text.at is None else max(text.at, report.delivered_at)
        due = text.due()
        return ("handed", due) if due is not None else ("waiting", None)


def references_of(provider_id: str) -> list[int | None]:
    """The TP-MRs a `gsm:<mr>,<mr>...` provider id names, one per part (None: a part
    the SMSC took as a duplicate); [] for any other id."""
    kind, _, parts = provider_id.partition(":")
    if kind != "gsm" or not parts:
        return []
    found: list[int | None] = []
    for part in parts.split(","):
        if part.isdigit() and int(part) <= 255:
            found.append(int(part))
        elif part == "dup":
            found.append(None)
        else:
            return []
    return found


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _same_number(ours: str, theirs: str) -> bool:
    """The SMSC may write the recipient nationally (`5145550123` for `+15145550123`):
    the shorter must end the longer, on at least 7 digits."""
    short, long = sorted((ours, theirs), key=len)
    return len(short) >= MIN_MATCHING_DIGITS and long.endswith(short)
