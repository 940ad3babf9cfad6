"""Queueing formulas for staffing advice: Erlang B, Erlang C and Erlang A. Pure.

A department's phones in one hour are a queue: calls arrive at `calls_per_hour`, a
person handles one in `handle_seconds` on average, and `people` answer. The offered
load is `A = calls_per_hour x handle_seconds / 3600` Erlangs.

- **Erlang C** (M/M/N, nobody hangs up while waiting): probability of waiting
  `C(N, A)`, computed from Erlang B's recursion `B(k) = A B(k-1) / (k + A B(k-1))`
  and `C = N B / (N - A (1 - B))` (no factorials, stable for hundreds of Erlangs);
  service level `SL(t) = 1 - C e^{-(N - A) t / h}`. Needs `N > A`.
- **Erlang A** (M/M/N+M, callers hang up after an exponential patience of mean
  `patience_seconds`): the exact birth-death chain, truncated where its terms vanish.
  Probability of waiting, share of callers who hang up (`theta/lambda x E[queue]`)
  and service level = share answered within `t` (for a caller finding `k` ahead, the
  stages until a phone frees are exponential; each may end in a hang-up; the time is
  computed by uniformisation, which stays stable for long queues). Defined for any N,
  0 included: with nobody answering, everyone hangs up.

Checked against published values (tests/report/test_erlang.py): pyworkforce's
Erlang C and Erlang A test cases and Erlang B tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_TAIL = 1e-15  # a chain's terms below this share of the total are dropped


@dataclass(frozen=True, slots=True)
class Queue:
    """One department-hour: arrivals, handle time and, if known, callers' patience."""

    calls_per_hour: float
    handle_seconds: float
    patience_seconds: float | None = None  # None: Erlang C (nobody abandons)

    @property
    def load(self) -> float:
        """Offered load in Erlangs."""
        return self.calls_per_hour * self.handle_seconds / 3600.0


def erlang_b(load: float, people: int) -> float:
    """Probability that every one of `people` is busy (blocked calls lost)."""
    b = 1.0
    for k in range(1, people + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, people: int) -> float:
    """Probability that a caller waits (M/M/N); 1.0 when `people <= load`."""
    if people <= load:
        return 1.0
    b = erlang_b(load, people)
    return people * b / (people - load * (1.0 - b))


def _chain(queue: Queue, people: int) -> list[float]:
    """Stationary probabilities of the number of callers in the system (Erlang A)."""
    lam = queue.calls_per_hour / 3600.0
    mu = 1.0 / queue.handle_seconds
    theta = 1.0 / queue.patience_seconds if queue.patience_seconds else 0.0
    terms = [1.0]
    total = 1.0
    j = 0
    while True:
        j += 1
        term = terms[-1] * lam / (min(j, people) * mu + max(j - people, 0) * theta)
        terms.append(term)
        total += term
        if j > people and term < _TAIL * total:
            break
    return [t / total for t in terms]


def wait_probability(queue: Queue, people: int) -> float:
    """Share of callers who do not find a free person at once."""
    if queue.patience_seconds is None:
        return erlang_c(queue.load, people)
    return sum(_chain(queue, people)[people:])


def abandon_share(queue: Queue, people: int) -> float:
    """Share of callers who hang up before a person answers (0 under Erlang C)."""
    if queue.patience_seconds is None or queue.calls_per_hour <= 0:
        return 0.0
    probs = _chain(queue, people)
    waiting = sum((j - people) * p for j, p in enumerate(probs) if j > people)
    lam = queue.calls_per_hour / 3600.0
    return (1.0 / queue.patience_seconds) / lam * waiting


def service_level(queue: Queue, people: int, target_seconds: float) -> float:
    """Share of callers answered by a person within `target_seconds`."""
    if queue.calls_per_hour <= 0:
        return 1.0
    if queue.patience_seconds is None:
        if people <= queue.load:
            return 0.0
        c = erlang_c(queue.load, people)
        return 1.0 - c * math.exp(-(people - queue.load) * target_seconds / queue.handle_seconds)
    probs = _chain(queue, people)
    answered = sum(probs[:people])
    for j in range(people, len(probs)):
        answered += probs[j] * _served_within(queue, people, j - people, target_seconds)
    return answered


def _served_within(queue: Queue, people: int, ahead: int, seconds: float) -> float:
    """A caller who finds `ahead` callers waiting: probability that a person answers
    within `seconds` (before the caller hangs up). Stage i (i callers ahead) ends at
    rate people*mu + i*theta (someone ahead is served or hangs up) or at rate theta
    (our caller hangs up); uniformised with rate `top`, so the Poisson sum is exact
    to its truncation and free of the cancellation of the closed form."""
    if people == 0:
        return 0.0
    mu = 1.0 / queue.handle_seconds
    theta = 1.0 / queue.patience_seconds if queue.patience_seconds else 0.0
    forward = [people * mu + i * theta for i in range(ahead + 1)]
    top = forward[ahead] + theta
    # state[i]: probability of being at stage i (i ahead) after m uniformised steps
    state = [0.0] * (ahead + 1)
    state[ahead] = 1.0
    served = 0.0  # probability of being served within m steps
    rate_t = top * seconds
    weight = math.exp(-rate_t)  # Poisson(m; rate_t), m = 0
    total = 0.0
    cumulative = weight
    m = 0
    while cumulative < 1.0 - 1e-13 and m < 100_000:
        m += 1
        moved = [0.0] * (ahead + 1)
        for i, p in enumerate(state):
            if p == 0.0:
                continue
            go = forward[i] / top
            stay = 1.0 - (forward[i] + theta) / top
            moved[i] += p * stay
            if i:
                moved[i - 1] += p * go
            else:
                served += p * go
        state = moved
        weight *= rate_t / m
        cumulative += weight
        total += weight * served
    return total


def people_needed(queue: Queue, target_share: float, target_seconds: float, most: int = 200) -> int:
    """The fewest people answering `target_share` of calls within `target_seconds`
    (0 when there are no calls; `most` when even that many fall short)."""
    if queue.calls_per_hour <= 0:
        return 0
    start = 1 if queue.patience_seconds is not None else max(1, math.floor(queue.load) + 1)
    for people in range(start, most + 1):
        if service_level(queue, people, target_seconds) >= target_share:
            return people
    return most
