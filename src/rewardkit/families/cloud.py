"""CLoud, critique-out-loud reward models (Ankner et al. 2024, "Critique-out-Loud Reward Models", arXiv 2408.11791).

One backbone with two heads: its LM head writes a critique of the response, then a linear reward head reads the
hidden state of the final token of prompt + response + critique. `score` draws K critiques per response (one shared
prefill per response through HFEngine), scores the K critiqued sequences in length-sorted token-budget batches and
returns their mean reward; the variance over the K critiques is the uncertainty (self-consistency, §5). `compare`
is σ(r_a − r_b) on those means.

Saved as one directory: the causal LM (LoRA merged) + tokenizer, `reward_head.safetensors`, and rewardkit.json with
the critique format (request, budgets) and the default inference sampling.
Spec: `cloud:DIR?num_samples=4&temperature=0.7`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import torch
from pydantic import ConfigDict, TypeAdapter, ValidationError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from rewardkit.families.critique_format import CritiqueEncoder, CritiqueFormatConfig
from rewardkit.families.registry import MANIFEST_NAME, read_family_manifest
from rewardkit.families.scalar import default_token_budget
from rewardkit.inference.engine import SamplingParams
from rewardkit.inference.hf_engine import HFEngine
from rewardkit.models.device import pick_device
from rewardkit.models.loading import load_tokenizer, resolve_model_path
from rewardkit.models.precision import Precision, autocast_context, precision_dtype
from rewardkit.models.token_budget import map_in_token_budget_batches, pad_right
from rewardkit.protocol import Capabilities, Preference, Prompt, Score, compare_by_scoring
from rewardkit.vocabulary import with_current_keys

FAMILY = "cloud"
REWARD_HEAD_FILE = "reward_head.safetensors"


@dataclass
class CritiqueSamplingConfig:
    """How critiques are drawn at inference: K per response (self-consistency); temperature 0 is greedy."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    num_samples: int = field(default=1, metadata={"help": "Critiques per response (K); the reward is their mean."})
    temperature: float = field(
        default=0.0, metadata={"help": "Sampling temperature (0: greedy, needs num_samples = 1)."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1.0: off)."})
    seed: int = field(default=0, metadata={"help": "Seed of each generation call."})
    max_new_tokens: int | None = field(
        default=None,
        metadata={"help": "Generation budget; None: the trained budget (the reward head reads at most that many)."},
    )

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ValueError(f"num_samples (critiques per response) must be >= 1, got {self.num_samples}")
        if self.num_samples > 1 and self.temperature == 0:
            raise ValueError(
                f"num_samples={self.num_samples} greedy critiques would all be the same: set temperature > 0, "
                "or num_samples=1"
            )

    def params(self, default_max_new_tokens: int) -> SamplingParams:
        return SamplingParams(
            max_new_tokens=self.max_new_tokens or default_max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
        )


@dataclass
class CloudOutput:
    """Rewards per row and, when a critique mask was given, the LM logits and targets of the critique tokens."""

    rewards: torch.Tensor
    critique_logits: torch.Tensor | None = None
    critique_labels: torch.Tensor | None = None


class CloudNetwork(nn.Module):
    """The causal LM (writes critiques) and a linear reward head on the last real token's final hidden state."""

    def __init__(self, language_model: PreTrainedModel, reward_head: nn.Linear | None = None) -> None:
        super().__init__()
        self.language_model = language_model
        self.reward_head = reward_head or new_reward_head(language_model.config)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, critique_mask: torch.Tensor | None = None
    ) -> CloudOutput:
        """One pass: rewards for every (right-padded) row; with `critique_mask`, logits predicting each critique
        token (the LM head runs on those positions only, not the whole vocabulary × sequence)."""
        decoder = self.language_model.get_decoder()
        hidden = decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        last = attention_mask.sum(dim=1) - 1
        final = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        with torch.autocast(device_type=final.device.type, enabled=False):  # bf16 rewards would tie needlessly
            rewards = self.reward_head(final.to(self.reward_head.weight.dtype)).squeeze(-1)
        if critique_mask is None:
            return CloudOutput(rewards)
        targets = critique_mask[:, 1:].bool()
        logits = self.language_model.get_output_embeddings()(hidden[:, :-1][targets])
        return CloudOutput(rewards, logits, input_ids[:, 1:][targets])

    def activation_checkpointing_enable(self, **kwargs: Any) -> None:
        """Recompute the backbone's activations in backward (called by the Trainer when asked)."""
        self.language_model.activation_checkpointing_enable(**kwargs)


