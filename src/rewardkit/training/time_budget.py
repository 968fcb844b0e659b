"""Runs sized to a wall-clock budget: measure the seconds a training step takes on this machine, plan how many steps
fit beside the evaluation, and stop at the deadline if the machine slows down mid-run (another job starts)."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


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


def plan_steps(
    available_seconds: float,
    seconds_per_step: float,
    floor_steps: int,
    ceiling_steps: int,
    fitting: int | None = None,
) -> StepPlan:
    """The most steps that fit in `available_seconds` (`fitting` when counted otherwise, e.g. batch by batch), kept
    within [floor_steps, ceiling_steps], with the reason."""
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be > 0, got {seconds_per_step}")
    if not 0 < floor_steps <= ceiling_steps:
        raise ValueError(f"need 0 < floor_steps ({floor_steps}) <= ceiling_steps ({ceiling_steps})")
    if fitting is None:
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


@dataclass
class Replan:
    """One re-plan: after which step, what it timed, and the steps it planned after that step."""

    after_steps: int
    timed_steps: str
    seconds_per_step: float
    seconds_per_token: float | None
    planned_steps: int
    plan: StepPlan

    @property
    def total_steps(self) -> int:
        return self.after_steps + self.plan.steps

    def change(self) -> str:
        if self.total_steps == self.planned_steps:
            return f"kept {self.total_steps} steps"
        return f"{self.total_steps} steps instead of {self.planned_steps}"


class ReplanFromMeasuredSteps(TrainerCallback):
    """Re-sizes a run from its own steps: the probe that planned it times a few steps of a throw-away run, which can
    be off by a third on a noisy CPU (measured: 7.4 s a probe step, 5.4 s in the run). After `after_steps` steps, and
    again when each fraction in `again_at` of the run's current total is done (each once, and each at least
    `after_steps` - 1 steps after the re-plan before), the steps since the re-plan before
    (the first, a warm-up, left out) give the steps that fit before `budget_deadline` (a time.monotonic() value),
    within `floor_steps` and `ceiling_steps` and never past the data; the Trainer's step count, its learning-rate
    schedule (rebuilt for the new total, warmup unchanged) and its progress bar follow. Re-planning again corrects a
    first estimate from a handful of steps and a machine that drifts: the schedule then ends where the time does.
    With the batches ahead known, a step is predicted as the mean of two rules, per padded token and per step: part of
    a step's time does not shrink with its batch (measured: 0.5-1.0 s of 1.5-2.2 s), so the first is optimistic and
    the second pessimistic when the batches ahead are shorter (bench/bench_step_time_model.py). `stop.deadline`
    becomes the budget's, or, where the floor forces more steps than fit, their predicted time with `slack`; steps
    chosen to fill the budget get no slack past it. `deadline_for`, when given, is asked at the first re-plan for the
    budget's deadline anew from the measured seconds a step and the floor's steps left (the quickstart sizes its
    evaluation again there: a probe that misjudged the step misjudged what the floor leaves for the evaluation).
    The Trainer is bound by `bind_trainer` (train_bt calls it); the run grows only as far as its train set goes."""

    def __init__(
        self,
        stop: StopAtDeadline,
        budget_deadline: float,
        after_steps: int,
        floor_steps: int,
        ceiling_steps: int,
        slack: float,
        again_at: tuple[float, ...] = (),
        deadline_for: Callable[[float, int], float] | None = None,
    ) -> None:
        if after_steps < 2:
            raise ValueError(f"after_steps must be >= 2 (the first step is a warm-up), got {after_steps}")
        if any(not 0 < fraction < 1 for fraction in again_at):
            raise ValueError(f"again_at holds fractions of the run, each in (0, 1), got {again_at}")
        self.stop, self.budget_deadline, self.after_steps, self.slack = stop, budget_deadline, after_steps, slack
        self.floor_steps, self.ceiling_steps, self._fractions_left = floor_steps, ceiling_steps, sorted(again_at)
        self.deadline_for = deadline_for
        self.timer = StepTimer()
        self.trainer = None
        self.replans: list[Replan] = []
        self._next_at: int | None = after_steps
        self._window_start = 1

    def bind_trainer(self, trainer) -> None:
        self.trainer = trainer

    def on_step_begin(self, args, state, control, **kwargs):
        self.timer.on_step_begin(args, state, control)

    def on_step_end(self, args, state, control, **kwargs):
        self.timer.on_step_end(args, state, control)
        if state.global_step != self._next_at or state.global_step >= state.max_steps:
            return
        if self.trainer is None:
            raise RuntimeError("ReplanFromMeasuredSteps needs bind_trainer(trainer) before training")
        replan = self._replan(args, state)
        self.replans.append(replan)
        self._window_start = state.global_step
        self._next_at = self._next_replan(state.global_step, replan.total_steps)
        logger.info(
            "re-planned after %d steps (timed %s: %.2f s a step, median): %s (%s%s)",
            replan.after_steps,
            replan.timed_steps,
            replan.seconds_per_step,
            replan.change(),
            replan.plan.reason,
            "; a step ahead predicted from its padded tokens and the median step" if replan.seconds_per_token else "",
        )
        if replan.total_steps != state.max_steps:
            self._resize(args, state, replan.total_steps)

    def _next_replan(self, done: int, total: int) -> int | None:
        """The step of the next re-plan: the next fraction of `total` not used yet that leaves at least as many timed
        steps as the first re-plan had (a fraction passed or too near is dropped: each is used once)."""
        while self._fractions_left:
            step = round(self._fractions_left.pop(0) * total)
            if step >= done + self.after_steps - 1:
                return step
        return None

    def _replan(self, args, state) -> Replan:
        now, done = time.monotonic(), state.global_step
        most = max(min(self.ceiling_steps, steps_in_one_epoch(len(self.trainer.train_dataset), args)), state.max_steps)
        most_left = max(most - done, 1)
        floor_left = min(max(self.floor_steps - done, 1), most_left)
        timed = self.timer.step_seconds[self._window_start : done]
        per_step, per_token = statistics.median(timed), None
        if self.deadline_for is not None and not self.replans:
            self.budget_deadline = self.deadline_for(per_step, max(self.floor_steps - done, 0))
        available = self.budget_deadline - now
        costs = batch_costs(self.trainer, args)
        if costs and len(costs) >= most:  # known for the first epoch only: a run that may go past it is timed per step
            per_token, ahead = blended_seconds_ahead(timed, costs[self._window_start : done], costs[done:most])
            fitting = steps_that_fit(available, ahead)
            counted = ahead[: max(fitting, 1)]
            remaining = plan_steps(available, sum(counted) / len(counted), floor_left, most_left, fitting=fitting)
        else:
            remaining = plan_steps(available, per_step, floor_left, most_left)
        floor_forced_s = remaining.training_seconds if remaining.steps > remaining.fitting_steps else 0.0
        self.stop.deadline = max(self.budget_deadline, now + self.slack * floor_forced_s)
        timed_steps = f"{self._window_start + 1}..{done}"
        return Replan(done, timed_steps, per_step, per_token, state.max_steps, remaining)

    def _resize(self, args, state, total: int) -> None:
        warmup = args.get_warmup_steps(state.max_steps)
        state.max_steps = total
        reschedule(self.trainer.lr_scheduler, args, warmup, total)
        for callback in self.trainer.callback_handler.callbacks:
            bar = getattr(callback, "training_bar", None)
            if bar is not None:
                bar.total = total
                bar.refresh()


def batch_costs(trainer, args) -> list[int] | None:
    """Padded tokens of each step's batch in the first epoch, in the order the Trainer will draw them, when that
    order is known ahead: one process, no gradient accumulation, a length-grouped sampler seeded per epoch. Its
    megabatches come longest first, so the first steps' time alone overestimates the rest (measured: 6.0 s for a
    batch of 1,296 padded tokens, 3.9 s for 928). None otherwise (a random order costs alike on average)."""
    from rewardkit.training.length_grouping import EpochSeededLengthGroupedSampler

    if args.world_size != 1 or args.gradient_accumulation_steps != 1:
        return None
    sampler = trainer._get_train_sampler(trainer.train_dataset)
    if not isinstance(sampler, EpochSeededLengthGroupedSampler) or sampler.epoch != 0:
        return None
    order, size = list(sampler), args.per_device_train_batch_size
    batches = [order[start : start + size] for start in range(0, len(order), size)]
    return [len(batch) * max(sampler.lengths[index] for index in batch) for batch in batches]


def blended_seconds_ahead(
    timed_seconds: list[float], timed_costs: list[int], costs_ahead: list[int]
) -> tuple[float, list[float]]:
    """The median seconds per padded token of the timed steps, and each step ahead predicted as the mean of two
    rules: that rate times its padded tokens, and the timed steps' median (bench/bench_step_time_model.py's blend)."""
    per_token = statistics.median(seconds / cost for seconds, cost in zip(timed_seconds, timed_costs, strict=True))
    per_step = statistics.median(timed_seconds)
    return per_token, [(per_token * cost + per_step) / 2 for cost in costs_ahead]


def steps_that_fit(available_seconds: float, seconds_ahead: list[float]) -> int:
    """How many of the steps ahead, predicted to take `seconds_ahead` each, end within `available_seconds`."""
    spent = 0.0
    for count, seconds in enumerate(seconds_ahead):
        spent += seconds
        if spent > available_seconds:
            return count
    return len(seconds_ahead)


def steps_in_one_epoch(examples: int, args) -> int:
    """Optimizer steps that one pass over `examples` gives (incomplete batches not counted)."""
    return examples // (args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps)


def reschedule(scheduler, args, warmup_steps: int, total_steps: int) -> None:
    """Make a LambdaLR learning-rate schedule (accelerate's wrapper or not) follow `args.lr_scheduler_type` over
    `total_steps` from its current step on, as if it had been built for that total; sets the current rates."""
    import torch
    from transformers import get_scheduler

    inner = getattr(scheduler, "scheduler", scheduler)
    if not isinstance(inner, torch.optim.lr_scheduler.LambdaLR):
        raise TypeError(f"only a LambdaLR schedule can be re-planned, got {type(inner).__name__}")
    reference = get_scheduler(
        args.lr_scheduler_type,
        optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0),
        num_warmup_steps=warmup_steps,
        num_training_steps=total_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    inner.lr_lambdas = [reference.lr_lambdas[0]] * len(inner.optimizer.param_groups)
    rates = [base * rate(inner.last_epoch) for base, rate in zip(inner.base_lrs, inner.lr_lambdas, strict=True)]
    for group, rate in zip(inner.optimizer.param_groups, rates, strict=True):
        group["lr"] = rate
    inner._last_lr = rates
