"""The generation-engine interface: engines know token ids and sampling parameters, never text or verdicts.

Templates, verdict parsing and voting live above this layer (rewardkit.families.generative). Engines are built
by name from a registry (`hf` default, `vllm`, `llamacpp`), so the judge never branches on backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

TokenIds = list[int]

# (prompt index, finished samples of that prompt so far, samples of that prompt still being decoded) -> stop now?
EarlyStopHook = Callable[[int, list[TokenIds], int], bool]


@dataclass(frozen=True)
class SamplingParams:
    """How to draw continuations; temperature 0 means greedy decoding."""

    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop_token_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"SamplingParams.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"SamplingParams.top_k must be >= 0 (0 = off), got {self.top_k}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@runtime_checkable
class GenerationEngine(Protocol):
    """Token-level generation and next-token scoring over one causal LM."""

    def generate(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        stop_early: EarlyStopHook | None = None,
    ) -> list[list[TokenIds]]:
        """`num_samples` continuations per prompt (stop tokens excluded); fewer when `stop_early` ends a prompt's
        samples."""
        ...

    def next_token_logprobs(self, prompt_ids: Sequence[TokenIds], candidate_ids: Sequence[int]) -> list[list[float]]:
        """Full-vocabulary log-probability of each candidate token right after each prompt."""
        ...


@dataclass(frozen=True)
class ReadAfter:
    """What to read after each finished sample: `suffix_ids` fed after the sample's own tokens (its stop token
    left out), then the log-probabilities of `candidate_ids` at the next position (a verdict after a rationale)."""

    suffix_ids: tuple[int, ...]
    candidate_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.suffix_ids or not self.candidate_ids:
            raise ValueError("ReadAfter needs at least one suffix token and one candidate token")


@dataclass
class SamplesWithReadings:
    """Samples per prompt and, in the same order, each sample's log-probabilities of the ReadAfter candidates."""

    samples: list[list[TokenIds]]
    readings: list[list[list[float]]]


@runtime_checkable
class ReadsAfterSamples(Protocol):
    """An engine that reads a suffix after each sample on the sampler's own KV cache (HFEngine), so a verdict read
    after a rationale does not re-run prompt + rationale. Engines with automatic prefix caching (vLLM) get the same
    saving from `next_token_logprobs` and need not implement it."""

    def generate_and_read(
        self,
        prompt_ids: Sequence[TokenIds],
        num_samples: int,
        params: SamplingParams,
        read_after: ReadAfter,
        stop_early: EarlyStopHook | None = None,
    ) -> SamplesWithReadings:
        """`generate`, plus each sample's reading after `read_after.suffix_ids`."""
        ...


class MissingExtraError(ImportError):
    """An optional engine whose package is not installed."""


def import_optional(module_name: str, extra: str, engine_name: str) -> Any:
    """Import an optional backend lazily, or explain which pip extra provides it."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise MissingExtraError(
            f"The {engine_name!r} engine needs the `{module_name}` package, which is not installed: "
            f"run `pip install 'rewardkit[{extra}]'` (or pick engine='hf')."
        ) from error


# engine name -> "module:callable" taking (model_spec, **options) and returning a GenerationEngine.
_ENGINES: dict[str, str | Callable[..., GenerationEngine]] = {
    "hf": "rewardkit.inference.hf_engine:HFEngine.from_spec",
    "vllm": "rewardkit.inference.vllm_engine:VLLMEngine.from_spec",
    "llamacpp": "rewardkit.inference.llamacpp_engine:LlamaCppEngine.from_spec",
}


def register_engine(name: str, target: str | Callable[..., GenerationEngine]) -> None:
    """Register an engine builder ("module:callable" or a callable) under a name."""
    _ENGINES[name] = target


def registered_engines() -> list[str]:
    return sorted(_ENGINES)


def _resolve_builder(name: str) -> Callable[..., GenerationEngine]:
    target = _ENGINES[name]
    if callable(target):
        return target
    module_name, _, attribute_path = target.partition(":")
    builder: Any = importlib.import_module(module_name)
    for attribute in attribute_path.split("."):
        builder = getattr(builder, attribute)
    return builder


def create_engine(name: str, model_spec: str, **options: Any) -> GenerationEngine:
    """Build the engine registered as `name` for a model spec (`default`, a directory, a GGUF file or a Hub id)."""
    if name not in _ENGINES:
        raise ValueError(f"Unknown engine {name!r}: choose one of {', '.join(registered_engines())}")
    return _resolve_builder(name)(model_spec, **options)
