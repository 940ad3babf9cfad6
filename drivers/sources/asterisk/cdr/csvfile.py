"""cdr_csv's `Master.csv`: one CDR per line in a fixed column order, no header.

16 columns always, then the optional ones in Asterisk's order (uniqueid with
`loguniqueid`, userfield with `loguserfield`, peeraccount/linkedid/sequence with
`newcdrcolumns`). `csv_columns` names the optional ones present; without it the
count decides (16, 18 = the sample cdr.conf, 21 = all), and a line of another count
is counted as `csv_bad_columns`. Dates are text that sorts, so lines older than the
watermark are skipped before they are parsed; CEL is not in this file.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime

from drivers.sources.asterisk.cdr.backend import Batch, CatchupError
from drivers.sources.asterisk.cdr.config import CSV_BASE, CSV_OPTIONAL, CatchupConfig

_BY_COUNT = {
    16: CSV_BASE,
    18: (*CSV_BASE, "uniqueid", "userfield"),
    21: (*CSV_BASE, *CSV_OPTIONAL),
}
_START = CSV_BASE.index("start")


class CsvBackend:
    def __init__(self, config: CatchupConfig) -> None:
        assert config.path is not None  # the options require it
        self._path = config.path
        self._fixed = (*CSV_BASE, *config.csv_columns) if config.csv_columns is not None else None

    def _layout(self, count: int) -> tuple[str, ...] | None:
        if self._fixed is not None:
            return self._fixed if count == len(self._fixed) else None
        return _BY_COUNT.get(count)

    def read(self, since: datetime) -> Batch:
        floor = since.strftime("%Y-%m-%d %H:%M:%S")
        batch = Batch(note="CEL not in Master.csv")
        try:
            with self._path.open(encoding="utf-8", errors="replace", newline="") as handle:
                for line in csv.reader(handle):
                    if not line:
                        continue
                    start = line[_START] if len(line) > _START else ""
                    if len(start) == 19 and start < floor:
                        continue
                    names = self._layout(len(line))
                    if names is None:
                        batch.bad.append(("csv_bad_columns", _fingerprint(line)))
                        continue
                    row: dict[str, object] = dict(zip(names, line, strict=True))
                    row["calldate"] = row.pop("start")
                    batch.cdr.append(row)
        except OSError as err:
            raise CatchupError(f"cannot read {self._path}: {err.strerror or err}") from err
        except csv.Error as err:
            raise CatchupError(f"{self._path}: not a CSV file ({err})") from err
        return batch

    def probe(self) -> str:
        try:
            with self._path.open("rb") as handle:
                size = handle.seek(0, 2)
        except OSError as err:
            raise CatchupError(f"cannot read {self._path}: {err.strerror or err}") from err
        return f"{self._path} readable ({size} bytes)"


def _fingerprint(line: list[str]) -> str:
    return hashlib.sha1("\x1f".join(line).encode(), usedforsecurity=False).hexdigest()