def new_reward_head(config: Any) -> nn.Linear:
    """A one-output linear head, initialized like transformers' score heads (normal, std = initializer_range)."""
    head = nn.Linear(config.hidden_size, 1, bias=False)
    nn.init.normal_(head.weight, std=getattr(config, "initializer_range", 0.02))
    return head


def self_consistent_score(critiques: Sequence[str], rewards: Sequence[float]) -> Score:
    """Mean reward over the K critiques of one response; their (population) variance is the uncertainty."""
    values = np.asarray(rewards, dtype=float)
    meta = {"critiques": list(critiques), "critique_rewards": values.tolist(), "variance": float(values.var())}
    return Score(value=float(values.mean()), text=critiques[0], meta=meta)


def _pair_meta(a: Score, b: Score) -> dict[str, Any]:
    return {
        "variance_a": a.meta["variance"],
        "variance_b": b.meta["variance"],
        "critique_a": a.text,
        "critique_b": b.text,
    }


class CloudRewardModel:
    """RewardModel protocol over a CloudNetwork: critique, then reward (mean over K critiques)."""

    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(
        self,
        network: CloudNetwork,
        tokenizer: PreTrainedTokenizerBase,
        critique_format: CritiqueFormatConfig,
        *,
        base_model: str,
        sampling: CritiqueSamplingConfig | None = None,
        name: str | None = None,
        device: torch.device | str | None = None,
        precision: Precision = "auto",
        max_tokens_per_batch: int | None = None,
        max_batch_rows: int = 32,
    ) -> None:
        self.network = network
        self.tokenizer = tokenizer
        self.critique_format = critique_format
        self.encoder = CritiqueEncoder(tokenizer, critique_format)
        self.base_model = base_model
        self.sampling = sampling or CritiqueSamplingConfig()
        self.name = name or f"{FAMILY}:{base_model}"
        self.device = pick_device(str(device) if device else None)
        self.precision = precision
        self.network.language_model.to(self.device, precision_dtype(precision, self.device))
        self.network.reward_head.to(self.device)
        self.max_tokens_per_batch = max_tokens_per_batch or default_token_budget(self.device)
        self.max_batch_rows = max_batch_rows

    @classmethod
    def from_backbone(
        cls, spec: str, critique_format: CritiqueFormatConfig | None = None, seed: int = 0, **kwargs: Any
    ) -> CloudRewardModel:
        """A causal-LM checkpoint (`default`, a directory, a GGUF file or a Hub id) with a fresh seeded reward head."""
        language_model = AutoModelForCausalLM.from_pretrained(resolve_model_path(spec), dtype=torch.float32)
        torch.manual_seed(seed)
        network = CloudNetwork(language_model)
        base = str(Path(spec).expanduser().resolve()) if Path(spec).expanduser().exists() else spec
        return cls(network, load_tokenizer(spec), critique_format or CritiqueFormatConfig(), base_model=base, **kwargs)

    @classmethod
    def load(
        cls, directory: str | Path, sampling_overrides: dict[str, Any] | None = None, **kwargs: Any
    ) -> CloudRewardModel:
        """Restore a directory written by `save`; `sampling_overrides` change its saved inference sampling."""
        path = Path(directory).expanduser()
        manifest = read_family_manifest(path, FAMILY)
        language_model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        head = new_reward_head(language_model.config)
        head.load_state_dict(load_file(path / REWARD_HEAD_FILE))
        saved = with_current_keys(manifest.get("sampling", {}), f"{path}: sampling", warn=False)
        sampling = {**saved, **(sampling_overrides or {})}
        kwargs.setdefault("name", f"{FAMILY}:{path}")
        network = CloudNetwork(language_model.eval(), head)
        return cls(
            network,
            load_tokenizer(str(path)),
            CritiqueFormatConfig(**manifest["critique_format"]),
            base_model=manifest["base_model"],
            sampling=build_sampling(sampling, f"{path}: sampling"),
            **kwargs,
        )

    def save(self, directory: str | Path) -> Path:
        """Write the causal LM + tokenizer, the reward head and rewardkit.json into one directory."""
        from peft import PeftModel

        if isinstance(self.network.language_model, PeftModel):
            raise ValueError("merge the LoRA adapters (merge_and_unload) before saving a CLoud model")
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.network.language_model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        head = {"weight": self.network.reward_head.weight.detach().float().cpu().contiguous()}
        save_file(head, path / REWARD_HEAD_FILE)
        (path / MANIFEST_NAME).write_text(json.dumps(self.manifest(), indent=2) + "\n")
        return path

    def manifest(self) -> dict[str, Any]:
        from rewardkit import __version__

        return {
            "family": FAMILY,
            "base_model": self.base_model,
            "critique_format": asdict(self.critique_format),
            "sampling": asdict(self.sampling),
            "rewardkit_version": __version__,
        }

    def critique_engine(self) -> HFEngine:
        """Generation over the network's own LM (same weights as the reward head reads)."""
        eos_ids = [self.tokenizer.eos_token_id] if self.tokenizer.eos_token_id is not None else []
        return HFEngine(
            self.network.language_model,
            eos_ids,
            self.tokenizer.pad_token_id,
            self.device,
            self.max_batch_rows,
            self.precision,
        )

    def generate_critiques(
        self, prompts: Sequence[Prompt], responses: Sequence[str], sampling: CritiqueSamplingConfig | None = None
    ) -> list[list[str]]:
        """K critiques per response (one prefill per response, K rows decoded from its copied KV cache)."""
        if len(prompts) != len(responses):
            raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
        sampling = sampling or self.sampling
        contexts = [
            self.encoder.context(prompt, response) for prompt, response in zip(prompts, responses, strict=True)
        ]
        samples = self.critique_engine().generate(
            contexts, sampling.num_samples, sampling.params(self.critique_format.max_new_tokens)
        )
        decode = self.tokenizer.batch_decode
        return [[text.strip() for text in decode(rows, skip_special_tokens=True)] for rows in samples]

    def critique_rewards(
        self, prompts: Sequence[Prompt], responses: Sequence[str], critiques: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        """The reward head's value for every (prompt, response, critique), all in one length-sorted pool."""
        flat = [
            self.encoder.with_critique(prompt, response, critique).input_ids
            for prompt, response, texts in zip(prompts, responses, critiques, strict=True)
            for critique in texts
        ]
        values = iter(self.rewards_for_ids(flat))
        return [[next(values) for _ in texts] for texts in critiques]

    def rewards_for_ids(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """Rewards of token-id sequences, batched longest first under the token budget, in input order."""
        self.network.eval()
        with torch.inference_mode(), autocast_context(self.device, self.precision):
            return map_in_token_budget_batches(sequences, self.max_tokens_per_batch, self._forward)

    def _forward(self, sequences: list[Sequence[int]]) -> list[float]:
        input_ids, attention_mask = pad_right(sequences, self.tokenizer.pad_token_id)
        rewards = self.network(input_ids.to(self.device), attention_mask.to(self.device)).rewards
        return rewards.float().cpu().tolist()

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        """Reward = mean over K critiques; text = the first critique; meta: all critiques, their rewards, variance."""
        critiques = self.generate_critiques(prompts, responses)
        rewards = self.critique_rewards(prompts, responses, critiques)
        return [self_consistent_score(texts, values) for texts, values in zip(critiques, rewards, strict=True)]

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """σ(r_a − r_b) on the mean rewards; both sides are critiqued and scored in one batched call."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b, meta=_pair_meta)


def build_sampling(values: dict[str, Any], where: str) -> CritiqueSamplingConfig:
    """A checked CritiqueSamplingConfig from typed values or spec strings; errors name `where` and the allowed keys."""
    try:
        return TypeAdapter(CritiqueSamplingConfig).validate_python(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc'])) or 'value'}: {item['msg']}" for item in error.errors())
        allowed = ", ".join(CritiqueSamplingConfig.__dataclass_fields__)
        raise ValueError(f"{where}: {problems} (sampling options: {allowed})") from None


def load_cloud(argument: str) -> CloudRewardModel:
    """Registry loader: `DIR`, or `DIR?num_samples=4&temperature=0.7&max_new_tokens=128&top_p=0.95&seed=0` with
    `&precision=auto|bf16|fp32`; the older keys `k` and `dtype` still work (with a deprecation note)."""
    directory, _, query = argument.partition("?")
    if not directory:
        raise ValueError("a cloud spec needs a model directory: cloud:DIR?num_samples=4&temperature=0.7")
    query_options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    options = with_current_keys(query_options, f"cloud:{argument}")
    precision = options.pop("precision", "auto")
    name = f"{FAMILY}:{argument}"
    return CloudRewardModel.load(directory, sampling_overrides=options, precision=precision, name=name)
