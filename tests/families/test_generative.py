import json
import re

import pytest
import torch
import typer
from typer.testing import CliRunner

from rewardkit.commands import judge_cmd
from rewardkit.data.schema import PreferencePair
from rewardkit.evaluation.probes import PROBE_KEYS
from rewardkit.evaluation.rewardbench import evaluate_pairs
from rewardkit.families.generative import GenerativeJudge, JudgeConfig, parse_judge_options, write_judge_manifest
from rewardkit.families.judge_templates import get_template
from rewardkit.families.registry import load_reward_model
from rewardkit.families.verdicts import verdict_token_ids
from rewardkit.models.loading import load_tokenizer
from rewardkit.protocol import Capabilities, RewardModel, UnsupportedOperation
from tests.conftest import REPO_ROOT

ANSWER = re.compile(r"\[The Start of Assistant (A|B)'s Answer\]\n(.*?)\n\[The End", re.S)


class ScriptedEngine:
    """A GenerationEngine that writes `rule(prompt_text, sample_index)` and honours the early-stop hook."""

    def __init__(self, tokenizer, rule):
        self.tokenizer, self.rule = tokenizer, rule
        self.calls: list[list[str]] = []

    def generate(self, prompt_ids, num_samples, params, stop_early=None):
        prompts = [self.tokenizer.decode(ids) for ids in prompt_ids]
        self.calls.append(prompts)
        results = []
        for index, prompt in enumerate(prompts):
            samples = []
            for drawn in range(1, num_samples + 1):
                samples.append(self.tokenizer(self.rule(prompt, drawn - 1), add_special_tokens=False)["input_ids"])
                if (
                    drawn < num_samples
                    and stop_early is not None
                    and stop_early(index, list(samples), num_samples - drawn)
                ):
                    break
            results.append(samples)
        return results

    def next_token_logprobs(self, prompt_ids, candidate_ids):
        raise AssertionError("sample mode must not score verdict tokens")


def answers(prompt: str) -> dict[str, str]:
    return dict(ANSWER.findall(prompt))


def picks_good(prompt, _):
    return "Weighing both.\n" + ("[[A]]" if "good" in answers(prompt)["A"] else "[[B]]")


def always_first(prompt, _):
    return "The first one.\n[[A]]"


def rambles(prompt, _):
    return "Both have merits; [[A]] or [[B]]?"


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


def scripted_judge(tiny_model_dir, tokenizer, rule, **options):
    engine = ScriptedEngine(tokenizer, rule)
    return GenerativeJudge(str(tiny_model_dir), engine=engine, tokenizer=tokenizer, **options), engine


def test_judge_is_a_reward_model(tiny_model_dir, tokenizer):
    judge, _ = scripted_judge(tiny_model_dir, tokenizer, picks_good)
    assert isinstance(judge, RewardModel)
    assert judge.tie_credit == 0.5


def test_both_orders_in_one_batch_and_consistent_judge(tiny_model_dir, tokenizer):
    judge, engine = scripted_judge(tiny_model_dir, tokenizer, picks_good)
    good_first, good_second = judge.compare(["q1", "q2"], ["good answer", "bad answer"], ["bad answer", "good answer"])
    assert good_first.p_a_better == 1.0 and good_second.p_a_better == 0.0
    assert good_first.diagnostics.orders_agree and good_second.diagnostics.orders_agree
    assert [order.p_a_better for order in good_first.diagnostics.orders] == [1.0, 1.0]
    (call,) = engine.calls  # both orders of both pairs in the same engine call
    assert [answers(prompt)["A"] for prompt in call] == ["good answer", "bad answer", "bad answer", "good answer"]
    assert good_first.rationale == "Weighing both."


