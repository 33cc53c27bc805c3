"""Deadlines for `gopolicy burst`: each phase's budget, and a watchdog for the whole command.

The command must end within `Budget.total` seconds whatever is slow. Phases that can
stop early stop themselves at their deadline (prepare abandons unfinished chunks,
training ends its cosine at its end, evaluation scores what it reached); the
Watchdog catches anything else: at the hard deadline it calls `expire()` (which
exports the last checkpoint, writes the report and ends the process).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Seconds for each phase of a burst, all bounded by `total` (the whole command)."""

    total: float    # the whole command, from its start: the watchdog fires at total - grace
    train: float    # the training target (--minutes); less when the phases before it ran late
    prepare: float  # the most prepare may take, from the start
    peak: float     # the most the bf16 peak measurement may take
    finish: float   # kept after training for export, evaluation and the report
    grace: float    # kept at the very end for the watchdog's export and report

    @classmethod
    def of(cls, minutes: float, max_minutes: float | None = None, smoke: bool = False) -> Budget:
        """Return the budget of `--minutes` of training in a command of at most `max_minutes`
        (default minutes + 2). Raises ValueError when the total cannot hold the fixed phases."""
        total = 60.0 * (minutes + 2 if max_minutes is None else max_minutes)
        budget = cls(total=total, train=60.0 * minutes, prepare=min(150.0, 0.3 * total),
                     peak=5.0 if smoke else 10.0, finish=25.0 if smoke else 35.0, grace=5.0)
        if minutes <= 0 or budget.total < budget.prepare + budget.peak + budget.finish + budget.grace + 5:
            raise ValueError(f"--minutes {minutes} in --max-minutes {total / 60:g}: too short a run "
                             f"(the phases around training need {budget.fixed / 60:.1f} minutes)")
        return budget

    @property
    def fixed(self) -> float:
        """Return the seconds reserved for everything but training."""
        return self.prepare + self.peak + self.finish + self.grace

    def train_end(self, start: float, now: float) -> float:
        """Return when training begun at `now` must end in a command begun at `start`."""
        return min(now + self.train, start + self.total - self.finish - self.grace)

    def evaluate_end(self, start: float) -> float:
        """Return when evaluation must stop, leaving the grace period for the report."""
        return start + self.total - self.grace

    def hard_end(self, start: float) -> float:
        """Return when the watchdog steps in."""
        return start + self.total - self.grace


class Watchdog(threading.Thread):
    """A daemon thread calling `tick()` every `every` seconds and `expire()` once at `deadline`
    (a time.time() value), unless `stop()` comes first."""

    def __init__(self, deadline: float, expire, tick=None, every: float = 30.0):
        super().__init__(name="burst-watchdog", daemon=True)
        self.deadline, self.expire, self.tick, self.every = deadline, expire, tick, every
        self.stopped = threading.Event()
        self.expired = False

    def run(self) -> None:
        while True:
            left = self.deadline - time.time()
            if left <= 0:
                self.expired = True
                self.expire()
                return
            if self.stopped.wait(min(self.every, left)):
                return
            if self.tick is not None and time.time() < self.deadline:
                self.tick()

    def stop(self) -> None:
        """Stop the thread before its deadline (it then never calls expire)."""
        self.stopped.set()
