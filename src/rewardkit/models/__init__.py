"""Model loading: Hub ids, local directories, GGUF files and the embedded default model."""

from rewardkit.models.device import pick_device
from rewardkit.models.loading import DEFAULT_MODEL, load_causal_lm, load_tokenizer, resolve_model_path
from rewardkit.models.precision import Precision, autocast_context, resolve_precision, supports_bf16

__all__ = [
    "DEFAULT_MODEL",
    "Precision",
    "autocast_context",
    "load_causal_lm",
    "load_tokenizer",
    "pick_device",
    "resolve_precision",
    "resolve_model_path",
    "supports_bf16",
]
