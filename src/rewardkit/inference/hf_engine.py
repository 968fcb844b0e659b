"""transformers engine with its own decode loop: one prefill per prompt, the KV cache expanded to K sample rows.

HF `generate(num_return_sequences=K)` repeats the prompt K times and prefills each copy; here the prompt runs once
and `DynamicCache.batch_repeat_interleave` copies its keys/values to K rows (as nanochat's engine does). The cache
is a `DynamicCache` built from the model config (transformers' Cache API: per-layer types, sliding windows included)
and passed as `past_key_values`; it is never a tuple of tensors. Prompts
that share a prefix (the two orders of a judged pair share system text and question) prefill that prefix once;
rows whose samples are finished, or no longer needed (early stopping), leave the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    PreTrainedModel,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from rewardkit.inference.engine import EarlyStopHook, ReadAfter, SamplesWithReadings, SamplingParams, TokenIds
from rewardkit.models.device import pick_device
from rewardkit.models.loading import load_causal_lm, load_tokenizer
from rewardkit.models.precision import Precision, autocast_context, precision_dtype
from rewardkit.models.shared_prefix import group_by_shared_prefix, left_pad, positions_skipping_padding


@dataclass
class PrefillState:
    """The KV cache after reading the prompts, with what decoding needs to continue each row."""

    cache: DynamicCache
    attention_mask: torch.Tensor
    last_logits: torch.Tensor


def build_logits_warpers(params: SamplingParams) -> LogitsProcessorList:
    """transformers' temperature / top-k / top-p warpers for the sampling parameters."""
    warpers = LogitsProcessorList()
    if params.greedy:
        return warpers
    if params.temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(params.temperature))
    if params.top_k > 0:
        warpers.append(TopKLogitsWarper(params.top_k))
    if params.top_p < 1.0:
        warpers.append(TopPLogitsWarper(params.top_p))
    return warpers


def sample_next_tokens(
    logits: torch.Tensor, params: SamplingParams, warpers: LogitsProcessorList, generator: torch.Generator | None
) -> torch.Tensor:
    """One token per row: argmax when greedy, else a draw from the warped distribution."""
    logits = logits.float()
    if params.greedy:
        return logits.argmax(dim=-1)
    probabilities = torch.softmax(warpers(None, logits), dim=-1)
    return torch.multinomial(probabilities, num_samples=1, generator=generator).squeeze(-1)