def test_position_bias_is_averaged_out_and_flagged(tiny_model_dir, tokenizer):
    judge, _ = scripted_judge(tiny_model_dir, tokenizer, always_first)
    (preference,) = judge.compare(["q"], ["good answer"], ["bad answer"])
    assert preference.p_a_better == 0.5
    assert [order.p_a_better for order in preference.diagnostics.orders] == [1.0, 0.0]
    assert preference.diagnostics.orders_agree is False
    one_order, _ = scripted_judge(tiny_model_dir, tokenizer, always_first, both_orders=False)
    (biased,) = one_order.compare(["q"], ["good answer"], ["bad answer"])
    assert biased.p_a_better == 1.0 and biased.diagnostics.orders_agree is None


def test_failed_parses_score_a_tie_and_are_counted(tiny_model_dir, tokenizer):
    judge, _ = scripted_judge(tiny_model_dir, tokenizer, rambles, num_samples=3)
    (preference,) = judge.compare(["q"], ["good answer"], ["bad answer"])
    assert preference.p_a_better == 0.5
    assert preference.diagnostics.unreadable is True
    assert [order.votes.verdicts for order in preference.diagnostics.orders] == [(None,) * 3] * 2
    assert preference.diagnostics.orders_agree is False


def test_majority_early_stop_saves_samples_without_changing_the_vote(tiny_model_dir, tokenizer):
    stopping, _ = scripted_judge(tiny_model_dir, tokenizer, picks_good, num_samples=5)
    exhaustive, _ = scripted_judge(tiny_model_dir, tokenizer, picks_good, num_samples=5, early_stop="none")
    (stopped,) = stopping.compare(["q"], ["good answer"], ["bad answer"])
    (full,) = exhaustive.compare(["q"], ["good answer"], ["bad answer"])
    assert [len(order.votes.verdicts) for order in stopped.diagnostics.orders] == [3, 3]  # 3-0, 2 to go: decided
    assert [len(order.votes.verdicts) for order in full.diagnostics.orders] == [5, 5]
    assert stopped.p_a_better == full.p_a_better == 1.0


def test_votes_are_aggregated_by_majority_or_mean(tiny_model_dir, tokenizer):
    def split_vote(prompt, index):
        return "[[A]]" if index in (0, 1) else "[[B]]"

    options = {"num_samples": 3, "both_orders": False, "early_stop": "none"}
    majority, _ = scripted_judge(tiny_model_dir, tokenizer, split_vote, **options)
    mean, _ = scripted_judge(tiny_model_dir, tokenizer, split_vote, aggregate="mean", **options)
    assert majority.compare(["q"], ["a"], ["b"])[0].p_a_better == 1.0
    assert mean.compare(["q"], ["a"], ["b"])[0].p_a_better == pytest.approx(2 / 3)
    (order,) = majority.compare(["q"], ["a"], ["b"])[0].diagnostics.orders
    assert order.votes.verdicts == ("A", "A", "B")


class PrefersSecondVerdict(ScriptedEngine):
    """A scripted writer whose verdict-token scores favour the second candidate; records the scored contexts."""

    def __init__(self, tokenizer, rule):
        super().__init__(tokenizer, rule)
        self.scored: list[str] = []

    def next_token_logprobs(self, prompt_ids, candidate_ids):
        self.scored += [self.tokenizer.decode(ids) for ids in prompt_ids]
        return [[-2.0, -0.1] + [-5.0] * (len(candidate_ids) - 2) for _ in prompt_ids]


def test_sample_judgements_returns_every_written_sample_parsed(tiny_model_dir, tokenizer):
    def alternating(prompt, index):
        return f"Sample {index}.\n[[{'AB'[index % 2]}]]" if index < 2 else "no verdict at all"

    judge, _ = scripted_judge(tiny_model_dir, tokenizer, alternating, num_samples=3, both_orders=False)
    texts = judge.pair_prompts("q", "a", "b")[0]
    (samples,) = judge.sample_judgements(texts, seed=5)
    assert [item.parsed.verdict for item in samples] == ["A", "B", None]
    assert samples[0].text == "Sample 0.\n[[A]]" and samples[0].parsed.rationale == "Sample 0."


