"""Generative judges (LLM-as-a-judge, GenRM): a causal LM writes or scores a verdict, read two ways.

`sample` mode: the judge writes (a rationale and) a verdict, K times from one shared prefill, majority vote or mean
with adaptive early stopping (CoT-GenRM with self-consistency; Mahan et al. 2024, arXiv 2410.12832). `logprob`
mode: the prompt ends where the verdict token goes and P(A) is the softmax over the candidate verdict tokens'
logits (direct GenRM). Pairs are judged in both orders in the same batch and the probabilities averaged, which
cancels the position bias MT-Bench reports (Zheng et al. 2023, arXiv 2306.05685, sections 3.3-3.4); each order's
reading goes to `Preference.diagnostics`, which says whether the orders agree. With `verdict_after_rationale`, a
written judgement that ends without a readable verdict gets a verdict token read after it (a chain-of-thought
GenRM's reading; greedy or sampled like the text), so a small model that rambles still votes; such votes are
marked "forced".
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from transformers import PreTrainedTokenizerBase

from rewardkit.families.judge_templates import (
    BUILTIN_TEMPLATES,
    JudgeTemplate,
    TemplateCatalog,
    question_text,
    render_judge_prompt,
)
from rewardkit.families.registry import MANIFEST_NAME, read_manifest
from rewardkit.families.verdicts import (
    END_OF_VERDICT,
    ParsedVerdict,
    choose_verdict,
    expected_value,
    normalized_verdict_probabilities,
    parse_verdict,
    verdict_options,
    verdict_token_ids,
    verdict_token_sequences,
)
from rewardkit.inference.engine import (
    EarlyStopHook,
    GenerationEngine,
    ReadAfter,
    ReadsAfterSamples,
    SamplingParams,
    TokenIds,
    create_engine,
)
from rewardkit.inference.voting import AGGREGATES, STOP_RULES, StopRule, pairwise_probability, rating_estimate
from rewardkit.models.loading import load_tokenizer
from rewardkit.protocol import (
    Capabilities,
    OrderReading,
    Preference,
    PreferenceDiagnostics,
    Prompt,
    Score,
    UnsupportedOperation,
    Votes,
)
from rewardkit.vocabulary import with_current_keys

JudgeMode = Literal["sample", "logprob"]
TRUNCATION_MARK = " [...]"


@dataclass
class JudgeConfig:
    """How a generative judge reads verdicts; every field can also be set in a `judge:` spec query."""

    mode: JudgeMode = field(default="sample", metadata={"help": "sample: write then parse; logprob: verdict probs."})
    num_samples: int = field(
        default=1, metadata={"help": "Samples per judged prompt (sample mode); votes are aggregated."}
    )
    both_orders: bool = field(default=True, metadata={"help": "Judge (A,B) and (B,A) and average (debiasing)."})
    aggregate: str = field(default="majority", metadata={"help": "majority (plurality verdict) or mean of votes."})
    early_stop: str = field(
        default="majority", metadata={"help": "none, majority (exact) or beta (Adaptive-Consistency posterior)."}
    )
    stop_confidence: float = field(default=0.95, metadata={"help": "Posterior threshold of the beta stop rule."})
    temperature: float | None = field(
        default=None, metadata={"help": "Sampling temperature; None: 0 if num_samples=1 else 0.7"}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1.0 = off)."})
    max_new_tokens: int = field(default=256, metadata={"help": "Token budget of one written judgement."})
    max_field_tokens: int = field(default=768, metadata={"help": "Cut each question/answer/reference to this."})
    pairs_per_batch: int = field(default=8, metadata={"help": "Items per engine call (both orders stay together)."})
    seed: int | None = field(default=0, metadata={"help": "Sampling seed (None: nondeterministic)."})
    verdict_after_rationale: bool = field(
        default=False,
        metadata={
            "help": "Sample mode: a judgement without a readable verdict gets a verdict read after its text and the "
            "verdict prefix over the scale's tokens (one step per verdict token, e.g. 1 then 0 for 10), greedy or "
            "sampled like other tokens (CoT-GenRM reading; counted as forced; no early stop)."
        },
    )
    reuse_sampler_cache: bool = field(
        default=True,
        metadata={
            "help": "With verdict_after_rationale on the HF engine: read the verdict on the sampler's KV cache "
            "(after the sampled tokens) instead of re-reading prompt + rationale text."
        },
    )

    def __post_init__(self) -> None:
        _require(self.mode in ("sample", "logprob"), "mode", f"must be 'sample' or 'logprob', got {self.mode!r}")
        _require(self.num_samples >= 1, "num_samples", f"must be >= 1, got {self.num_samples}")
        _require(
            self.mode == "sample" or self.num_samples == 1,
            "num_samples",
            "logprob mode is deterministic: use num_samples=1 (or mode=sample)",
        )
        _require(self.aggregate in AGGREGATES, "aggregate", f"must be one of {AGGREGATES}, got {self.aggregate!r}")
        _require(self.early_stop in STOP_RULES, "early_stop", f"must be one of {STOP_RULES}, got {self.early_stop!r}")
        _require(self.max_new_tokens >= 1 and self.max_field_tokens >= 16, "max_*_tokens", "budgets too small")
        _require(self.pairs_per_batch >= 1, "pairs_per_batch", f"must be >= 1, got {self.pairs_per_batch}")

    def sampling_params(self) -> SamplingParams:
        """Engine sampling settings; temperature defaults to greedy for one sample and 0.7 for votes."""
        temperature = self.temperature if self.temperature is not None else (0.0 if self.num_samples == 1 else 0.7)
        return SamplingParams(
            max_new_tokens=self.max_new_tokens, temperature=temperature, top_p=self.top_p, seed=self.seed
        )


def _require(condition: bool, field_name: str, problem: str) -> None:
    if not condition:
        raise ValueError(f"JudgeConfig.{field_name}: {problem}")


@dataclass(frozen=True)
class WrittenJudgement:
    """One sampled judgement as written (decoded continuation) and the verdict read from it."""

    text: str
    parsed: ParsedVerdict


@dataclass
class Reading:
    """One judged prompt (one order of a pair, or one pointwise item) after voting."""

    value: float
    votes: Votes
    rationale: str | None = None
    verdict_probs: dict[str, float] | None = None


def combine_orders(forward: Reading, backward: Reading | None) -> Preference:
    """P(A better) averaged over the (A,B) and (B,A) orders; each order's reading goes to the diagnostics."""
    orders = [OrderReading(forward.value, forward.votes)]
    if backward is not None:
        orders.append(OrderReading(1.0 - backward.value, backward.votes))
    diagnostics = PreferenceDiagnostics(
        orders=tuple(orders), unreadable=any(order.votes.unreadable for order in orders)
    )
    meta: dict[str, Any] = {}
    if forward.verdict_probs is not None:
        readings = [forward] + ([] if backward is None else [backward])
        meta["verdict_probs_by_order"] = [reading.verdict_probs for reading in readings]
    p_a_better = sum(order.p_a_better for order in orders) / len(orders)
    return Preference(p_a_better=p_a_better, rationale=forward.rationale, meta=meta, diagnostics=diagnostics)


