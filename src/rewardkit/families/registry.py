"""Name -> loader for reward-model specs, so the evaluator, Best-of-N and the server never branch on families.

A spec is either a registered name (`random`, `longer`, `loglik`, optionally `name:argument`, e.g.
`loglik:default`), a directory saved by rewardkit, whose `rewardkit.json` names its family, or a reward model saved
without rewardkit: a Hugging Face `*ForSequenceClassification` directory or Hub id with one output (family
`classifier`; `classifier:ID` says so explicitly).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

from rewardkit.protocol import RewardModel

MANIFEST_NAME = "rewardkit.json"

# family -> "module:callable"; the callable takes the spec argument (or directory) and returns a RewardModel.
_LOADERS: dict[str, str] = {
    "random": "rewardkit.families.baselines:load_random",
    "longer": "rewardkit.families.baselines:load_longer",
    "loglik": "rewardkit.families.baselines:load_loglik",
    "bt": "rewardkit.families.scalar:ScalarRewardModel.load",
    "judge": "rewardkit.families.generative:load_judge",
    "ensemble": "rewardkit.families.ensemble:EnsembleRewardModel.load",
    "cloud": "rewardkit.families.cloud:load_cloud",
    "process": "rewardkit.families.process:load_process",
    "remote": "rewardkit.families.remote:load_remote",
    "classifier": "rewardkit.families.scalar:load_sequence_classifier",
}
CLASSIFIER_FAMILY = "classifier"


def register_family(name: str, target: str | Callable[[str], RewardModel]) -> None:
    """Register a loader ("module:callable" string or a callable) under a family name."""
    _LOADERS[name] = target


def registered_families() -> list[str]:
    return sorted(_LOADERS)


def _resolve_loader(name: str) -> Callable[[str], RewardModel]:
    target = _LOADERS[name]
    if callable(target):
        return target
    module_name, _, attribute_path = target.partition(":")
    loader = importlib.import_module(module_name)
    for attribute in attribute_path.split("."):
        loader = getattr(loader, attribute)
    return loader


def read_manifest(directory: Path) -> dict:
    """The rewardkit.json of a saved model directory, with a clear error when absent or unreadable."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ValueError(f"{directory} is not a rewardkit model directory: {MANIFEST_NAME} is missing")
    try:
        return json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{manifest_path}:{error.lineno}: invalid JSON ({error.msg})") from error


def read_family_manifest(directory: Path, family: str) -> dict:
    """The rewardkit.json of a saved model directory, checked to name `family`."""
    manifest = read_manifest(directory)
    if manifest.get("family") != family:
        raise ValueError(
            f"{directory / MANIFEST_NAME}: field 'family': expected {family!r}, got {manifest.get('family')!r}"
        )
    return manifest


def looks_like_hub_id(spec: str) -> bool:
    """`owner/name`: the shape of a Hugging Face Hub model id."""
    owner, slash, name = spec.partition("/")
    return bool(slash and owner and name) and "/" not in name and ":" not in spec


def load_reward_model(spec: str) -> RewardModel:
    """Load any reward model by spec: a registered name (`name` or `name:argument`), a directory saved by rewardkit,
    or a sequence-classification reward model saved without rewardkit (a directory with only config.json, or a Hub
    id)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file() and (path / "config.json").is_file():
            return _resolve_loader(CLASSIFIER_FAMILY)(str(path))
        family = read_manifest(path).get("family")
        if family not in _LOADERS:
            raise ValueError(f"{path / MANIFEST_NAME}: field 'family': unknown family {family!r}")
        return _resolve_loader(family)(str(path))
    name, _, argument = spec.partition(":")
    if name in _LOADERS:
        return _resolve_loader(name)(argument)
    if looks_like_hub_id(spec):
        return _resolve_loader(CLASSIFIER_FAMILY)(spec)
    raise ValueError(
        f"Unknown reward model spec {spec!r}: not a directory, not a Hub id (owner/name) and not one of "
        f"{', '.join(registered_families())}"
    )