def test_verdict_after_rationale_reads_the_verdict_token_of_rambling_judgements(tiny_model_dir, tokenizer):
    engine = PrefersSecondVerdict(tokenizer, lambda prompt, index: "It depends." if index else "Clear.\n[[A]]")
    judge = GenerativeJudge(
        str(tiny_model_dir),
        engine=engine,
        tokenizer=tokenizer,
        num_samples=3,
        both_orders=False,
        verdict_after_rationale=True,
        temperature=0.0,
    )
    (preference,) = judge.compare(["q"], ["a"], ["b"])
    (order,) = preference.diagnostics.orders
    assert order.votes.verdicts == ("A", "B", "B")  # no early stop: all 3 samples are read
    assert preference.diagnostics.unreadable is False and preference.p_a_better == 0.0
    assert order.votes.forced == 2
    assert len(engine.scored) == 2 and all(context.endswith("It depends.\n[[") for context in engine.scored)
    (samples,) = judge.sample_judgements(judge.pair_prompts("q", "a", "b")[0])
    assert [item.parsed.outcome for item in samples] == ["ok", "forced", "forced"]


class WritesTowards(ScriptedEngine):
    """Scores the candidate tokens by a target text per context: the next character of `target(context)` is likely."""

    def __init__(self, tokenizer, rule, target):
        super().__init__(tokenizer, rule)
        self.target, self.scored = target, []

    def next_token_logprobs(self, prompt_ids, candidate_ids):
        rows = []
        for ids in prompt_ids:
            context = self.tokenizer.decode(ids)
            self.scored.append(context)
            verdict_so_far = context.rsplit("Rating: [[", 1)[1]
            wanted = (self.target(context) + "]")[len(verdict_so_far)]
            rows.append([-0.1 if self.tokenizer.decode([token]) == wanted else -4.0 for token in candidate_ids])
        return rows


def test_verdict_after_rationale_reads_multi_token_ratings_on_the_scale(tiny_model_dir, tokenizer):
    engine = WritesTowards(
        tokenizer,
        lambda prompt, _: "Thorough." if "good" in prompt else "Hmm.",
        lambda c: "10" if "good" in c else "1",
    )
    judge = GenerativeJudge(
        str(tiny_model_dir),
        "pointwise-1-10",
        engine=engine,
        tokenizer=tokenizer,
        verdict_after_rationale=True,
        temperature=0.0,
    )
    assert len(tokenizer("10", add_special_tokens=False)["input_ids"]) > 1  # the multi-token path is the one run

    good, bad = judge.score(["q", "q"], ["a good answer", "a bad answer"])

    assert (good.value, good.votes.verdicts, good.votes.forced) == (10.0, ("10",), 1)
    assert (bad.value, bad.votes.verdicts, bad.votes.unreadable) == (1.0, ("1",), False)  # "1", then the end
    assert len(engine.scored) == 4 and all(context.rstrip("10").endswith("\nRating: [[") for context in engine.scored)


