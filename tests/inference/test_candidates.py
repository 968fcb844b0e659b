"""Candidate sampling through a GenerationEngine, Best-of-N records from it, and `rewardkit generate`."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from rewardkit.commands import generate_cmd
from rewardkit.data.bon_data import MathQuestion, build_bon_items, read_bon_jsonl
from rewardkit.data.math_answers import is_correct
from rewardkit.inference.candidates import SamplingConfig, encode_prompts, sample_candidates
from rewardkit.inference.hf_engine import HFEngine
from rewardkit.models.loading import load_tokenizer


class RecordingEngine:
    """Returns token ids [prompt index, sample index] and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int | None]] = []
        self.offset = 0

    def generate(self, prompt_ids, num_samples, params, stop_early=None):
        self.calls.append((len(prompt_ids), num_samples, params.seed))
        samples = [[[self.offset + p, 10 + s] for s in range(num_samples)] for p in range(len(prompt_ids))]
        self.offset += len(prompt_ids)
        return samples

    def next_token_logprobs(self, prompt_ids, candidate_ids):
        raise NotImplementedError


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


def test_batches_prompts_and_gives_each_call_its_own_seed(tiny_tokenizer):
    engine = RecordingEngine()
    config = SamplingConfig(num_samples=2, seed=7, sequences_per_call=4)
    candidates = sample_candidates(engine, tiny_tokenizer, ["a", "b", "c"], config, progress=False)
    assert engine.calls == [(2, 2, 7), (1, 2, 8)]
    assert [len(texts) for texts in candidates] == [2, 2, 2]
    decoded = [tiny_tokenizer.decode([2, 10 + s], skip_special_tokens=True).strip() for s in range(2)]
    assert candidates[2] == decoded


def test_prompts_go_through_the_chat_template(tiny_tokenizer):
    [ids] = encode_prompts(tiny_tokenizer, ["What is 12 plus 7?"])
    assert tiny_tokenizer.decode(ids) == "<|im_start|>user\nWhat is 12 plus 7?<|im_end|>\n<|im_start|>assistant\n"


def test_sampling_config_rejects_greedy_and_empty():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        SamplingConfig(temperature=0.0)
    with pytest.raises(ValueError, match=">= 1"):
        SamplingConfig(num_samples=0)


def test_tiny_model_shapes_and_seeded_reproducibility(tiny_model_dir, tiny_tokenizer):
    engine = HFEngine.from_spec(str(tiny_model_dir), device="cpu")
    config = SamplingConfig(num_samples=3, max_new_tokens=6, temperature=1.0, seed=1)
    prompts = ["What is 12 plus 7?", [{"role": "user", "content": "Reverse abc"}]]
    first = sample_candidates(engine, tiny_tokenizer, prompts, config, progress=False)
    again = sample_candidates(engine, tiny_tokenizer, prompts, config, progress=False)
    assert [len(texts) for texts in first] == [3, 3]
    assert all(isinstance(text, str) for texts in first for text in texts)
    assert first == again


def test_build_bon_items_marks_correct_candidates():
    question = MathQuestion(id="g1", question="6*12?", answer="72", solution="6*12=72\n#### 72")
    generation = {"model": "m", "num_samples": 3}
    [item] = build_bon_items([question], [["so #### 72", "The answer is 70.", "72.0 clips"]], generation)
    assert item.correct == [True, False, True]
    assert item.prompt.startswith("6*12?\n\n") and item.answer == "72" and item.reference == question.solution
    assert item.extra["generation"]["model"] == "m" and item.extra["generation"]["num_samples"] == 3
    assert item.extra["generation"]["instruction"].startswith("Solve the problem")


def test_generate_command_writes_the_bon_schema(tiny_model_dir, tmp_path):
    data = tmp_path / "gsm8k.jsonl"
    rows = [{"id": f"g{i}", "question": f"What is {i} plus 7?", "solution": f"#### {i + 7}"} for i in range(3)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    app, train_app = typer.Typer(), typer.Typer()
    app.add_typer(train_app, name="train")
    generate_cmd.register(app, train_app)
    out = tmp_path / "bon.jsonl"
    args = ["generate", "--model", str(tiny_model_dir), "--data", str(data), "--n", "2", "--limit", "2"]
    outcome = CliRunner().invoke(app, [*args, "--max-new-tokens", "5", "--out", str(out), "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    items = read_bon_jsonl(out)
    assert [item.id for item in items] == ["g0", "g1"]
    assert all(len(item.candidates) == 2 and len(item.correct) == 2 for item in items)
    assert [item.answer for item in items] == ["7", "8"]
    assert all(item.correct == [is_correct(c, item.answer) for c in item.candidates] for item in items)
    assert "2 prompts x 2 candidates" in outcome.output