class GenerativeJudge:
    """A RewardModel whose judgements are written or scored by a causal LM through a judge template.

    Template names resolve in the judge's own `templates` catalog (default: the built-ins), so templates loaded for
    one judge never change another.
    """

    tie_credit = 0.5

    def __init__(
        self,
        model_spec: str,
        template: str | JudgeTemplate = "pairwise",
        mode: JudgeMode = "sample",
        num_samples: int = 1,
        both_orders: bool = True,
        engine: str | GenerationEngine = "hf",
        *,
        pointwise_template: str | JudgeTemplate | None = None,
        rubric: str | None = None,
        templates: TemplateCatalog | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        engine_options: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.config = JudgeConfig(mode=mode, num_samples=num_samples, both_orders=both_orders, **settings)
        self.templates = templates or BUILTIN_TEMPLATES
        self.template = self.templates.resolve(template)
        pointwise = pointwise_template
        if pointwise is None and self.template.kind == "pointwise":
            pointwise = self.template
        self.pointwise_template = None if pointwise is None else self.templates.resolve(pointwise)
        if self.pointwise_template is not None and self.pointwise_template.kind != "pointwise":
            raise ValueError(f"pointwise_template {self.pointwise_template.name!r} is a pairwise template")
        self.rubric = rubric
        self.model_spec = model_spec
        self.tokenizer = tokenizer or load_tokenizer(model_spec)
        self.engine = (
            engine if not isinstance(engine, str) else create_engine(engine, model_spec, **(engine_options or {}))
        )
        self.stop_rule = StopRule(self.config.early_stop, self.config.stop_confidence)
        self.name = (
            f"judge:{model_spec}?template={self.template.name}&mode={mode}&num_samples={num_samples}"
            f"&both_orders={int(both_orders)}"
        )
        if self.config.mode == "logprob":
            for active in {self.template, self.pointwise_template} - {None}:
                verdict_token_ids(self.tokenizer, active)

    # ---- protocol ---------------------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        """Compare always (from ratings when the template is pointwise); score only with a pointwise template;
        references when a template in use asks for them."""
        in_use = [template for template in (self.template, self.pointwise_template) if template is not None]
        return Capabilities(
            score=self.pointwise_template is not None,
            references=any(template.needs_reference for template in in_use),
        )

    def compare(
        self,
        prompts: Sequence[Prompt],
        responses_a: Sequence[str],
        responses_b: Sequence[str],
        references: Sequence[str] | None = None,
    ) -> list[Preference]:
        """P(response A better) per pair; with a pointwise template only, from the two ratings."""
        _check_lengths(prompts=prompts, responses_a=responses_a, responses_b=responses_b, references=references)
        if self.template.kind == "pointwise":
            return self._compare_by_ratings(prompts, responses_a, responses_b, references)
        preferences: list[Preference] = []
        for start in range(0, len(prompts), self.config.pairs_per_batch):
            window = slice(start, start + self.config.pairs_per_batch)
            refs = None if references is None else references[window]
            preferences += self._compare_batch(prompts[window], responses_a[window], responses_b[window], refs)
        return preferences

    def score(
        self, prompts: Sequence[Prompt], responses: Sequence[str], references: Sequence[str] | None = None
    ) -> list[Score]:
        """A rating per response on the pointwise template's scale."""
        self._require_pointwise()
        _check_lengths(prompts=prompts, responses=responses, references=references)
        scores: list[Score] = []
        for start in range(0, len(prompts), self.config.pairs_per_batch):
            window = slice(start, start + self.config.pairs_per_batch)
            refs = None if references is None else references[window]
            scores += self._score_batch(prompts[window], responses[window], refs)
        return scores

    def _require_pointwise(self) -> JudgeTemplate:
        if self.pointwise_template is None:
            raise UnsupportedOperation(
                f"{self.name}: score() needs a pointwise template, and {self.template.name!r} is pairwise; pass "
                "template='pointwise-1-10' (or pointwise_template=...), or use compare() for pairs"
            )
        return self.pointwise_template

    # ---- batches ----------------------------------------------------------------------------------------------
    def pair_prompts(
        self, prompt: Prompt, response_a: str, response_b: str, reference: str | None = None
    ) -> tuple[list[str], list[str]]:
        """The judge prompt text for (A, B), then (B, A) when judging both orders, and the names of cut fields."""
        fields, cut = self._fields(self.template, prompt, [response_a, response_b], reference)
        orders = [(0, 1), (1, 0)] if self.config.both_orders else [(0, 1)]
        texts = [
            self._render(
                self.template,
                fields["common"] | {"answer_a": fields["answers"][first], "answer_b": fields["answers"][second]},
            )
            for first, second in orders
        ]
        return texts, cut

    def item_prompt(self, prompt: Prompt, response: str, reference: str | None = None) -> tuple[str, list[str]]:
        """The pointwise judge prompt text for one response, and the names of cut fields."""
        template = self._require_pointwise()
        fields, cut = self._fields(template, prompt, [response], reference)
        return self._render(template, fields["common"] | {"answer": fields["answers"][0]}), cut

    def _compare_batch(self, prompts, responses_a, responses_b, references) -> list[Preference]:
        template = self.template
        orders = 2 if self.config.both_orders else 1
        texts, truncated = [], []
        for index, prompt in enumerate(prompts):
            reference = None if references is None else references[index]
            order_texts, cut = self.pair_prompts(prompt, responses_a[index], responses_b[index], reference)
            texts += order_texts
            truncated.append(cut)
        readings = self._read(template, texts)
        preferences = []
        for index in range(len(prompts)):
            pair = readings[index * orders : (index + 1) * orders]
            preference = combine_orders(pair[0], pair[1] if len(pair) > 1 else None)
            preference.meta |= {"mode": self.config.mode, "fields_truncated": truncated[index]}
            preferences.append(preference)
        return preferences

    def _score_batch(self, prompts, responses, references) -> list[Score]:
        rendered = [
            self.item_prompt(prompt, responses[index], None if references is None else references[index])
            for index, prompt in enumerate(prompts)
        ]
        scores = []
        readings = self._read(self.pointwise_template, [text for text, _ in rendered])
        for reading, (_, cut) in zip(readings, rendered, strict=True):
            meta: dict[str, Any] = {"mode": self.config.mode, "fields_truncated": cut}
            if reading.verdict_probs is not None:
                meta["rating_probs"] = reading.verdict_probs
            scores.append(Score(value=reading.value, text=reading.rationale, meta=meta, votes=reading.votes))
        return scores

    def _compare_by_ratings(self, prompts, responses_a, responses_b, references) -> list[Preference]:
        """Pointwise-only judge: P(A better) = 0.5 + (rating_a - rating_b) / (2 * scale range), a tie at equal."""
        scores = self.score(list(prompts) * 2, list(responses_a) + list(responses_b), _doubled(references))
        low, high = (float(self.pointwise_template.verdicts[0]), float(self.pointwise_template.verdicts[-1]))
        preferences = []
        for score_a, score_b in zip(scores[: len(prompts)], scores[len(prompts) :], strict=True):
            p_a = 0.5 + (score_a.value - score_b.value) / (2 * (high - low))
            diagnostics = PreferenceDiagnostics(
                scores=(score_a.value, score_b.value),
                unreadable=score_a.votes.unreadable or score_b.votes.unreadable,
            )
            preferences.append(Preference(p_a_better=p_a, rationale=score_a.text, diagnostics=diagnostics))
        return preferences

    # ---- prompts ----------------------------------------------------------------------------------------------
    def _clip(self, text: str, keep_end: bool = False) -> tuple[str, bool]:
        """Cut a field to max_field_tokens (answers keep their start, the question its end)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        budget = self.config.max_field_tokens
        if len(ids) <= budget:
            return text, False
        if keep_end:
            return TRUNCATION_MARK.strip() + " " + self.tokenizer.decode(ids[-budget:]), True
        return self.tokenizer.decode(ids[:budget]) + TRUNCATION_MARK, True

    def _fields(self, template, prompt, answers, reference) -> tuple[dict[str, Any], list[str]]:
        """Template values for one item (question, answers, reference, rubric) and the names of cut fields."""
        if template.needs_reference and reference is None:
            raise ValueError(f"judge template {template.name!r} needs a reference answer per item: pass references=")
        question, question_cut = self._clip(question_text(prompt), keep_end=True)
        clipped = [self._clip(answer) for answer in answers]
        common = {"question": question}
        cut = ["question"] if question_cut else []
        names = ["answer_a", "answer_b"] if len(answers) == 2 else ["answer"]
        cut += [name for name, (_, was_cut) in zip(names, clipped, strict=True) if was_cut]
        if template.needs_reference:
            common["reference"], reference_cut = self._clip(reference)
            cut += ["reference"] if reference_cut else []
        if self.rubric is not None:
            common["rubric"] = self.rubric
        return {"common": common, "answers": [text for text, _ in clipped]}, cut

    def _render(self, template: JudgeTemplate, values: dict[str, str]) -> str:
        return render_judge_prompt(self.tokenizer, template, verdict_next=self.config.mode == "logprob", **values)

    def _encode(self, texts: Sequence[str]) -> list[TokenIds]:
        return [self.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]

    # ---- reading verdicts -------------------------------------------------------------------------------------
    def _read(self, template: JudgeTemplate, texts: Sequence[str]) -> list[Reading]:
        if self.config.mode == "logprob":
            return self._read_logprobs(template, texts)
        return self._read_samples(template, texts)

    def _read_logprobs(self, template: JudgeTemplate, texts: Sequence[str]) -> list[Reading]:
        """Direct GenRM: the verdict distribution at the verdict position, restricted to the candidate tokens."""
        candidates = verdict_token_ids(self.tokenizer, template)
        readings = []
        for logprobs in self.engine.next_token_logprobs(self._encode(texts), candidates):
            probabilities = normalized_verdict_probabilities(logprobs)
            verdict_probs = dict(zip(template.candidate_verdicts, probabilities, strict=True))
            top = max(verdict_probs, key=verdict_probs.get)
            value = expected_value(template, probabilities)
            readings.append(Reading(value, Votes((top,)), verdict_probs=verdict_probs))
        return readings

    def _read_samples(self, template: JudgeTemplate, texts: Sequence[str]) -> list[Reading]:
        """K written judgements per prompt from one prefill, parsed and aggregated; failed parses abstain."""
        hook = self._early_stop_hook(template, texts) if self.config.num_samples > 1 else None
        written = self._write(template, texts, self.config.sampling_params(), hook)
        return [self._aggregate(template, [item.parsed for item in rows]) for rows in written]

    def _write(
        self, template: JudgeTemplate, texts: Sequence[str], params: SamplingParams, hook: EarlyStopHook | None = None
    ) -> list[list[WrittenJudgement]]:
        """The `num_samples` judgements of each prompt, decoded and parsed (verdicts read after the rationale where
        asked: on the sampler's own cache where the engine can, else by re-reading prompt + rationale)."""
        prompt_ids = self._encode(texts)
        if self.config.verdict_after_rationale and self._reads_on_sampler_cache():
            return self._write_and_read_verdicts(template, texts, prompt_ids, params)
        samples = self.engine.generate(prompt_ids, self.config.num_samples, params, hook)
        written = self._decoded(template, texts, samples)
        if not self.config.verdict_after_rationale:
            return written
        unparsed = _unparsed(written)
        contexts = [
            texts[row] + written[row][column].text.rstrip() + "\n" + template.verdict_prefix
            for row, column in unparsed
        ]
        return self._with_forced_verdicts(
            written, unparsed, self._verdicts_after(template, self._encode(contexts), params)
        )

    def _reads_on_sampler_cache(self) -> bool:
        return self.config.reuse_sampler_cache and isinstance(self.engine, ReadsAfterSamples)

    def _decoded(
        self, template: JudgeTemplate, texts: Sequence[str], samples: list[list[TokenIds]]
    ) -> list[list[WrittenJudgement]]:
        return [
            [self._written(template, ids, text) for ids in rows] for rows, text in zip(samples, texts, strict=True)
        ]

    def _write_and_read_verdicts(
        self, template: JudgeTemplate, texts: Sequence[str], prompt_ids: list[TokenIds], params: SamplingParams
    ) -> list[list[WrittenJudgement]]:
        """Sample, and read the first verdict token after each sample + newline + verdict prefix on the sampler's
        KV cache (ReadsAfterSamples); a verdict of several tokens reads its later tokens after those same ids."""
        suffix = tuple(self._encode(["\n" + template.verdict_prefix])[0])
        first_tokens = sorted({tokens[0] for tokens in verdict_token_sequences(self.tokenizer, template).values()})
        candidates = (*first_tokens, self._encode([template.verdict_suffix])[0][0])
        read_after = ReadAfter(suffix, candidates)
        result = self.engine.generate_and_read(prompt_ids, self.config.num_samples, params, read_after)
        written = self._decoded(template, texts, result.samples)
        unparsed = _unparsed(written)
        contexts = [prompt_ids[row] + result.samples[row][column] + list(suffix) for row, column in unparsed]
        first_readings = [dict(zip(candidates, result.readings[row][column], strict=True)) for row, column in unparsed]
        return self._with_forced_verdicts(
            written, unparsed, self._verdicts_after(template, contexts, params, first_readings)
        )

    @staticmethod
    def _with_forced_verdicts(
        written: list[list[WrittenJudgement]], unparsed: list[tuple[int, int]], verdicts: list[str]
    ) -> list[list[WrittenJudgement]]:
        """Unparsed judgements get the verdict read after their text, marked "forced" (a chain-of-thought GenRM's
        verdict read from the LM; Zhang et al. 2024, arXiv 2408.15240)."""
        for (row, column), verdict in zip(unparsed, verdicts, strict=True):
            text = written[row][column].text.strip()
            written[row][column] = WrittenJudgement(text, ParsedVerdict(verdict, "forced", text))
        return written

    def _verdicts_after(
        self,
        template: JudgeTemplate,
        context_ids: list[TokenIds],
        params: SamplingParams,
        first_readings: list[dict[int, float]] | None = None,
    ) -> list[str]:
        """A verdict on the template's scale read after each context, token by token over the candidates' tokens
        (a trie: one step for single-token verdicts; "1", then "0" or the end, for "10"), greedy or sampled; the
        first step's log-probabilities come from `first_readings` where given."""
        sequences = verdict_token_sequences(self.tokenizer, template)
        end_id = self._encode([template.verdict_suffix])[0][0]
        rng = random.Random(params.seed)
        written: list[list[int]] = [[] for _ in context_ids]
        open_rows = list(range(len(context_ids)))
        known = first_readings
        while open_rows:
            options = {row: verdict_options(sequences, written[row]) for row in open_rows}
            choosing = [row for row in open_rows if len(options[row]) > 1]
            picks = self._pick_tokens(
                [context_ids[row] + written[row] for row in choosing],
                [options[row] for row in choosing],
                end_id,
                params,
                rng,
                None if known is None else [known[row] for row in choosing],
            )
            known = None
            picked = dict(zip(choosing, picks, strict=True)) | {
                row: options[row][0] for row in open_rows if len(options[row]) == 1
            }
            for row in open_rows:
                if picked[row] != END_OF_VERDICT:
                    written[row].append(picked[row])
            open_rows = [row for row in open_rows if picked[row] != END_OF_VERDICT]
        verdict_of = {tuple(tokens): verdict for verdict, tokens in sequences.items()}
        return [verdict_of[tuple(tokens)] for tokens in written]

    def _pick_tokens(
        self, prompts, options, end_id: int, params: SamplingParams, rng: random.Random, known=None
    ) -> list[int]:
        """One of each prompt's options (token ids, or END_OF_VERDICT scored as the suffix's first token), from
        `known` log-probabilities by token where given, else read by the engine."""
        if not prompts:
            return []
        if known is None:
            candidates = [*sorted({option for row in options for option in row} - {END_OF_VERDICT}), end_id]
            known = [
                dict(zip(candidates, row, strict=True)) for row in self.engine.next_token_logprobs(prompts, candidates)
            ]
        picks = []
        for row_options, logprobs in zip(options, known, strict=True):
            scores = [logprobs[end_id if option == END_OF_VERDICT else option] for option in row_options]
            picks.append(row_options[choose_verdict(scores, params.temperature, rng)])
        return picks

    def _parse(self, template: JudgeTemplate, token_ids: TokenIds, prompt_text: str) -> ParsedVerdict:
        return self._written(template, token_ids, prompt_text).parsed

    def _written(self, template: JudgeTemplate, token_ids: TokenIds, prompt_text: str) -> WrittenJudgement:
        text = self.tokenizer.decode(token_ids, skip_special_tokens=True)
        return WrittenJudgement(text, parse_verdict(text, template, prompt_text))

    def sample_judgements(
        self, texts: Sequence[str], seed: int | None = None, template: JudgeTemplate | None = None
    ) -> list[list[WrittenJudgement]]:
        """All `num_samples` written judgements of each rendered judge prompt (no early stopping, no voting), each
        parsed: the raw samples that self-training recipes (STaR, Self-Rationalization) filter and pair. `seed`
        overrides the configured sampling seed; `template` (default: the judge's) reads the verdicts."""
        params = self.config.sampling_params()
        params = params if seed is None else dataclasses.replace(params, seed=seed)
        return self._write(template or self.template, texts, params)

    def _early_stop_hook(self, template: JudgeTemplate, texts: Sequence[str]) -> EarlyStopHook | None:
        if self.stop_rule.name == "none" or self.config.verdict_after_rationale:
            return None  # verdicts read after the rationales come only after decoding: stopping would not be exact

        def stop_early(index: int, finished: list[TokenIds], remaining: int) -> bool:
            votes = [self._parse(template, ids, texts[index]).verdict for ids in finished]
            return self.stop_rule.should_stop(votes, remaining)

        return stop_early

    def _aggregate(self, template: JudgeTemplate, parsed: list[ParsedVerdict]) -> Reading:
        """Votes -> one reading; no parsed vote scores a tie (0.5, or the scale's midpoint) flagged as failed."""
        votes = [item.verdict for item in parsed]
        if template.kind == "pairwise":
            values = {verdict: template.verdict_value(verdict) for verdict in template.candidate_verdicts}
            value = pairwise_probability(votes, values, self.config.aggregate)
            fallback = 0.5
        else:
            value = rating_estimate(votes, self.config.aggregate)
            fallback = (float(template.verdicts[0]) + float(template.verdicts[-1])) / 2
        rationale = next(
            (item.rationale for item in parsed if not item.failed), parsed[0].rationale if parsed else None
        )
        forced = sum(item.outcome == "forced" for item in parsed)
        read = Votes(tuple(votes), forced, unreadable=value is None)
        return Reading(fallback if value is None else value, read, rationale)


def _unparsed(written: list[list[WrittenJudgement]]) -> list[tuple[int, int]]:
    """(prompt, sample) of every judgement without a readable verdict."""
    return [
        (row, column) for row, items in enumerate(written) for column, item in enumerate(items) if item.parsed.failed
    ]


def _check_lengths(**sequences: Sequence | None) -> None:
    lengths = {name: len(values) for name, values in sequences.items() if values is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")


def _doubled(references: Sequence[str] | None) -> list[str] | None:
    return None if references is None else list(references) * 2


# ---- specs and saved judges -----------------------------------------------------------------------------------
JUDGE_ARGUMENTS = ("template", "pointwise_template", "engine", "rubric", "templates_file")
_CONFIG_TYPES = {spec.name: spec.type for spec in dataclasses.fields(JudgeConfig)}


def _parse_option(key: str, value: str) -> Any:
    declared = str(_CONFIG_TYPES.get(key, "str"))
    if declared.startswith("bool"):
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(f"judge spec option {key}={value!r}: expected 1/0/true/false")
        return value.lower() in ("1", "true", "yes")
    if value.lower() == "none" and "None" in declared:
        return None
    for caster in (int, float):
        if declared.startswith(caster.__name__):
            try:
                return caster(value)
            except ValueError as error:
                raise ValueError(f"judge spec option {key}={value!r}: expected {caster.__name__}") from error
    return value


def parse_judge_options(query: str) -> dict[str, Any]:
    """`mode=logprob&num_samples=8&both_orders=1` -> typed keyword arguments for GenerativeJudge (older key
    spellings such as `k` are accepted with a deprecation note)."""
    options = {}
    pairs = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    for key, value in with_current_keys(pairs, f"judge spec query {query!r}").items():
        if key not in _CONFIG_TYPES and key not in JUDGE_ARGUMENTS:
            allowed = ", ".join(sorted(set(_CONFIG_TYPES) | set(JUDGE_ARGUMENTS)))
            raise ValueError(f"unknown judge spec option {key!r}; allowed: {allowed}")
        options[key] = _parse_option(key, value)
    return options


def _judge_from_options(model_spec: str, options: dict[str, Any], base: Path | None = None) -> GenerativeJudge:
    options = dict(options)
    templates_file = options.pop("templates_file", None)
    if templates_file is not None:
        path = base / templates_file if base is not None else Path(templates_file)
        options["templates"] = BUILTIN_TEMPLATES.with_file(path)
    return GenerativeJudge(model_spec, **options)


def load_judge(argument: str) -> GenerativeJudge:
    """Registry loader: `MODEL_SPEC?key=value&...` (e.g. `default?mode=logprob&template=pairwise-direct`), or a
    saved judge directory whose rewardkit.json reads {"family": "judge", "model": <spec or path relative to the
    directory, default the directory itself>, "judge": {<the same options>}}, optionally followed by a query that
    overrides its saved options (`runs/star_sft?num_samples=8&temperature=0.7`).
    """
    location, _, query = argument.partition("?")
    overrides = parse_judge_options(query)
    path = Path(location).expanduser()
    if location and path.is_dir() and (path / MANIFEST_NAME).is_file():
        manifest = read_manifest(path)
        model = manifest.get("model", ".")
        model_spec = str((path / model).resolve()) if (path / model).exists() else model
        saved = with_current_keys(manifest.get("judge", {}), f"{path / MANIFEST_NAME}: judge", warn=False)
        return _judge_from_options(model_spec, saved | overrides, base=path)
    return _judge_from_options(location or "default", overrides)


def write_judge_manifest(directory: str | Path, model: str = ".", **options: Any) -> Path:
    """Write rewardkit.json marking `directory` as a saved judge (options as accepted by GenerativeJudge)."""
    unknown = set(options) - set(_CONFIG_TYPES) - set(JUDGE_ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown judge options {sorted(unknown)}")
    manifest_path = Path(directory) / MANIFEST_NAME
    manifest_path.write_text(json.dumps({"family": "judge", "model": model, "judge": options}, indent=2) + "\n")
    return manifest_path