def test_logprob_mode_matches_a_manual_forward(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")  # fp32 throughout, so the comparison can be tight
    judge = GenerativeJudge(
        str(tiny_model_dir), template="pairwise-direct", mode="logprob", engine_options={"precision": "fp32"}
    )
    (preference,) = judge.compare(["What is 12 plus 7?"], ["19"], ["20"])
    candidates = verdict_token_ids(judge.tokenizer, judge.template)
    texts, cut = judge.pair_prompts("What is 12 plus 7?", "19", "20")
    assert cut == [] and all(text.endswith("<|im_start|>assistant\n[[") for text in texts)
    assert texts[0].index("19") < texts[0].index("20") and texts[1].index("20") < texts[1].index("19")
    manual = []
    for text in texts:
        ids = torch.tensor([judge.tokenizer(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logits = judge.engine.model(ids).logits[0, -1, candidates].float()
        manual.append(torch.softmax(logits, dim=-1).tolist())
    by_order = preference.meta["verdict_probs_by_order"]
    for probabilities, expected in zip(by_order, manual, strict=True):
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert list(probabilities.values()) == pytest.approx(expected, abs=1e-4)
    assert preference.p_a_better == pytest.approx((manual[0][0] + 1 - manual[1][0]) / 2, abs=1e-4)


def test_logprob_pointwise_score_is_the_expected_rating(tiny_model_dir):
    judge = GenerativeJudge(str(tiny_model_dir), template="pointwise-1-5", mode="logprob")
    (score,) = judge.score(["What is 12 plus 7?"], ["19"])
    probabilities = score.meta["rating_probs"]
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert score.value == pytest.approx(sum(int(r) * p for r, p in probabilities.items()))
    assert 1.0 <= score.value <= 5.0


def test_score_needs_a_pointwise_template(tiny_model_dir, tokenizer):
    judge, _ = scripted_judge(tiny_model_dir, tokenizer, picks_good)
    assert judge.capabilities == Capabilities(score=False, compare=True, references=False)
    with pytest.raises(UnsupportedOperation, match="score\\(\\) needs a pointwise template"):
        judge.score(["q"], ["a"])


def test_sampled_ratings_and_compare_through_ratings(tiny_model_dir, tokenizer):
    def rates(prompt, _):
        return "Fine.\nRating: [[9]]" if "good" in prompt else "Weak.\nRating: [[2]]"

    judge, _ = scripted_judge(tiny_model_dir, tokenizer, rates, template="pointwise-1-10")
    good, bad = judge.score(["q", "q"], ["good answer", "bad answer"])
    assert (good.value, bad.value) == (9.0, 2.0) and good.text == "Fine."
    (preference,) = judge.compare(["q"], ["good answer"], ["bad answer"])
    assert preference.p_a_better == pytest.approx(0.5 + 7 / 18)
    assert preference.diagnostics.scores == (9.0, 2.0)


def test_reference_guided_template_puts_the_reference_in_the_prompt(tiny_model_dir, tokenizer):
    judge, engine = scripted_judge(tiny_model_dir, tokenizer, picks_good, template="reference-pairwise")
    with pytest.raises(ValueError, match="needs a reference"):
        judge.compare(["2+2?"], ["4"], ["5"])
    judge.compare(["2+2?"], ["good: 4"], ["5"], references=["The answer is 4."])
    assert all("[The Start of Reference Answer]\nThe answer is 4." in prompt for prompt in engine.calls[0])


def test_reference_guided_judging_works_in_evaluation(tiny_model_dir, tokenizer):
    judge, engine = scripted_judge(tiny_model_dir, tokenizer, picks_good, template="reference-pairwise")
    assert judge.capabilities == Capabilities(score=False, compare=True, references=True)
    pairs = [
        PreferencePair(f"r{index}", "2+2?", "good: 4", "5", "math", "reasoning", extra={"reference": "It is 4."})
        for index in range(4)
    ]
    result = evaluate_pairs(judge, pairs, bootstrap_samples=10, master_key_rows=2, progress=False)
    assert result.sections["reasoning"].accuracy == 1.0
    prompts = [prompt for call in engine.calls for prompt in call]
    assert len(prompts) == 2 * (4 + 2 * len(PROBE_KEYS))  # both orders of every pair and probe trial
    assert all("[The Start of Reference Answer]\nIt is 4." in prompt for prompt in prompts)
    pairs[2].extra = {}
    with pytest.raises(ValueError, match="row 'r2': field 'reference'"):
        evaluate_pairs(judge, pairs, bootstrap_samples=10, master_key_rows=0, progress=False)


def test_templates_loaded_for_one_judge_leave_judges_built_later_unchanged(tiny_model_dir, tmp_path):
    strict_file = tmp_path / "pairwise_strict.yaml"
    strict_file.write_text((REPO_ROOT / "configs" / "judges" / "pairwise_strict.yaml").read_text())
    write_judge_manifest(tmp_path, model=str(tiny_model_dir), templates_file=strict_file.name)
    strict = load_reward_model(str(tmp_path))
    plain = GenerativeJudge(str(tiny_model_dir))
    assert strict.template.name == plain.template.name == "pairwise"
    assert strict.template.system.startswith("You are a strict, impartial judge.")
    assert plain.template is get_template("pairwise") and not plain.template.system.startswith("You are a strict")
    assert load_reward_model(f"judge:{tiny_model_dir}").template is get_template("pairwise")


def test_long_fields_are_cut_and_reported(tiny_model_dir, tokenizer):
    judge, engine = scripted_judge(tiny_model_dir, tokenizer, picks_good, max_field_tokens=16)
    (preference,) = judge.compare(["q"], ["good " * 100], ["bad"])
    assert preference.meta["fields_truncated"] == ["answer_a"]
    assert answers(engine.calls[0][0])["A"].endswith("[...]")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "logprob", "num_samples": 4}, "logprob mode is deterministic"),
        ({"mode": "guess"}, "JudgeConfig.mode"),
        ({"aggregate": "median"}, "JudgeConfig.aggregate"),
        ({"early_stop": "sometimes"}, "JudgeConfig.early_stop"),
    ],
)
def test_invalid_settings_name_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        JudgeConfig(**options)


