"""Sampling N candidate responses per prompt through a GenerationEngine (token ids in, token ids out; the chat
template is applied here): the candidates Best-of-N and ensembles are evaluated on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm import tqdm
from transformers import PreTrainedTokenizerBase

from rewardkit.inference.engine import GenerationEngine, SamplingParams
from rewardkit.models.chat import render_prompt
from rewardkit.protocol import Prompt


@dataclass
class SamplingConfig:
    """How candidates are sampled."""

    num_samples: int = field(default=16, metadata={"help": "Candidates sampled per prompt (N)."})
    max_new_tokens: int = field(default=256, metadata={"help": "Generation budget per candidate, in tokens."})
    temperature: float = field(default=0.8, metadata={"help": "Softmax temperature (> 0: Best-of-N needs sampling)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1.0 = off)."})
    seed: int = field(default=0, metadata={"help": "Seed of the first engine call; call k uses seed + k."})
    sequences_per_call: int = field(
        default=32, metadata={"help": "Sequences per engine call; prompts per call = this // num_samples."}
    )

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.sequences_per_call < 1:
            raise ValueError("num_samples and sequences_per_call must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 to sample different candidates, got {self.temperature}")

    @property
    def prompts_per_call(self) -> int:
        return max(1, self.sequences_per_call // self.num_samples)

    def params_for_call(self, call_index: int) -> SamplingParams:
        """Engine sampling parameters for the call_index-th batch of prompts (its own seed)."""
        return SamplingParams(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed + call_index,
        )


def encode_prompts(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[Prompt]) -> list[list[int]]:
    """Token ids of each prompt up to the assistant header (chat template applied)."""
    return [tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"] for prompt in prompts]


def sample_candidates(
    engine: GenerationEngine,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Prompt],
    config: SamplingConfig,
    progress: bool = True,
) -> list[list[str]]:
    """N sampled responses per prompt, decoded without special tokens; a progress bar shows the ETA."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    candidates: list[list[str]] = []
    step = config.prompts_per_call
    with tqdm(total=len(prompts), desc="sampling", unit="prompt", disable=not progress) as bar:
        for call_index, start in enumerate(range(0, len(prompts), step)):
            samples = engine.generate(
                prompt_ids[start : start + step], config.num_samples, config.params_for_call(call_index)
            )
            for token_lists in samples:
                candidates.append(
                    [text.strip() for text in tokenizer.batch_decode(token_lists, skip_special_tokens=True)]
                )
            bar.update(len(samples))
    return candidates
