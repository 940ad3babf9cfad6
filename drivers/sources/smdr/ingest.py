"""From raw records to call records, with every bad line counted, logged and kept.

`Ingest` is the one place where bytes meet a family parser: it decodes with the
configured encoding, rejects line noise (control characters, undecodable bytes:
the signature of a wrong baud rate), hands the text to the parser and catches its
`BadLine` (and, as a safety net counted `parser_error`, any arithmetic, value or
lookup error a parser lets through on input nobody foresaw). Each bad line gets a
counter named after its reason, one WARNING log line (rate-limited per reason), the
raw bytes at DEBUG, and a place among the last `bad_lines_kept` bad lines shown in
`health().details`. Pure apart from logging.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections import deque
from datetime import datetime, timedelta
from itertools import repeat

from agent.model import CallRecord, Counters
from agent.numbers import mask_text
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.parsing import BadLine, LineParser

log = logging.getLogger("drivers.sources.smdr")

BAD_REASONS = (
    "line_garbled",
    "line_truncated",
    "line_too_long",
    "field_impossible",
    "record_unknown",
    "parser_error",
)
COUNTERS = (
    "lines",
    "records",
    *BAD_REASONS,
    "time_in_future",
    "continuation_timeout",
)
_NOISE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffd]")
# what is left of a clean batch once these bytes are deleted: nothing (the bytes
# `_NOISE` matches are the other ASCII controls)
_CLEAN_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"
# encodings that read every ASCII byte as that character (and nothing else as one)
_ASCII_SUPERSETS = frozenset(
    {"utf-8", "ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1250", "cp1252", "cp437", "cp850"}
)
_LOG_EVERY = timedelta(seconds=10)
_WINDOW = 50


class Ingest:
    def __init__(self, parser: LineParser, config: SmdrConfig, counters: Counters) -> None:
        self.parser = parser
        self._config = config
        self._encoding = config.encoding
        self._ascii_superset = codecs.lookup(config.encoding).name in _ASCII_SUPERSETS
        self._counters = counters
        self.bad_lines: deque[dict[str, str]] = deque(maxlen=config.bad_lines_kept)
        self._recent: deque[bool] = deque(maxlen=_WINDOW)  # True = bad
        self._last_log: dict[str, datetime] = {}
        self._quiet: dict[str, int] = {}

    def lines(self, raws: list[bytes], received_at: datetime) -> list[CallRecord]:
        """The calls finished by a batch of raw records; counters move once per batch
        (a locked increment per line costs as much as decoding the line). A batch of
        clean ASCII (nearly all) is checked for noise and decoded in C, then given to
        the parser's `feed_lines` in one go; it stops only at a line that needs a
        counter or a log line. Any other batch is read line by line."""
        out: list[CallRecord] = []
        if not raws:
            return out
        self._counters.inc("lines", len(raws))
        texts = self._clean_texts(raws)
        if texts is None:
            self._one_by_one(raws, received_at, out)
            return self._count(out)
        parser, recent, n = self.parser, self._recent, len(texts)
        at = 0
        while at < n:
            stop, err = parser.feed_lines(texts, at, received_at, out)
            good = stop - at - (err is not None)
            if good:
                recent.extend(repeat(False, min(good, _WINDOW)))
            if err is not None:
                self._failed_line(err, raws[stop - 1], received_at)
            else:
                self._drain(received_at)
            at = stop
        return self._count(out)

    def _clean_texts(self, raws: list[bytes]) -> list[str] | None:
        """The decoded lines when every byte of the batch is printable ASCII (or a
        tab) and the encoding reads ASCII as ASCII: then no line is noise and none
        fails to decode. None: read line by line."""
        if not self._ascii_superset:
            return None
        joined = b"".join(raws)
        if not joined.isascii() or joined.translate(None, _CLEAN_ASCII):
            return None
        return list(map(bytes.decode, raws, repeat(self._encoding)))

    def _one_by_one(self, raws: list[bytes], received_at: datetime, out: list[CallRecord]) -> None:
        """One loop, no call per line but the parser's."""
        parser, encoding, recent = self.parser, self._encoding, self._recent
        feed = parser.feed
        for raw in raws:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                self.bad("line_garbled", raw, f"not {encoding} text", received_at)
                continue
            # printable ASCII holds no noise: the regex only for the other lines
            if not (text.isascii() and text.isprintable()) and _NOISE.search(text):
                self.bad("line_garbled", raw, "control characters (noise or wrong baud "
                         "rate?)", received_at)  # fmt: skip
                continue
            try:
                records = feed(text, received_at)
            except (BadLine, ArithmeticError, ValueError, LookupError) as err:
                self._failed_line(err, raw, received_at)
                continue
            recent.append(False)
            self._drain(received_at)
            out += records

    def _failed_line(self, err: Exception, raw: bytes, received_at: datetime) -> None:
        if isinstance(err, BadLine):
            self.bad(err.reason, raw, err.detail, received_at)
        else:
            # a parser bug on input nobody foresaw: the line is counted and kept, the
            # stream goes on (the fuzz tests hold this counter at zero)
            self.bad("parser_error", raw, f"{type(err).__name__}: {err}", received_at)

    def _drain(self, at: datetime) -> None:
        if self.parser.notes:
            self._log_notes()
        if self.parser.failed:
            self._count_failed(at)

    def line(self, raw: bytes, received_at: datetime) -> list[CallRecord]:
        return self.lines([raw], received_at)

    def flush(self, now: datetime, *, everything: bool = False) -> list[CallRecord]:
        records = self.parser.flush(now, everything=everything)
        if records:
            self._counters.inc("continuation_timeout", len(records))
            log.warning("smdr %s: %d call(s) emitted without their last record (timeout)",
                        self._config.name, len(records))  # fmt: skip
        if self.parser.notes:
            self._log_notes()
        if self.parser.failed:
            self._count_failed(now)
        return self._count(records)

    def _count_failed(self, at: datetime) -> None:
        for err in self.parser.failed:
            self.bad(err.reason, b"", f"a held call: {err.detail}", at)
        self.parser.failed.clear()

    def _count(self, records: list[CallRecord]) -> list[CallRecord]:
        if records:
            self._counters.inc("records", len(records))
        return records

    def _log_notes(self) -> None:
        for note in self.parser.notes:
            self._counters.inc(note)
            log.warning("smdr %s: %s: the PBX clock is ahead of ours; record pulled back "
                        "to the receive time", self._config.name, note)  # fmt: skip
        self.parser.notes.clear()

    def bad(self, reason: str, raw: bytes, detail: str, at: datetime) -> None:
        """Count, log and keep one bad raw record."""
        self._counters.inc(reason)
        self._recent.append(True)
        self.bad_lines.append(
            {
                "at": at.isoformat(),
                "reason": reason,
                "detail": mask_text(detail),
                "raw": mask_text(repr(raw)[2:-1]),
            }
        )
        log.debug("smdr %s: %s: raw %r", self._config.name, reason, raw)
        last = self._last_log.get(reason)
        if last is not None and at - last < _LOG_EVERY:
            self._quiet[reason] = self._quiet.get(reason, 0) + 1
            return
        self._last_log[reason] = at
        more = self._quiet.pop(reason, 0)
        suffix = f" ({more} more since the last report)" if more else ""
        log.warning("smdr %s: %s, %d bytes skipped: %s%s",
                    self._config.name, reason, len(raw), detail, suffix)  # fmt: skip

    def noisy(self) -> bool:
        """Most recent lines were bad: a wrong baud rate, parity or format is likely."""
        return len(self._recent) >= 10 and sum(self._recent) * 2 > len(self._recent)
