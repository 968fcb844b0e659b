"""Runs sized to a wall-clock budget: re-planning the steps from the run's own first steps, and its schedule."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tqdm import tqdm
from transformers import TrainerControl, TrainerState, TrainingArguments, get_scheduler

from rewardkit.training import time_budget
from rewardkit.training.length_grouping import EpochSeededLengthGroupedSampler
from rewardkit.training.time_budget import (
    ReplanFromMeasuredSteps,
    StopAtDeadline,
    batch_costs,
    reschedule,
    steps_in_one_epoch,
    steps_that_fit,
)

SECONDS_PER_STEP = 2.0
BATCH = 8


def _arguments(tmp_path) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=BATCH,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        learning_rate=1e-3,
        use_cpu=True,
        report_to=[],
    )


def _optimizer() -> torch.optim.Optimizer:
    weights, bias = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    return torch.optim.AdamW([{"params": [weights]}, {"params": [bias], "weight_decay": 0.0}], lr=1e-3)


def _schedule(optimizer, args, warmup: int, total: int):
    return get_scheduler(
        args.lr_scheduler_type, optimizer=optimizer, num_warmup_steps=warmup, num_training_steps=total
    )


def _rates_over(scheduler, optimizer, steps: int) -> list[float]:
    """The rate of each param group at each of the next `steps` optimizer steps, flat (step-major)."""
    rates = []
    for _ in range(steps):
        rates += [group["lr"] for group in optimizer.param_groups]
        optimizer.step()
        scheduler.step()
    return rates


def test_a_rescheduled_run_follows_the_schedule_built_for_its_new_total(tmp_path):
    args = _arguments(tmp_path)
    optimizer = _optimizer()
    scheduler = _schedule(optimizer, args, warmup=2, total=10)
    _rates_over(scheduler, optimizer, 4)

    reschedule(scheduler, args, warmup_steps=2, total_steps=25)

    reference_optimizer = _optimizer()
    reference = _schedule(reference_optimizer, args, warmup=2, total=25)
    expected = _rates_over(reference, reference_optimizer, 25)[2 * 4 :]
    assert _rates_over(scheduler, optimizer, 21) == pytest.approx(expected)
    assert scheduler.get_last_lr() == pytest.approx([0.0, 0.0]), "the last step's rate is the schedule's end"


def test_reschedule_refuses_a_schedule_it_cannot_rebuild(tmp_path):
    optimizer = _optimizer()
    with pytest.raises(TypeError, match="StepLR"):
        reschedule(torch.optim.lr_scheduler.StepLR(optimizer, 5), _arguments(tmp_path), 0, 10)


def test_steps_in_one_epoch_counts_full_batches_only(tmp_path):
    assert steps_in_one_epoch(8 * 12 + 5, _arguments(tmp_path)) == 12


def _fake_clock(monkeypatch) -> None:
    """time.perf_counter advances SECONDS_PER_STEP between a step's begin and end; time.monotonic reads 0."""
    ticks = itertools.count()
    monkeypatch.setattr(time_budget.time, "perf_counter", lambda: SECONDS_PER_STEP * next(ticks))
    monkeypatch.setattr(time_budget.time, "monotonic", lambda: 0.0)


def _run_steps(replan: ReplanFromMeasuredSteps, args, planned: int, steps: int, examples: int, sampler=None):
    """Drive the callback through `steps` optimizer steps of a run planned for `planned`, as the Trainer would (its
    train sampler made by `sampler()`; random order when None)."""
    optimizer = _optimizer()
    scheduler = _schedule(optimizer, args, warmup=args.get_warmup_steps(planned), total=planned)
    bar = tqdm(total=planned, disable=True)
    trainer = SimpleNamespace(
        train_dataset=list(range(examples)),
        lr_scheduler=scheduler,
        callback_handler=SimpleNamespace(callbacks=[SimpleNamespace(training_bar=bar)]),
        _get_train_sampler=lambda dataset: sampler() if sampler else None,
    )
    replan.bind_trainer(trainer)
    state, control = TrainerState(max_steps=planned), TrainerControl()
    for _ in range(steps):
        replan.on_step_begin(args, state, control)
        optimizer.step()
        scheduler.step()
        state.global_step += 1
        replan.on_step_end(args, state, control)
    return state, scheduler, bar


def test_a_run_whose_steps_are_faster_than_the_probe_grows_to_fill_the_budget(tmp_path, monkeypatch):
    _fake_clock(monkeypatch)
    args, stop = _arguments(tmp_path), StopAtDeadline(deadline=100.0)
    replan = ReplanFromMeasuredSteps(stop, 40.0, after_steps=6, floor_steps=3, ceiling_steps=500, slack=1.25)

    state, scheduler, bar = _run_steps(replan, args, planned=10, steps=6, examples=BATCH * 200)

    assert state.max_steps == bar.total == 6 + 20, "40 s left at 2 s a step: 20 more steps"
    (replan_record,) = replan.replans
    assert replan_record.planned_steps == 10 and replan_record.seconds_per_step == SECONDS_PER_STEP
    assert replan_record.timed_steps == "2..6"
    assert stop.deadline == 40.0, "steps chosen to fill the budget get no slack past its deadline"
    reference_optimizer = _optimizer()
    reference = _schedule(reference_optimizer, args, warmup=args.get_warmup_steps(10), total=26)
    expected_next = _rates_over(reference, reference_optimizer, 7)[2 * 6 :]
    assert [group["lr"] for group in scheduler.optimizer.param_groups] == pytest.approx(expected_next)