class HFEngine:
    """GenerationEngine over a transformers causal LM, batched with left padding, bf16 where the precision says so
    (rewardkit.models.precision)."""

    def __init__(
        self,
        model: PreTrainedModel,
        eos_token_ids: Sequence[int],
        pad_token_id: int,
        device: torch.device | None = None,
        max_batch_rows: int = 32,
        precision: Precision = "auto",
    ) -> None:
        if max_batch_rows < 1:
            raise ValueError(f"max_batch_rows must be >= 1, got {max_batch_rows}")
        self.device = device or pick_device()
        self.model = model.to(self.device).eval()
        self.eos_token_ids = tuple(eos_token_ids)
        self.pad_token_id = pad_token_id
        self.max_batch_rows = max_batch_rows
        self.precision = precision

    @classmethod
    def from_spec(
        cls, model_spec: str, device: str | None = None, max_batch_rows: int = 32, precision: Precision = "auto"
    ) -> HFEngine:
        """Load model and tokenizer from any rewardkit model spec; bf16 precision keeps bf16 weights (autocast alone
        would re-cast every fp32 weight on each decode step)."""
        tokenizer = load_tokenizer(model_spec)
        chosen_device = pick_device(device)
        model = load_causal_lm(model_spec, device=chosen_device, dtype=precision_dtype(precision, chosen_device))
        eos_ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        return cls(model, eos_ids, tokenizer.pad_token_id, chosen_device, max_batch_rows, precision)

    @torch.inference_mode()
    def generate(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        stop_early: EarlyStopHook | None = None,
    ) -> list[list[TokenIds]]:
        """`num_samples` samples per prompt from one shared prefill per prompt; see the module docstring."""
        return self._sample(prompt_ids, num_samples, params, stop_early, None).samples

    @torch.inference_mode()
    def generate_and_read(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        read_after: ReadAfter,
        stop_early: EarlyStopHook | None = None,
    ) -> SamplesWithReadings:
        """`generate`, and after each sample its row goes on: the sample's last token (unless a stop token ended
        it) and `read_after.suffix_ids` are fed on the row's own cache, then the candidates' log-probabilities are
        read (ReadsAfterSamples)."""
        return self._sample(prompt_ids, num_samples, params, stop_early, read_after)

    def _sample(self, prompt_ids, num_samples, params, stop_early, read_after) -> SamplesWithReadings:
        if num_samples < 1:
            raise ValueError(f"num_samples (samples per prompt) must be >= 1, got {num_samples}")
        generator = None if params.seed is None else torch.Generator(self.device).manual_seed(params.seed)
        results = SamplesWithReadings([[] for _ in prompt_ids], [[] for _ in prompt_ids])
        prompts_per_chunk = max(1, self.max_batch_rows // num_samples)
        for chunk in self._chunks(prompt_ids, prompts_per_chunk):
            chunk_hook = None if stop_early is None else _reindexed_hook(stop_early, chunk)
            state = self._prefill_samples([prompt_ids[i] for i in chunk], num_samples)
            decoder = _SampleDecoder(self, state, num_samples, params, generator, chunk_hook, read_after)
            samples, readings = decoder.run(len(chunk))
            for position, prompt_index in enumerate(chunk):
                results.samples[prompt_index] = samples[position]
                results.readings[prompt_index] = readings[position]
        return results

    @torch.inference_mode()
    def next_token_logprobs(self, prompt_ids: Sequence[TokenIds], candidate_ids: Sequence[int]) -> list[list[float]]:
        """Full-vocabulary log-probabilities of the candidate tokens at the position after each prompt."""
        candidates = torch.tensor(list(candidate_ids), dtype=torch.long, device=self.device)
        results: list[list[float]] = [[] for _ in prompt_ids]
        for chunk in self._chunks(prompt_ids, self.max_batch_rows):
            state = self._prefill([prompt_ids[i] for i in chunk])
            logprobs = torch.log_softmax(state.last_logits.float(), dim=-1)[:, candidates]
            for position, prompt_index in enumerate(chunk):
                results[prompt_index] = logprobs[position].tolist()
        return results

    def _chunks(self, prompt_ids: Sequence[TokenIds], size: int) -> list[list[int]]:
        """Prompt indices in lexicographic token order (shared prefixes adjacent), cut into chunks of `size`."""
        for index, prompt in enumerate(prompt_ids):
            if not prompt:
                raise ValueError(f"prompt {index} has no tokens; every prompt needs at least one token")
        order = sorted(range(len(prompt_ids)), key=lambda i: prompt_ids[i])
        return [order[start : start + size] for start in range(0, len(order), size)]

    def _forward(self, input_ids, attention_mask, position_ids, cache) -> torch.Tensor:
        with autocast_context(self.device, self.precision):
            output = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                position_ids=position_ids.to(self.device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        return output.logits[:, -1, :]

    def _prefill(self, prompts: Sequence[TokenIds]) -> PrefillState:
        """Read each shared prefix once, copy its cache rows to the group's members, then read the suffixes."""
        groups = group_by_shared_prefix(prompts)
        prefix_ids, prefix_mask = left_pad(
            [prompts[g.members[0]][: g.prefix_length] for g in groups], self.pad_token_id
        )
        cache = DynamicCache(config=self.model.config)
        if prefix_ids.shape[1] > 0:
            self._forward(prefix_ids, prefix_mask, positions_skipping_padding(prefix_mask), cache)
        row_group = torch.tensor([g_index for g_index, group in enumerate(groups) for _ in group.members])
        rows = [member for group in groups for member in group.members]
        cache.batch_select_indices(row_group.to(self.device))
        suffixes = [prompts[row][groups[g].prefix_length :] for row, g in zip(rows, row_group.tolist(), strict=True)]
        suffix_ids, suffix_mask = left_pad(suffixes, self.pad_token_id)
        attention_mask = torch.cat([prefix_mask[row_group], suffix_mask], dim=1)
        positions = positions_skipping_padding(attention_mask)[:, -suffix_ids.shape[1] :]
        logits = self._forward(suffix_ids, attention_mask, positions, cache)
        restore = torch.tensor(rows).argsort().to(self.device)
        cache.batch_select_indices(restore)
        return PrefillState(cache, attention_mask.to(self.device)[restore], logits[restore])

    def _prefill_samples(self, prompts: Sequence[TokenIds], num_samples: int) -> PrefillState:
        """The prompts' prefill with its cache rows copied to `num_samples` rows each."""
        state = self._prefill(prompts)
        state.cache.batch_repeat_interleave(num_samples)
        state.attention_mask = state.attention_mask.repeat_interleave(num_samples, dim=0)
        state.last_logits = state.last_logits.repeat_interleave(num_samples, dim=0)
        return state


class _SampleDecoder:
    """The token-by-token loop over sample rows: sample, record, retire finished rows, step the model. With a
    ReadAfter, a finished row is not retired at once: it is fed its suffix like decoded tokens (one per step, beside
    the rows still sampling) and retired once the reading after the suffix is taken."""

    def __init__(
        self,
        engine: HFEngine,
        state: PrefillState,
        num_samples: int,
        params: SamplingParams,
        generator,
        stop_early,
        read_after: ReadAfter | None = None,
    ):
        self.engine, self.state, self.num_samples, self.params = engine, state, num_samples, params
        self.generator, self.stop_early, self.read_after = generator, stop_early, read_after
        self.warpers = build_logits_warpers(params)
        self.stop_ids = torch.tensor(sorted(set(engine.eos_token_ids) | set(params.stop_token_ids)), dtype=torch.long)
        rows = state.last_logits.shape[0]
        self.row_ids = torch.arange(rows)
        self.live = torch.ones(rows, dtype=torch.bool)
        self.tokens: list[TokenIds] = [[] for _ in range(rows)]
        self.to_feed: dict[int, list[int]] = {}  # row -> tokens still to feed before its reading
        self.finished: dict[int, dict[int, TokenIds]] = {}
        self.readings: dict[int, dict[int, list[float]]] = {}

    def run(self, prompt_count: int) -> tuple[list[list[TokenIds]], list[list[list[float]]]]:
        """Decode until every row is finished (and read), retired by early stopping, or at max_new_tokens; the
        samples per prompt and, with a ReadAfter, their readings (else empty lists)."""
        self.finished = {prompt: {} for prompt in range(prompt_count)}
        self.readings = {prompt: {} for prompt in range(prompt_count)}
        step = 0
        while self.live.any():
            self._take_readings()
            sampled = sample_next_tokens(self.state.last_logits, self.params, self.warpers, self.generator)
            self._record(sampled.cpu(), last_step=step == self.params.max_new_tokens - 1)
            if not self.live.any():
                break
            self._step(self._compact_if_worthwhile(self._feed_suffixes(sampled)))
            step += 1
        samples = [[rows[row] for row in sorted(rows)] for _, rows in sorted(self.finished.items())]
        readings = [[rows[row] for row in sorted(rows)] for _, rows in sorted(self.readings.items())]
        return samples, readings

    def _sampling(self, position: int) -> bool:
        return bool(self.live[position]) and int(self.row_ids[position]) not in self.to_feed

    def _record(self, next_tokens: torch.Tensor, last_step: bool) -> None:
        stopped = torch.isin(next_tokens, self.stop_ids)
        for position in torch.nonzero(self.live, as_tuple=True)[0].tolist():
            if not self._sampling(position):
                continue
            row = int(self.row_ids[position])
            if not stopped[position]:
                self.tokens[row].append(int(next_tokens[position]))
            if self.live[position] and (stopped[position] or last_step):
                self._finish(position, row, fed_last=bool(stopped[position]))

    def _finish(self, position: int, row: int, fed_last: bool) -> None:
        """Retire a finished row (or queue its suffix); ask the early-stop hook whether its prompt's other rows are
        still needed. `fed_last`: the sample's last token needs no feeding (a stop token ended it)."""
        prompt = row // self.num_samples
        self.finished[prompt][row] = self.tokens[row]
        if self.read_after is None:
            self.live[position] = False
        else:
            last = [] if fed_last else self.tokens[row][-1:]
            self.to_feed[row] = [*last, *self.read_after.suffix_ids]
        if self.stop_early is None:
            return
        sampling = torch.tensor([self._sampling(index) for index in range(len(self.live))], dtype=torch.bool)
        same_prompt = (self.row_ids // self.num_samples == prompt) & sampling
        remaining = int(same_prompt.sum())
        if remaining and self.stop_early(prompt, list(self.finished[prompt].values()), remaining):
            self.live &= ~same_prompt

    def _feed_suffixes(self, sampled: torch.Tensor) -> torch.Tensor:
        """The sampled tokens, with each row in its suffix given its next suffix token instead."""
        tokens = sampled.clone()
        for position in torch.nonzero(self.live, as_tuple=True)[0].tolist():
            queue = self.to_feed.get(int(self.row_ids[position]))
            if queue:
                tokens[position] = queue.pop(0)
        return tokens

    def _take_readings(self) -> None:
        """Rows whose suffix is all fed: the candidates' log-probabilities at the next position; the row retires."""
        if self.read_after is None:
            return
        candidates = torch.tensor(self.read_after.candidate_ids, dtype=torch.long, device=self.engine.device)
        for position in torch.nonzero(self.live, as_tuple=True)[0].tolist():
            row = int(self.row_ids[position])
            if self.to_feed.get(row) == []:
                logprobs = torch.log_softmax(self.state.last_logits[position].float(), dim=-1)[candidates]
                self.readings[row // self.num_samples][row] = logprobs.tolist()
                self.live[position] = False
                del self.to_feed[row]

    def _compact_if_worthwhile(self, next_tokens: torch.Tensor) -> torch.Tensor:
        """Drop retired rows once they are a quarter of the batch (the copy costs about one decode step)."""
        retired = int((~self.live).sum())
        if retired == 0 or retired * 4 < len(self.live):
            return next_tokens
        keep = torch.nonzero(self.live, as_tuple=True)[0]
        on_device = keep.to(self.engine.device)
        self.state.cache.batch_select_indices(on_device)
        self.state.attention_mask = self.state.attention_mask[on_device]
        self.row_ids = self.row_ids[keep]
        self.live = self.live[keep]
        return next_tokens[on_device]

    def _step(self, next_tokens: torch.Tensor) -> None:
        """Feed one token per row; its position is the count of real tokens before it."""
        positions = self.state.attention_mask.sum(dim=1, keepdim=True)
        self.state.attention_mask = torch.cat([self.state.attention_mask, torch.ones_like(positions)], dim=1)
        self.state.last_logits = self.engine._forward(
            next_tokens.view(-1, 1), self.state.attention_mask, positions, self.state.cache
        )


def _reindexed_hook(stop_early: EarlyStopHook, chunk: Sequence[int]) -> EarlyStopHook:
    """Translate chunk-local prompt positions back to the caller's prompt indices."""
    return lambda position, finished, remaining: stop_early(chunk[position], finished, remaining)
