"""llama.cpp engine (optional extra `rewardkit[llamacpp]`, llama-cpp-python) over a GGUF file.

llama.cpp decodes one sequence at a time; `Llama.generate` keeps the KV cache of the longest prefix it shares with
what it evaluated last, so the K samples of a prompt prefill it once and the second order of a pair reuses the
shared prefix. Samples are drawn one after another, so the early-stopping hook ends a prompt's sampling exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardkit.inference.engine import EarlyStopHook, SamplingParams, TokenIds, import_optional
from rewardkit.models.loading import DEFAULT_MODEL, default_gguf_path
from rewardkit.models.shared_prefix import common_prefix_length


def gguf_path_for(model_spec: str) -> Path:
    """The GGUF file of a spec: the default model's, or a path ending in .gguf."""
    if model_spec == DEFAULT_MODEL:
        return default_gguf_path()
    path = Path(model_spec).expanduser()
    if path.suffix != ".gguf":
        raise ValueError(f"the llamacpp engine needs a GGUF file: got {model_spec!r}; pass 'default' or a *.gguf path")
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    return path


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class LlamaCppEngine:
    """GenerationEngine over a `llama_cpp.Llama`."""

    def __init__(self, llm: Any, llama_cpp_module: Any) -> None:
        self.llm = llm
        self.llama_cpp = llama_cpp_module
        self.eos_token_ids = (llm.token_eos(),)

    @classmethod
    def from_spec(cls, model_spec: str, n_ctx: int = 4096, **llama_options: Any) -> LlamaCppEngine:
        """Open the spec's GGUF file (extra options go to `llama_cpp.Llama`)."""
        llama_cpp = import_optional("llama_cpp", extra="llamacpp", engine_name="llamacpp")
        options = {"verbose": False, **llama_options}
        return cls(llama_cpp.Llama(model_path=str(gguf_path_for(model_spec)), n_ctx=n_ctx, **options), llama_cpp)

    def generate(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        stop_early: EarlyStopHook | None = None,
    ) -> list[list[TokenIds]]:
        """num_samples samples per prompt, drawn in turn; `stop_early` can end a prompt's sampling after any sample."""
        seeds = random.Random(params.seed)
        results: list[list[TokenIds]] = []
        for index, prompt in enumerate(prompt_ids):
            samples: list[TokenIds] = []
            for drawn in range(1, num_samples + 1):
                samples.append(self._sample_once(prompt, params, seeds.randrange(2**31)))
                if (
                    drawn < num_samples
                    and stop_early is not None
                    and stop_early(index, list(samples), num_samples - drawn)
                ):
                    break
            results.append(samples)
        return results

    def _sample_once(self, prompt: TokenIds, params: SamplingParams, seed: int) -> TokenIds:
        stop_ids = set(self.eos_token_ids) | set(params.stop_token_ids)
        self.llm.set_seed(seed)
        tokens: TokenIds = []
        stream = self.llm.generate(
            list(prompt),
            temp=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        for token in stream:
            if token in stop_ids:
                break
            tokens.append(int(token))
            if len(tokens) >= params.max_new_tokens:
                break
        return tokens

    def next_token_logprobs(self, prompt_ids: Sequence[TokenIds], candidate_ids: Sequence[int]) -> list[list[float]]:
        """Evaluate each prompt (reusing the cached prefix) and read the last position's logits."""
        results = []
        for prompt in prompt_ids:
            self._evaluate(prompt)
            pointer = self.llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),))
            logprobs = log_softmax(logits)
            results.append([float(logprobs[token]) for token in candidate_ids])
        return results

    def _evaluate(self, prompt: TokenIds) -> None:
        """Keep the cached tokens the prompt starts with (at least one token left to evaluate), evaluate the rest."""
        cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
        kept = min(common_prefix_length(cached, prompt), len(prompt) - 1)
        self.llm.n_tokens = kept
        self.llm.eval(list(prompt[kept:]))
