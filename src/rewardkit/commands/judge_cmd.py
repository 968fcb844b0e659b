"""`rewardkit judge`: run a generative judge over a data file and write one JSON line per row.

Pairwise templates read preference pairs (prompt/chosen/rejected); the chosen response is shown first in a seeded
half of the rows, so a judge's position bias cannot score. Pointwise templates read rows with prompt/response
(e.g. train/autoj_critiques.jsonl) and write ratings, next to the row's gold `score` when it has one; the summary
line then adds agreement with gold (Pearson, Spearman, exact, within one; parse failures counted, not scored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from tqdm.auto import tqdm

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.readers import read_pairs, read_pointwise_rows
from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import assign_positions
from rewardkit.inference.voting import AGGREGATES, STOP_RULES
from rewardkit.protocol import Preference, RewardModel, Score, UnsupportedOperation

JUDGE_CHUNK = 8


def _references(judge: RewardModel, pairs: list[PreferencePair]) -> dict[str, list[str]]:
    """`references=` for a judge that judges against references, else nothing."""
    return {"references": [pair.reference_answer() for pair in pairs]} if judge.capabilities.references else {}


def preference_record(preference: Preference) -> dict[str, Any]:
    """How a judged pair was read: order agreement, readability, forced votes, the per-order readings, and the
    family's own meta."""
    diagnostics = preference.diagnostics
    return {
        "orders_agree": diagnostics.orders_agree,
        "unreadable": diagnostics.unreadable,
        "forced_votes": sum(order.votes.forced for order in diagnostics.orders),
        "orders": [asdict(order) for order in diagnostics.orders],
        "meta": preference.meta,
    }


def score_record(score: Score) -> dict[str, Any]:
    """How a rating was read: readability, forced votes, the votes, and the family's own meta."""
    votes = score.votes
    return {
        "unreadable": None if votes is None else votes.unreadable,
        "forced_votes": 0 if votes is None else votes.forced,
        "votes": None if votes is None else list(votes.verdicts),
        "meta": score.meta,
    }


def judge_pairs(judge: RewardModel, pairs: list[PreferencePair], seed: int) -> Iterator[dict[str, Any]]:
    """One output record per pair, oriented to the chosen response."""
    from rewardkit.evaluation.rewardbench import correctness

    chosen_first = assign_positions(len(pairs), seed)
    for start in range(0, len(pairs), JUDGE_CHUNK):
        chunk = pairs[start : start + JUDGE_CHUNK]
        first = chosen_first[start : start + JUDGE_CHUNK]
        responses_a = [p.chosen if f else p.rejected for p, f in zip(chunk, first, strict=True)]
        responses_b = [p.rejected if f else p.chosen for p, f in zip(chunk, first, strict=True)]
        references = _references(judge, chunk)
        preferences = judge.compare([p.prompt for p in chunk], responses_a, responses_b, **references)
        for pair, is_first, preference in zip(chunk, first, preferences, strict=True):
            p_chosen = preference.p_a_better if is_first else 1.0 - preference.p_a_better
            yield {
                "id": pair.id,
                "subset": pair.subset,
                "category": pair.category,
                "chosen_first": bool(is_first),
                "p_chosen": p_chosen,
                "correct": float(correctness([p_chosen], judge.tie_credit)[0]),
                "rationale": preference.rationale,
            } | preference_record(preference)