def test_logprob_mode_refuses_multi_token_verdicts(tiny_model_dir):
    with pytest.raises(ValueError, match="not a single token"):
        GenerativeJudge(str(tiny_model_dir), template="pointwise-1-10", mode="logprob")


def test_judge_spec_through_the_family_registry(tiny_model_dir):
    judge = load_reward_model(f"judge:{tiny_model_dir}?mode=logprob&template=pairwise-direct&both_orders=0")
    assert isinstance(judge, GenerativeJudge)
    assert (judge.config.mode, judge.config.both_orders, judge.template.name) == ("logprob", False, "pairwise-direct")
    expected = {"num_samples": 8, "temperature": None, "seed": 3}
    assert parse_judge_options("num_samples=8&temperature=none&seed=3") == expected
    with pytest.warns(FutureWarning, match="'k' is deprecated, write 'num_samples'"):
        assert parse_judge_options("k=8&temperature=none&seed=3") == expected
    with pytest.raises(ValueError, match="unknown judge spec option 'colour'"):
        parse_judge_options("colour=red")
    with pytest.raises(ValueError, match="both_orders='maybe'"):
        parse_judge_options("both_orders=maybe")


def test_saved_judge_directory(tiny_model_dir, tmp_path):
    write_judge_manifest(tmp_path, model=str(tiny_model_dir), template="pairwise-direct", mode="logprob")
    judge = load_reward_model(str(tmp_path))
    assert isinstance(judge, GenerativeJudge)
    assert judge.model_spec == str(tiny_model_dir) and judge.config.mode == "logprob"
    overridden = load_reward_model(f"judge:{tmp_path}?mode=sample&num_samples=8&temperature=0.7")
    assert (overridden.config.mode, overridden.config.num_samples, overridden.config.temperature) == ("sample", 8, 0.7)
    assert overridden.template.name == "pairwise-direct" and overridden.model_spec == str(tiny_model_dir)
    with pytest.raises(ValueError, match="unknown judge options"):
        write_judge_manifest(tmp_path, colour="red")


