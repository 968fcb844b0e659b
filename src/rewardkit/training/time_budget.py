"""Runs sized to a wall-clock budget: measure the seconds a training step takes on this machine, plan how many steps
fit beside the evaluation, and stop at the deadline if the machine slows down mid-run (another job starts)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Wall-clock seconds of each optimizer step (the first one, which warms up allocators and kernels, included)."""

    def __init__(self) -> None:
        self.step_seconds: list[float] = []
        self._last = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.step_seconds.append(time.perf_counter() - self._last)

    def seconds_per_step(self) -> float:
        """Median over the steps after the first (the only one when a single step was timed)."""
        if not self.step_seconds:
            raise ValueError("no training step was timed")
        steady = self.step_seconds[1:] or self.step_seconds
        return statistics.median(steady)


class StopAtDeadline(TrainerCallback):
    """Ends training after the step that crosses `deadline` (a time.monotonic() value); records that it did."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.stopped_at_step: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() >= self.deadline and state.global_step < state.max_steps:
            control.should_training_stop = True
            self.stopped_at_step = state.global_step


@dataclass
class StepPlan:
    """How many optimizer steps a run takes, from the measured step time and what else the budget must hold."""

    steps: int
    fitting_steps: int
    seconds_per_step: float
    training_seconds: float
    reason: str


def plan_steps(available_seconds: float, seconds_per_step: float, floor_steps: int, ceiling_steps: int) -> StepPlan:
    """The most steps that fit in `available_seconds`, kept within [floor_steps, ceiling_steps], with the reason."""
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be > 0, got {seconds_per_step}")
    if not 0 < floor_steps <= ceiling_steps:
        raise ValueError(f"need 0 < floor_steps ({floor_steps}) <= ceiling_steps ({ceiling_steps})")
    fitting = max(int(available_seconds // seconds_per_step), 0)
    steps = min(max(fitting, floor_steps), ceiling_steps)
    if fitting < floor_steps:
        reason = (
            f"only {fitting} steps of {seconds_per_step:.2f} s fit in {available_seconds:.0f} s; "
            f"the floor is {floor_steps} steps, so the run will exceed its budget"
        )
    elif fitting > ceiling_steps:
        reason = f"{fitting} steps of {seconds_per_step:.2f} s would fit; capped at {ceiling_steps}"
    else:
        reason = f"{steps} steps of {seconds_per_step:.2f} s fill the {available_seconds:.0f} s left for training"
    return StepPlan(steps, fitting, seconds_per_step, steps * seconds_per_step, reason)