def judge_points(judge: RewardModel, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One output record per pointwise row: the rating, the gold score when present."""
    for start in range(0, len(rows), JUDGE_CHUNK):
        chunk = rows[start : start + JUDGE_CHUNK]
        references = {"references": [row.get("reference") for row in chunk]} if judge.capabilities.references else {}
        scores = judge.score([row["prompt"] for row in chunk], [row["response"] for row in chunk], **references)
        for row, score in zip(chunk, scores, strict=True):
            yield {
                "id": row["id"],
                "rating": score.value,
                "gold_score": row.get("score"),
                "rationale": score.text,
            } | score_record(score)


def summarize(records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Accuracy / consistency / unreadable verdicts / speed over the written records."""
    n = len(records)
    consistent = [record["orders_agree"] for record in records if record.get("orders_agree") is not None]
    summary: dict[str, Any] = {
        "rows": n,
        "seconds": round(seconds, 2),
        "rows_per_second": round(n / seconds, 3) if seconds > 0 else None,
        "unreadable_rows": sum(bool(record.get("unreadable")) for record in records),
        "forced_votes": sum(record.get("forced_votes", 0) for record in records),
    }
    if records and "correct" in records[0]:
        summary["accuracy"] = sum(record["correct"] for record in records) / n
    if consistent:
        summary["position_consistency"] = sum(consistent) / len(consistent)
    rated = [record for record in records if record.get("gold_score") is not None]
    if rated:
        summary |= _agreement_summary(rated)
    return summary


def _agreement_summary(rated: list[dict[str, Any]]) -> dict[str, Any]:
    """Agreement of the ratings with the rows' gold scores, or why it cannot be computed (a non-numeric gold)."""
    from rewardkit.metrics.agreement import gold_rating, rating_agreement

    try:
        gold = [gold_rating(record["gold_score"], f"row {record['id']!r}") for record in rated]
    except ValueError as error:
        return {"agreement_error": str(error)}
    failed = [bool(record.get("unreadable")) for record in rated]
    return {"agreement": asdict(rating_agreement([record["rating"] for record in rated], gold, failed))}


def judge_command(
    model: Annotated[str, typer.Option(help="Judge model spec: default, a model directory, a GGUF file, a Hub id.")],
    data: Annotated[str, typer.Option(help="Pairs (prompt/chosen/rejected) or, for pointwise, prompt/response rows.")],
    out: Annotated[Path, typer.Option(help="Output JSONL, one judged row per line.")],
    template: Annotated[str, typer.Option(help="Judge template name (see --templates-file to add or override).")] = (
        "pairwise"
    ),
    templates_file: Annotated[
        Path | None, typer.Option(help="YAML with templates to register first (same name replaces a built-in).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="sample (write and parse verdicts) or logprob (verdict probs).")
    ] = "sample",
    num_samples: Annotated[
        int,
        typer.Option("--num-samples", "--k", min=1, help="Samples per judged prompt (sample mode; --k: older name)."),
    ] = 1,
    both_orders: Annotated[bool, typer.Option("--both-orders/--one-order", help="Judge both orders.")] = True,
    aggregate: Annotated[str, typer.Option(help=f"Vote aggregation: {', '.join(AGGREGATES)}.")] = "majority",
    early_stop: Annotated[str, typer.Option(help=f"Early stopping: {', '.join(STOP_RULES)}.")] = "majority",
    engine: Annotated[str, typer.Option(help="Engine: hf, vllm or llamacpp.")] = "hf",
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Token budget per written judgement.")] = 256,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature (default: 0 if --num-samples 1 else 0.7).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge only the first N rows.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for response positions and sampling.")] = 0,
) -> None:
    """Judge pairs (or rate responses) with an LLM judge; per-row JSONL plus a summary line."""
    from rewardkit.families.registry import load_reward_model

    options = {
        "template": template,
        "mode": mode,
        "num_samples": num_samples,
        "both_orders": int(both_orders),
        "aggregate": aggregate,
        "early_stop": early_stop,
        "engine": engine,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "seed": seed,
    } | ({} if templates_file is None else {"templates_file": templates_file})
    started = time.perf_counter()
    try:
        judge = load_reward_model(f"judge:{model}?{urlencode(options)}")
        pointwise = judge.capabilities.score  # a pointwise template rates; a pairwise one only compares
        rows = read_pointwise_rows(data, limit) if pointwise else read_pairs(data, limit=limit).pairs
        records = judge_points(judge, rows) if pointwise else judge_pairs(judge, rows, seed)
        written = _write_jsonl(tqdm(records, total=len(rows), desc="judging", unit="row"), out)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(json.dumps(summarize(written, time.perf_counter() - started)))


def _write_jsonl(records, path: Path) -> list[dict[str, Any]]:
    """Write records as they come (a crash keeps what was judged) and return them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with path.open("w") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            written.append(record)
    return written


def agreement_command(
    judge: Annotated[
        str,
        typer.Option(
            help="A judge reward-model spec: a saved judge directory, or e.g. "
            "'judge:default?template=pointwise-1-10&max_new_tokens=128'."
        ),
    ],
    data: Annotated[
        str, typer.Option(help="Rows with prompt, response and a gold `score` (e.g. OUTPUT/heldout.jsonl).")
    ],
    out: Annotated[Path | None, typer.Option(help="Also write one judged row per line here.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge only the first N rows.")] = None,
) -> None:
    """Agreement of a pointwise judge with gold ratings: Pearson, Spearman, exact and within one (a summary line)."""
    from rewardkit.families.registry import load_reward_model

    started = time.perf_counter()
    try:
        model = load_reward_model(judge)
        if not model.capabilities.score:
            raise UnsupportedOperation(
                f"{judge!r} cannot rate responses (no pointwise template): agreement needs ratings"
            )
        rows = read_pointwise_rows(data, limit)
        records = list(tqdm(judge_points(model, rows), total=len(rows), desc="rating", unit="row"))
        if out is not None:
            _write_jsonl(records, out)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(json.dumps(summarize(records, time.perf_counter() - started)))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit judge` and `rewardkit judge-agreement` to the CLI."""
    app.command("judge")(judge_command)
    app.command("judge-agreement")(agreement_command)
