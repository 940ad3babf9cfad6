"""Figures measured by the benchmarks, each printed beside the limit it is held to.

A `Figure` is one measurement (the median of its runs, with their spread) and its
limit. A limit is either a goal in the figure's own unit (seconds, MB) or measured in
the same run (`limit_from` says what it was measured on: bare panoramisk, raw SQLite
on the same schema, a raw split of the same bytes, a plain scan of the same rows).
The line shows value and limit side by side; never a value divided by a constant.
`higher_is_better` says whether the value must stay above (rates) or below
(latencies, memory) the limit. Benchmarks print; they never assert, so a slow CI
machine does not fail the tests.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RUNS = 3


@dataclass(frozen=True, slots=True)
class Sample:
    """The runs of one measurement: median and spread (max - min)."""

    runs: tuple[float, ...]

    @classmethod
    def of(cls, runs: Sequence[float]) -> Sample:
        return cls(tuple(runs))

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> float:
        return max(self.runs) - min(self.runs)

    def text(self, fmt: str = ".3g") -> str:
        return f"{self.median:{fmt}} (spread {self.spread:{fmt}}, n={len(self.runs)})"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: Sample
    unit: str
    limit: float
    higher_is_better: bool
    limit_from: str = "goal"  # or what the limit was measured on in this run

    @property
    def holds(self) -> bool:
        v = self.value.median
        return v >= self.limit if self.higher_is_better else v <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "ok" if self.holds else "OVER LIMIT"
        return (
            f"{self.name:<46} {_num(self.value.median):>10} {self.unit:<7} "
            f"(spread {_num(self.value.spread)}, n={len(self.value.runs)})  "
            f"limit {sign} {_num(self.limit)} [{self.limit_from}]  {verdict}"
        )


def _num(x: float) -> str:
    if x == 0 or 0.01 <= abs(x) < 1e5:
        return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.2e}"


def report(figures: list[Figure]) -> None:
    for figure in figures:
        print(figure.line(), flush=True)


def repeat(fn: Callable[[], float], runs: int = RUNS) -> Sample:
    """`fn()` run `runs` times (one measurement each)."""
    return Sample.of([fn() for _ in range(runs)])


def interleaved(fns: dict[str, Callable[[], float]], runs: int = RUNS) -> dict[str, Sample]:
    """Each of `fns` run `runs` times, round-robin, so a burst of load elsewhere on the
    machine hits every side alike."""
    got: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            got[name].append(fn())
    return {name: Sample.of(values) for name, values in got.items()}


def scaled(sample: Sample, factor: float) -> float:
    """A limit measured in this run: `factor` x the median of `sample`."""
    return sample.median * factor


def rate(count: int, fn: Callable[[], object]) -> float:
    """Calls per second of `fn`, run `count` times."""
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - start)


def max_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb(pid: int | None = None) -> float:
    """Current resident set size of a process (default: this one), in MB."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path, encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