def test_a_run_cannot_grow_past_its_data_or_the_ceiling(tmp_path, monkeypatch):
    _fake_clock(monkeypatch)
    args = _arguments(tmp_path)
    by_data = ReplanFromMeasuredSteps(StopAtDeadline(1e9), 1e6, 6, floor_steps=3, ceiling_steps=500, slack=1.25)
    assert _run_steps(by_data, args, planned=10, steps=6, examples=BATCH * 30 + 7)[0].max_steps == 30

    _fake_clock(monkeypatch)
    by_ceiling = ReplanFromMeasuredSteps(StopAtDeadline(1e9), 1e6, 6, floor_steps=3, ceiling_steps=12, slack=1.25)
    assert _run_steps(by_ceiling, args, planned=10, steps=6, examples=BATCH * 30)[0].max_steps == 12


def test_a_slower_run_shrinks_but_keeps_its_floor_and_the_floors_time(tmp_path, monkeypatch):
    _fake_clock(monkeypatch)
    args, stop = _arguments(tmp_path), StopAtDeadline(deadline=20.0)
    replan = ReplanFromMeasuredSteps(stop, 10.0, after_steps=6, floor_steps=16, ceiling_steps=500, slack=1.25)

    state, _, bar = _run_steps(replan, args, planned=50, steps=6, examples=BATCH * 200)

    assert state.max_steps == bar.total == 16, "only 5 more steps fit; the floor of 16 holds"
    assert stop.deadline == pytest.approx(1.25 * 10 * SECONDS_PER_STEP), "the floor's 10 steps get their time"


def test_a_run_that_ends_before_the_replan_is_left_alone(tmp_path, monkeypatch):
    _fake_clock(monkeypatch)
    replan = ReplanFromMeasuredSteps(StopAtDeadline(1e9), 1e6, 6, floor_steps=1, ceiling_steps=500, slack=1.25)
    state, _, _ = _run_steps(replan, _arguments(tmp_path), planned=4, steps=4, examples=BATCH * 200)
    assert state.max_steps == 4 and replan.replans == []


def test_the_replan_needs_a_warm_up_step_and_a_timed_one():
    with pytest.raises(ValueError, match="after_steps must be >= 2"):
        ReplanFromMeasuredSteps(StopAtDeadline(1.0), 1.0, after_steps=1, floor_steps=1, ceiling_steps=2, slack=1.0)


def _length_grouped(lengths: list[int]):
    return lambda: EpochSeededLengthGroupedSampler(BATCH, lengths, seed=0)


def test_batch_costs_are_the_padded_tokens_of_each_batch_in_the_samplers_order(tmp_path):
    lengths = [10 + (index * 37) % 90 for index in range(8 * 40)]
    make = _length_grouped(lengths)
    order = list(make())
    trainer = SimpleNamespace(train_dataset=lengths, _get_train_sampler=lambda dataset: make())

    costs = batch_costs(trainer, _arguments(tmp_path))

    assert len(costs) == 40
    assert costs == [BATCH * max(lengths[i] for i in order[start : start + BATCH]) for start in range(0, 320, BATCH)]
    assert costs[0] == BATCH * max(lengths), "the longest batch comes first"
    random_order = SimpleNamespace(train_dataset=lengths, _get_train_sampler=lambda dataset: None)
    assert batch_costs(random_order, _arguments(tmp_path)) is None


def test_steps_that_fit_walks_the_seconds_ahead():
    assert steps_that_fit(10.0, [4.0, 4.0, 4.0]) == 2
    assert steps_that_fit(12.0, [4.0, 4.0, 4.0]) == 3
    assert steps_that_fit(3.0, [4.0, 4.0]) == 0


def _clock_of_steps(monkeypatch, step_seconds: list[float]) -> None:
    """time.perf_counter and time.monotonic read one simulated clock on which step i takes step_seconds[i]."""
    ends = np.cumsum(step_seconds)
    readings = iter([value for start, end in zip([0.0, *ends[:-1]], ends, strict=True) for value in (start, end)])
    now = [0.0]

    def perf_counter() -> float:
        now[0] = float(next(readings))
        return now[0]

    monkeypatch.setattr(time_budget.time, "perf_counter", perf_counter)
    monkeypatch.setattr(time_budget.time, "monotonic", lambda: now[0])


