"""`rewardkit generate`: sample N candidates per math question and write Best-of-N JSONL with gold correctness."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.bon_data import (
    DEFAULT_MATH_INSTRUCTION,
    BonItem,
    build_bon_items,
    math_prompt,
    read_math_questions,
    write_bon_jsonl,
)
from rewardkit.inference.engine import create_engine, registered_engines


def describe(items: list[BonItem], seconds: float) -> str:
    """One line: counts, mean correctness, pass@N and throughput."""
    candidates = sum(len(item.candidates) for item in items)
    accuracy = float(np.mean([flag for item in items for flag in item.correct]))
    pass_at_n = float(np.mean([any(item.correct) for item in items]))
    return (
        f"{len(items)} prompts x {candidates // len(items)} candidates in {seconds:.1f} s "
        f"({candidates / seconds:.2f} candidates/s); correct {accuracy:.1%}, any correct (pass@N) {pass_at_n:.1%}"
    )


def generate_command(
    data: Annotated[Path, typer.Option(help="GSM8K-style JSONL: id, question (or prompt), answer and/or solution.")],
    out: Annotated[Path, typer.Option(help="Output Best-of-N JSONL (id, prompt, candidates, correct, ...).")],
    model: Annotated[str, typer.Option(help="Causal LM spec: default, a directory, a GGUF file or a Hub id.")] = (
        "default"
    ),
    num_samples: Annotated[
        int, typer.Option("--num-samples", "--n", min=1, help="Candidates per question (--n: older name).")
    ] = 16,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N questions.")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Token budget per candidate.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature (> 0).")] = 0.8,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus sampling mass.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    engine: Annotated[str, typer.Option(help=f"Generation engine: {', '.join(registered_engines())}.")] = "hf",
    instruction: Annotated[str, typer.Option(help="Appended to each question.")] = DEFAULT_MATH_INSTRUCTION,
    progress: Annotated[bool, typer.Option(help="Show a progress bar with ETA.")] = True,
) -> None:
    """Sample candidates from a causal LM for math questions; `correct` comes from the final-answer checker."""
    from rewardkit.inference.candidates import SamplingConfig, sample_candidates
    from rewardkit.models.loading import load_tokenizer

    try:
        config = SamplingConfig(
            num_samples=num_samples, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed
        )
        questions = read_math_questions(data, limit=limit)
        tokenizer = load_tokenizer(model)
        generation_engine = create_engine(engine, model)
        started = time.perf_counter()
        prompts = [math_prompt(question.question, instruction) for question in questions]
        candidates = sample_candidates(generation_engine, tokenizer, prompts, config, progress=progress)
    except USER_ERRORS as error:
        fail(error)
    generation = {"model": model, **dataclasses.asdict(config)}
    items = build_bon_items(questions, candidates, generation, instruction=instruction)
    write_bon_jsonl(items, out)
    typer.echo(f"{describe(items, time.perf_counter() - started)}. Wrote {out}")


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit generate` to the CLI."""
    app.command("generate")(generate_command)
