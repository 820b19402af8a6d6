"""What every benchmark reports: a Figure (a median next to its same-run baseline), how
subject and baseline take turns, and a Skipped line for what could not run."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One line of the table: a median, and the same-run baseline it is read against."""

    name: str
    value: float
    unit: str
    runs: int
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    # ratio = value / baseline; `higher_is_better` says which way the goal points.
    goal_ratio: float | None = None
    higher_is_better: bool = False
    # An absolute goal as well (the "15 s or less cold"): value <= goal_value.
    goal_value: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        if self.goal_value is not None:
            return self.value <= self.goal_value
        if self.goal_ratio is None or self.ratio is None:
            return None
        if self.higher_is_better:
            return self.ratio >= self.goal_ratio
        return self.ratio <= self.goal_ratio

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


@dataclass
class Skipped:
    name: str
    reason: str


Result = Figure | Skipped


def median(values: list[float]) -> float:
    return statistics.median(values)


def rotate(runs: list[Callable[[], float]], rounds: int, warmup: int = 1) -> list[list[float]]:
    """Run each callable `rounds` times, in an order that turns every round (A B C,
    C B A, B C A, ...), so that drift in machine load hits them alike. Each callable
    returns the seconds it measured (so set-up stays out of the figure)."""
    for _ in range(warmup):
        for run in runs:
            run()
    times: list[list[float]] = [[] for _ in runs]
    order = list(range(len(runs)))
    for i in range(rounds):
        turn = order[i // 2 % len(order) :] + order[: i // 2 % len(order)]
        for index in turn if i % 2 == 0 else reversed(turn):
            times[index].append(runs[index]())
    return times


def alternate(
    subject: Callable[[], float], baseline: Callable[[], float], pairs: int, warmup: int = 1
) -> tuple[list[float], list[float]]:
    """Run subject and baseline `pairs` times each, alternating which goes first."""
    subject_times, baseline_times = rotate([subject, baseline], pairs, warmup)
    return subject_times, baseline_times