def test_with_the_batches_ahead_known_a_step_is_predicted_by_the_mean_of_per_token_and_per_step(tmp_path, monkeypatch):
    """Longest batches first, and a step costs a fixed 0.5 s plus its padded tokens: per padded token alone predicts
    the shorter steps ahead too fast, per step alone too slow; the plan follows their mean, between the two."""
    rate, fixed = 0.004, 0.5
    lengths = [10 + (index * 37) % 90 for index in range(8 * 100)]
    make = _length_grouped(lengths)
    order = list(make())
    costs = [BATCH * max(lengths[i] for i in order[start : start + BATCH]) for start in range(0, len(order), BATCH)]
    _clock_of_steps(monkeypatch, [fixed + rate * cost for cost in costs])
    args, budget = _arguments(tmp_path), 100.0
    replan = ReplanFromMeasuredSteps(StopAtDeadline(budget), budget, 6, floor_steps=3, ceiling_steps=500, slack=1.0)

    state, _, _ = _run_steps(replan, args, planned=10, steps=6, examples=len(lengths), sampler=make)

    timed = [fixed + rate * cost for cost in costs[1:6]]
    per_token = float(np.median([seconds / cost for seconds, cost in zip(timed, costs[1:6], strict=True)]))
    per_step = float(np.median(timed))
    available = budget - sum(fixed + rate * cost for cost in costs[:6])
    assert replan.replans[0].seconds_per_token == pytest.approx(per_token)

    def planned_by(seconds_ahead) -> int:
        return 6 + int((np.cumsum(seconds_ahead) <= available).sum())

    blend = planned_by([(per_token * cost + per_step) / 2 for cost in costs[6:]])
    assert state.max_steps == blend
    assert planned_by([per_step] * len(costs[6:])) < blend < planned_by([per_token * cost for cost in costs[6:]])


def test_a_run_replans_again_from_the_steps_since_the_replan_before(tmp_path, monkeypatch):
    """The machine slows from 2 s to 4 s a step after step 10: the re-plan after step 6 grows the run to fill the
    budget at 2 s; the one at half that run times steps 7..25 (median 4 s) and shrinks it to end at the deadline;
    the schedule follows each total."""
    _clock_of_steps(monkeypatch, [2.0] * 10 + [4.0] * 40)
    args, stop = _arguments(tmp_path), StopAtDeadline(deadline=100.0)
    replan = ReplanFromMeasuredSteps(stop, 100.0, 6, floor_steps=3, ceiling_steps=500, slack=1.0, again_at=(0.8, 0.5))

    state, scheduler, bar = _run_steps(replan, args, planned=10, steps=30, examples=BATCH * 200)

    first, again = replan.replans
    assert (first.timed_steps, first.total_steps) == ("2..6", 6 + 88 // 2)
    assert (again.after_steps, again.timed_steps, again.seconds_per_step) == (25, "7..25", 4.0)
    assert again.planned_steps == 50 and state.max_steps == bar.total == again.total_steps == 25 + 20 // 4
    assert scheduler.get_last_lr() == pytest.approx([0.0, 0.0]), "the schedule ends with the last step"


def test_each_fraction_replans_once_and_never_from_fewer_steps_than_the_first_replan_timed(tmp_path, monkeypatch):
    """Steps speed up from 2 s to 1 s after step 30, so the re-plan at 80% grows the run; 80% of the new total lies
    ahead again, yet 80% is used up: the next re-plan is at 95%. 55% of the run, 3 steps after the 50% re-plan, would
    time too few steps and is dropped."""
    _clock_of_steps(monkeypatch, [2.0] * 30 + [1.0] * 50)
    args = _arguments(tmp_path)
    replan = ReplanFromMeasuredSteps(
        StopAtDeadline(100.0), 100.0, 6, floor_steps=3, ceiling_steps=500, slack=1.0, again_at=(0.5, 0.55, 0.8, 0.95)
    )

    state, _, _ = _run_steps(replan, args, planned=10, steps=70, examples=BATCH * 200)

    assert [(each.after_steps, each.total_steps) for each in replan.replans] == [(6, 50), (25, 50), (40, 70), (66, 70)]
    assert [each.change() for each in replan.replans[:2]] == ["50 steps instead of 10", "kept 50 steps"]
    assert state.max_steps == 70


def test_the_later_replans_must_be_fractions_of_the_run():
    with pytest.raises(ValueError, match="again_at"):
        ReplanFromMeasuredSteps(StopAtDeadline(1.0), 1.0, 6, 1, 2, slack=1.0, again_at=(1.0,))


def test_a_run_that_may_go_past_its_first_epoch_is_timed_per_step(tmp_path, monkeypatch):
    """The batches are known ahead for the first epoch only: a run planned past it is re-planned from the median step
    (not cut to the epoch's known batches), at every re-plan."""
    lengths = [10 + (index * 37) % 90 for index in range(8 * 10)]  # 10 steps an epoch
    _clock_of_steps(monkeypatch, [2.0] * 30)
    replan = ReplanFromMeasuredSteps(StopAtDeadline(1e9), 1e9, 6, 3, 500, slack=1.0, again_at=(0.5,))

    state, _, _ = _run_steps(
        replan, _arguments(tmp_path), planned=24, steps=13, examples=len(lengths), sampler=_length_grouped(lengths)
    )

    assert [(each.after_steps, each.total_steps) for each in replan.replans] == [(6, 24), (12, 24)]
    assert all(each.seconds_per_token is None for each in replan.replans) and state.max_steps == 24
