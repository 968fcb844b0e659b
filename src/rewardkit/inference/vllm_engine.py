"""vLLM engine (optional extra `rewardkit[vllm]`): token-id prompts, num_samples samples per request, prefix caching.

`SamplingParams(n=K)` decodes the K samples of a prompt from one prefill (vLLM shares the prompt's KV blocks), and
`enable_prefix_caching=True` lets the two orders of a judged pair reuse the KV blocks of their common prefix.
vLLM draws all `num_samples` samples of a request, so the judge's early-stopping hook is not consulted: the samples
used equal K, and with the `majority` stop rule the verdict equals the one the HF engine returns with early stopping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardkit.inference.engine import EarlyStopHook, SamplingParams, TokenIds, import_optional
from rewardkit.models.loading import resolve_model_path
from rewardkit.models.precision import Precision, check_precision, precision_from_environment

VLLM_DTYPES = {"auto": "auto", "bf16": "bfloat16", "fp32": "float32"}  # rewardkit precision -> vllm.LLM dtype


def strip_stop_token(token_ids: Sequence[int], stop_ids: frozenset[int]) -> TokenIds:
    """vLLM keeps the token that stopped generation at the end of the output; the engine interface excludes it."""
    token_ids = list(token_ids)
    return token_ids[:-1] if token_ids and token_ids[-1] in stop_ids else token_ids


class VLLMEngine:
    """GenerationEngine over a `vllm.LLM`."""

    def __init__(self, llm: Any, vllm_module: Any, eos_token_ids: Sequence[int]) -> None:
        self.llm = llm
        self.vllm = vllm_module
        self.eos_token_ids = tuple(eos_token_ids)

    @classmethod
    def from_spec(cls, model_spec: str, precision: Precision = "auto", **llm_options: Any) -> VLLMEngine:
        """Load any rewardkit model spec into vLLM with prefix caching on (extra options go to `vllm.LLM`); `auto`
        precision (after REWARDKIT_PRECISION) leaves the dtype to vLLM."""
        vllm = import_optional("vllm", extra="vllm", engine_name="vllm")
        chosen = check_precision(precision)
        dtype = VLLM_DTYPES[precision_from_environment() if chosen == "auto" else chosen]
        llm = vllm.LLM(model=resolve_model_path(model_spec), dtype=dtype, enable_prefix_caching=True, **llm_options)
        eos_token_id = llm.get_tokenizer().eos_token_id
        return cls(llm, vllm, [] if eos_token_id is None else [eos_token_id])

    def _vllm_params(self, num_samples: int, params: SamplingParams) -> Any:
        return self.vllm.SamplingParams(
            n=num_samples,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k if params.top_k > 0 else -1,
            max_tokens=params.max_new_tokens,
            seed=params.seed,
            stop_token_ids=list(params.stop_token_ids),
        )

    def generate(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        stop_early: EarlyStopHook | None = None,
    ) -> list[list[TokenIds]]:
        """num_samples samples per token-id prompt, one request each (see the module docstring about `stop_early`)."""
        requests = [{"prompt_token_ids": list(ids)} for ids in prompt_ids]
        outputs = self.llm.generate(requests, self._vllm_params(num_samples, params), use_tqdm=False)
        stop_ids = frozenset(self.eos_token_ids) | frozenset(params.stop_token_ids)
        return [[strip_stop_token(sample.token_ids, stop_ids) for sample in output.outputs] for output in outputs]

    def next_token_logprobs(self, prompt_ids: Sequence[TokenIds], candidate_ids: Sequence[int]) -> list[list[float]]:
        """Each candidate appended to the prompt and read back from `prompt_logprobs` (prefix caching shares work)."""
        candidates = list(candidate_ids)
        requests = [{"prompt_token_ids": list(ids) + [token]} for ids in prompt_ids for token in candidates]
        scoring = self.vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self.llm.generate(requests, scoring, use_tqdm=False)
        logprobs = [
            output.prompt_logprobs[-1][token].logprob
            for output, token in zip(outputs, candidates * len(prompt_ids), strict=True)
        ]
        width = len(candidates)
        return [logprobs[start : start + width] for start in range(0, len(logprobs), width)]
