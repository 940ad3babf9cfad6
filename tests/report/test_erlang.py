"""Erlang B, C and A against published values (pyworkforce's test cases and the
Erlang B table), so the staffing advice rests on formulas that are known right."""

from __future__ import annotations

import pytest

from agent.report.erlang import (
    Queue,
    abandon_share,
    erlang_b,
    erlang_c,
    people_needed,
    service_level,
    wait_probability,
)

# 100 calls in 30 minutes, 3 minutes each: 10 Erlangs.
TEN = Queue(calls_per_hour=200, handle_seconds=180)


def test_erlang_b_table() -> None:
    """Erlang B: B(1, A=1) = 0.5, B(2, A=1) = 0.2; A = 10 needs 17 lines for 2 % blocking."""
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(1.0, 2) == pytest.approx(0.2)
    assert erlang_b(10.0, 16) == pytest.approx(0.0223, abs=5e-5)
    assert erlang_b(10.0, 17) == pytest.approx(0.01295, abs=5e-5)


def test_erlang_c_published_case() -> None:
    """A = 10, 14 people, 20 s: P(wait) 0.1741319, service level 0.8883500."""
    assert TEN.load == pytest.approx(10.0)
    assert erlang_c(10.0, 14) == pytest.approx(0.1741319, abs=1e-7)
    assert service_level(TEN, 14, 20) == pytest.approx(0.8883500, abs=1e-6)
    assert service_level(TEN, 13, 20) == pytest.approx(0.7956, abs=1e-4)


def test_erlang_c_sizing() -> None:
    """80 % within 20 s at A = 10 takes 14 people (13 give 79.6 %)."""
    assert people_needed(TEN, 0.80, 20) == 14
    assert people_needed(TEN, 0.94, 20) == 15


def test_erlang_c_needs_more_people_than_the_load() -> None:
    """With no more people than Erlangs, everyone waits and nobody is answered in time."""
    assert erlang_c(10.0, 10) == 1.0
    assert service_level(TEN, 9, 20) == 0.0


def test_erlang_c_larger_case() -> None:
    """360 calls / 30 min of 240 s (A = 48), 55 people, 15 s: P(wait) 0.2387, SL 0.8459."""
    queue = Queue(calls_per_hour=720, handle_seconds=240)
    assert erlang_c(queue.load, 55) == pytest.approx(0.2387, abs=1e-4)
    assert service_level(queue, 55, 15) == pytest.approx(0.8459, abs=1e-4)


def test_erlang_a_published_case() -> None:
    """A = 10, 14 people, 20 s, patience 5 min: P(wait) 0.14526, P(abandon) 0.013984,
    SL 0.916792 (pyworkforce's abandonment test)."""
    queue = Queue(calls_per_hour=200, handle_seconds=180, patience_seconds=300)
    assert wait_probability(queue, 14) == pytest.approx(0.14526, abs=1e-5)
    assert abandon_share(queue, 14) == pytest.approx(0.013984, abs=1e-6)
    assert service_level(queue, 14, 20) == pytest.approx(0.916792, abs=1e-5)


def test_erlang_a_with_nobody_answering() -> None:
    """Erlang A holds with any number of people: with none, every caller hangs up."""
    queue = Queue(calls_per_hour=20, handle_seconds=180, patience_seconds=60)
    assert abandon_share(queue, 0) == pytest.approx(1.0)
    assert service_level(queue, 0, 20) == 0.0
    assert abandon_share(queue, 1) < abandon_share(queue, 0)
    assert abandon_share(queue, 2) < abandon_share(queue, 1)


def test_impatient_callers_need_fewer_people_than_erlang_c_says() -> None:
    """Abandonment shortens the queue: Erlang A sizes at most what Erlang C does."""
    patient = Queue(calls_per_hour=200, handle_seconds=180)
    impatient = Queue(calls_per_hour=200, handle_seconds=180, patience_seconds=120)
    assert people_needed(impatient, 0.8, 20) <= people_needed(patient, 0.8, 20)


def test_no_calls_need_nobody() -> None:
    assert people_needed(Queue(0, 180), 0.8, 20) == 0
    assert service_level(Queue(0, 180, 60), 0, 20) == 1.0