def test_judge_command_writes_one_line_per_pair(tiny_model_dir, tmp_path):
    data = tmp_path / "pairs.jsonl"
    rows = [{"id": f"r{i}", "prompt": "2+2?", "chosen": "4", "rejected": "5"} for i in range(3)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    app = typer.Typer()
    judge_cmd.register(app, typer.Typer())
    app.command("noop")(lambda: None)  # a second command keeps `judge` a subcommand
    out = tmp_path / "judged.jsonl"
    arguments = ["judge", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--limit", "2", "--max-new-tokens", "4", "--k", "2"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in written] == ["r0", "r1"]
    assert all(0.0 <= row["p_chosen"] <= 1.0 and row["correct"] in (0.0, 0.5, 1.0) for row in written)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 2 and "position_consistency" in summary


def test_judge_command_reports_an_unknown_template(tiny_model_dir, tmp_path):
    app = typer.Typer()
    judge_cmd.register(app, typer.Typer())
    app.command("noop")(lambda: None)
    arguments = ["judge", "--model", str(tiny_model_dir), "--data", "x.jsonl", "--out", str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(app, [*arguments, "--template", "nope"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: Unknown judge template 'nope': choose one of pairwise, pairwise-direct, pointwise-1-10, "
        "pointwise-1-5, reference-pairwise, reference-pointwise"
    ]


@pytest.mark.integration
def test_default_model_judges_real_pairs_in_logprob_mode(shared_data):
    rows = [json.loads(line) for line in (shared_data / "eval" / "rewardbench_like_dev.jsonl").open()][:2]
    judge = GenerativeJudge("default", template="pairwise-direct", mode="logprob", max_field_tokens=128)
    preferences = judge.compare(
        [r["prompt"] for r in rows], [r["chosen"] for r in rows], [r["rejected"] for r in rows]
    )
    for preference in preferences:
        assert 0.0 <= preference.p_a_better <= 1.0
        assert isinstance(preference.diagnostics.orders_agree, bool)
        assert all(sum(probs.values()) == pytest.approx(1.0) for probs in preference.meta["verdict_probs_by_order"])
    assert get_template("pairwise-direct").verdicts == ("A", "B")


def test_a_verdict_after_a_rationale_is_read_on_the_samplers_cache_not_by_rereading(tiny_model_dir, monkeypatch):
    """The real HF engine: each forced verdict is the most likely verdict token after the judge prompt's ids, the
    sampled ids and the newline + verdict prefix, read without re-running prompt + rationale."""
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    options = dict(verdict_after_rationale=True, temperature=0.0, max_new_tokens=8, both_orders=False, num_samples=2)
    judge = GenerativeJudge(str(tiny_model_dir), engine_options={"precision": "fp32"}, **options)
    texts = (
        judge.pair_prompts("What is 12 plus 7?", "19", "20")[0] + judge.pair_prompts("Name a color.", "red", "7")[0]
    )
    prompt_ids = judge._encode(texts)
    samples = judge.engine.generate(prompt_ids, 2, judge.config.sampling_params())
    suffix = judge._encode(["\n" + judge.template.verdict_prefix])[0]
    candidates = verdict_token_ids(judge.tokenizer, judge.template)
    contexts = [ids + sample + suffix for ids, rows in zip(prompt_ids, samples, strict=True) for sample in rows]
    expected = [
        judge.template.candidate_verdicts[max(range(len(row)), key=row.__getitem__)]
        for row in judge.engine.next_token_logprobs(contexts, candidates)
    ]
    monkeypatch.setattr(judge.engine, "next_token_logprobs", lambda *args: pytest.fail("re-read prompt + rationale"))

    written = judge.sample_judgements(texts)

    assert [item.parsed.outcome for rows in written for item in rows] == ["forced"] * 4  # a random model rambles
    assert [item.parsed.verdict for rows in written for item in rows] == expected
    rereading = GenerativeJudge(
        str(tiny_model_dir), engine_options={"precision": "fp32"}, reuse_sampler_cache=False, **options
    )
    assert [[item.text for item in rows] for rows in rereading.sample_judgements(texts)] == [
        [item.text for item in rows] for rows in written
    ]
