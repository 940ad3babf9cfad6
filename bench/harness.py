"""Figures measured by the benchmarks, printed as ratios against their limits.

A `Figure` is one measurement with the limit it is held to. `higher_is_better` says
whether the measured value must stay above (rates) or below (latencies, memory) the
limit. The ratio printed is always "how far inside the limit": >= 1.0 means it holds.
Benchmarks print; they never assert, so a slow CI machine does not fail the tests.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    limit: float
    higher_is_better: bool

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.value / self.limit if self.limit else float("inf")
        return self.limit / self.value if self.value else float("inf")

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "ok" if self.ratio >= 1.0 else "OVER LIMIT"
        return (
            f"{self.name:<48} {self.value:>12.3f} {self.unit:<8} limit {sign} {self.limit:g} "
            f"-> ratio {self.ratio:6.2f} {verdict}"
        )


def report(figures: list[Figure]) -> None:
    for figure in figures:
        print(figure.line(), flush=True)


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
