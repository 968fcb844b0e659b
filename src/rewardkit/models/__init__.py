"""Model loading: Hub ids, local directories, GGUF files and the embedded default model."""

from rewardkit.models.device import autocast_context, pick_device, supports_bf16
from rewardkit.models.loading import DEFAULT_MODEL, load_causal_lm, load_tokenizer, resolve_model_path

__all__ = [
    "DEFAULT_MODEL",
    "autocast_context",
    "load_causal_lm",
    "load_tokenizer",
    "pick_device",
    "resolve_model_path",
    "supports_bf16",
]
