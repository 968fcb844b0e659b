"""Bradley-Terry scalar reward model: an LM backbone with a one-output score head (Ouyang et al. 2022, 2203.02155).

`compare` is σ(r_a − r_b), the Bradley-Terry probability. Scoring encodes each (prompt, response) with the chat
template (prompt cut from the left) and groups the responses of one prompt: on CPU the prompt's tokens and then every
response's own tokens are packed into one row with a tree attention mask (models/shared_prefix.py), so the prompt
is read once and each reward is read at its response's last token. Rows (and sequences read whole) are sorted by
length and batched under a padded-token budget.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from rewardkit.families.registry import MANIFEST_NAME, read_family_manifest
from rewardkit.models.chat import (
    ResponseCuts,
    TruncationConfig,
    encode_prompt_response,
    prompt_key,
    render_conversation,
)
from rewardkit.models.device import pick_device
from rewardkit.models.loading import resolve_model_path
from rewardkit.models.precision import Precision, autocast_context, resolve_precision
from rewardkit.models.shared_prefix import (
    TREE_ATTENTION,
    PackedRow,
    TokenScores,
    attention_to_linear_cost,
    compiled_token_scores,
    groups_by_key,
    pack_group,
    packed_attention_mask,
    packed_scores,
    tree_layout,
    use_tree_attention,
    whole_row,
)
from rewardkit.models.token_budget import pad_right, token_budget_batches
from rewardkit.protocol import Capabilities, Preference, Prompt, Score, compare_by_scoring
from rewardkit.vocabulary import PACKINGS, Packing

logger = logging.getLogger(__name__)

FAMILY = "bt"
PACKING_ENV = "REWARDKIT_PACKING"
COMPILE_ENV = "REWARDKIT_COMPILE"
CLASSIFIER_SUFFIX = "ForSequenceClassification"
ADDED_PAD_TOKEN = "<|rewardkit_pad|>"
_PAD_PROBE_CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello, what is 2 + 2?"},
]


def _chat_probe_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Token ids a chat-formatted prompt + response contains (template markers, system prompt, end of turn)."""
    text = render_conversation(tokenizer, _PAD_PROBE_CHAT, "It is 4.")
    return set(tokenizer(text, add_special_tokens=False)["input_ids"])


def choose_pad_token(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """A token that chat-formatted text never holds, so the rightmost non-pad token is the true last token.

    SmolLM2's pad = eos = <|im_end|> also ends every turn; pooling on it would read the wrong position.
    """
    used_ids = _chat_probe_ids(tokenizer)
    vocab = tokenizer.get_vocab()
    for token in ("<|endoftext|>", tokenizer.unk_token, tokenizer.pad_token):
        if token and token in vocab and token != tokenizer.eos_token and vocab[token] not in used_ids:
            return token
    return None


def install_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    """Set a pad token that never occurs in chat text (adding one and resizing embeddings if none exists)."""
    token = choose_pad_token(tokenizer)
    if token is None:
        tokenizer.add_special_tokens({"pad_token": ADDED_PAD_TOKEN})
        model.resize_token_embeddings(len(tokenizer))
    else:
        tokenizer.pad_token = token
    model.config.pad_token_id = tokenizer.pad_token_id


def _model_with_new_head(path: str) -> PreTrainedModel:
    """A one-output sequence-classification model from a checkpoint whose score head is new (randomly initialized).

    transformers reports the missing `score.weight` as a warning; here it is expected, so the report is silenced.
    """
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    finally:
        hf_logging.set_verbosity(previous)


def _spec_for_manifest(spec: str) -> str:
    """Local paths become absolute (a saved model must reload from any working directory); others stay as given."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def default_token_budget(device: torch.device) -> int:
    """Padded tokens per forward: small on CPU (2,048 measured fastest on 2 cores, see docs/BENCHMARKS.md), large on
    GPU where wide batches are what keeps the device busy."""
    return 16384 if device.type == "cuda" else 2048


def packing_from_environment() -> Packing:
    """REWARDKIT_PACKING: `auto` (unset or empty), `on` or `off`; anything else is refused, naming the variable."""
    value = os.environ.get(PACKING_ENV, "").strip().lower() or "auto"
    if value not in PACKINGS:
        raise ValueError(f"{PACKING_ENV}={value!r} is not one of {', '.join(PACKINGS)}")
    return value  # type: ignore[return-value]


def compile_from_environment() -> bool:
    """REWARDKIT_COMPILE: `on` compiles the scorer's forward (torch.compile), `off` (unset or empty) does not;
    anything else is refused, naming the variable."""
    value = os.environ.get(COMPILE_ENV, "").strip().lower() or "off"
    if value not in ("on", "off"):
        raise ValueError(f"{COMPILE_ENV}={value!r} is not one of on, off")
    return value == "on"


class ScalarRewardModel:
    """A sequence-classification LM with one output: reward = score head on the last token's hidden state."""

    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        base_model: str,
        truncation: TruncationConfig | None = None,
        name: str | None = None,
        device: torch.device | str | None = None,
        precision: Precision = "auto",
        max_tokens_per_batch: int | None = None,
        compile_forward: bool | None = None,
    ) -> None:
        if tokenizer.pad_token_id is None or tokenizer.pad_token_id != model.config.pad_token_id:
            raise ValueError(
                f"tokenizer pad token {tokenizer.pad_token!r} must match model.config.pad_token_id "
                f"({model.config.pad_token_id}); build the model with ScalarRewardModel.from_backbone"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.base_model = base_model
        self.truncation = truncation or TruncationConfig()
        self.response_cuts = ResponseCuts()
        self.name = name or f"{FAMILY}:{base_model}"
        self.device = pick_device(str(device) if device else None)
        self.precision = resolve_precision(precision, self.device)
        self.max_tokens_per_batch = max_tokens_per_batch or default_token_budget(self.device)
        self.compile_forward = compile_from_environment() if compile_forward is None else compile_forward
        self._compiled: TokenScores | None = None
        self.model.to(self.device)
        self.tree_attention = self.device.type == "cpu"
        if self.tree_attention:
            use_tree_attention(self._attention_model())

    @property
    def is_lora(self) -> bool:
        """True when the model is a peft adapter on top of `base_model`."""
        from peft import PeftModel

        return isinstance(self.model, PeftModel)

    @classmethod
    def from_backbone(
        cls, spec: str, seed: int = 0, *, truncation: TruncationConfig | None = None, **kwargs: Any
    ) -> ScalarRewardModel:
        """A fresh (seeded) score head on a causal-LM checkpoint: `default`, a local dir, a GGUF file or a Hub id."""
        path = resolve_model_path(spec)
        tokenizer = AutoTokenizer.from_pretrained(path)
        torch.manual_seed(seed)
        model = _model_with_new_head(path)
        install_pad_token(tokenizer, model)
        return cls(model, tokenizer, base_model=_spec_for_manifest(spec), truncation=truncation, **kwargs)

    @classmethod
    def load(cls, directory: str, **kwargs: Any) -> ScalarRewardModel:
        """Restore a model written by `save` (full fine-tune or LoRA adapter on the manifest's base model)."""
        path = Path(directory).expanduser()
        manifest = read_family_manifest(path, FAMILY)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if manifest.get("adapter") == "lora":
            model = _load_lora_model(path, manifest["base_model"], tokenizer)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
        truncation = TruncationConfig.from_manifest(manifest.get("truncation", {}))
        kwargs.setdefault("name", f"{FAMILY}:{path}")
        return cls(
            model.eval(), tokenizer, base_model=manifest["base_model"], truncation=truncation, **kwargs
        ).with_scoring_weights()

    def with_scoring_weights(self) -> ScalarRewardModel:
        """For a model that only scores (what `load` returns): on the bf16 path its weights are held in bf16, as a
        decoding engine holds them, instead of being cast from fp32 by autocast on every forward (the norms still
        take their variance in fp32). Faster per token on CPU (docs/BENCHMARKS.md); rewards move by bf16 rounding
        only. Training builds its model with `from_backbone`, whose weights stay fp32."""
        if self.precision == "bf16":
            self.model.to(torch.bfloat16)
        return self

    def save(self, directory: str | Path) -> Path:
        """Write one directory: rewardkit.json + the model (full weights, or the LoRA adapter with its score head)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (path / MANIFEST_NAME).write_text(json.dumps(self.manifest(), indent=2) + "\n")
        return path

    def manifest(self) -> dict[str, Any]:
        """What `load` needs to rebuild this model, plus provenance."""
        from rewardkit import __version__

        return {
            "family": FAMILY,
            "base_model": self.base_model,
            "adapter": "lora" if self.is_lora else "full",
            "truncation": self.truncation.to_manifest(),
            "pad_token": self.tokenizer.pad_token,
            "rewardkit_version": __version__,
        }

    def token_count(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> int:
        """Tokens the model reads for these (prompt, response) pairs, truncated as in `encode` (the `usage` of the
        vLLM/SGLang-shaped endpoints); unlike `encode` it leaves the truncation statistics alone."""
        return sum(
            len(encode_prompt_response(self.tokenizer, prompt, response, self.truncation).input_ids)
            for prompt, response in zip(prompts, responses, strict=True)
        )

    def encode(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[list[int]]:
        """Token ids per (prompt, response) in the model's text format, truncated as its manifest says."""
        if len(prompts) != len(responses):
            raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
        encoded = [
            encode_prompt_response(self.tokenizer, prompt, response, self.truncation)
            for prompt, response in zip(prompts, responses, strict=True)
        ]
        if self.response_cuts.add(encoded):
            self._log_response_cuts()
        return [pair.input_ids for pair in encoded]

    def _log_response_cuts(self) -> None:
        """Long responses are scored, cut by the model's rule; say how many so far (a reader refuses none)."""
        logger.info(
            "%s: %d of %d responses scored so far were longer than max_response_length=%d tokens and cut (%s)",
            self.name,
            self.response_cuts.cut,
            self.response_cuts.responses,
            self.truncation.max_response_length,
            self.truncation.response_truncation,
        )

    def rewards(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[float]:
        """One scalar reward per (prompt, response), in input order; each prompt's tokens are read once."""
        return self.rewards_for_ids(self.encode(prompts, responses), [prompt_key(prompt) for prompt in prompts])

    def rewards_for_ids(
        self, sequences: Sequence[Sequence[int]], prompt_keys: Sequence[Any] | None = None
    ) -> list[float]:
        """Rewards for token-id sequences, in input order. A sequence repeated (the master-key probe's real answer,
        a duplicated candidate) is scored once; sequences with the same prompt key are packed so the tokens they have
        in common are read once. Without keys (or on a model that cannot pack) each is read whole."""
        unique_index: dict[tuple[int, ...], int] = {}
        positions = [unique_index.setdefault(tuple(sequence), len(unique_index)) for sequence in sequences]
        unique = [list(sequence) for sequence in unique_index]
        keys: Sequence[Any] = range(len(unique))
        if prompt_keys is not None and self.shares_prefixes:
            keys = [None] * len(unique)
            for position, key in zip(positions, prompt_keys, strict=True):
                keys[position] = key
        values = self._rewards_of_distinct(unique, keys)
        return [values[position] for position in positions]

    def _rewards_of_distinct(self, sequences: list[list[int]], prompt_keys: Sequence[Any]) -> list[float]:
        """Sequences sharing a prefix are packed into rows (models/shared_prefix.py), the others read whole; each
        kind batched by length under the token budget."""
        groups = groups_by_key(sequences, prompt_keys)
        alone = [group.members[0] for group in groups if group.prefix_length == 0]
        cost = 0.0 if self.reads_tree_layout else attention_to_linear_cost(self.model)
        rows = [row for group in groups if group.prefix_length for row in pack_group(sequences, group, cost)]
        if self.compiles:
            rows = [whole_row(member, sequences[member]) for member in alone] + rows
            alone = []
        values = [0.0] * len(sequences)
        self.model.eval()
        with torch.inference_mode(), autocast_context(self.device, self.precision):
            for batch in token_budget_batches([len(sequences[member]) for member in alone], self.max_tokens_per_batch):
                members = [alone[index] for index in batch]
                scores = self._whole_scores([sequences[member] for member in members])
                for member, value in zip(members, scores, strict=True):
                    values[member] = value
            for batch in token_budget_batches([len(row.tokens) for row in rows], self.max_tokens_per_batch):
                for member, value in self._packed_scores([rows[index] for index in batch]).items():
                    values[member] = value
        return values

    @property
    def shares_prefixes(self) -> bool:
        """Whether sequences of one prompt are packed, for a model that can read packed rows (`packs_rows`), as
        REWARDKIT_PACKING says: `auto` (unset) packs on CPU only, `on` on any device, `off` never. On CUDA `auto`
        reads each sequence whole: the H200 run of bench/gpu_check.sh measured the earlier KV-cache form of sharing
        at 0.24x-0.52x the unshared path (docs/BENCHMARKS.md); the packed form has not run on a GPU yet, and
        bench/gpu_check.sh times it there with REWARDKIT_PACKING=on."""
        setting = packing_from_environment()
        if setting == "auto":
            return self.device.type == "cpu" and self.packs_rows
        return setting == "on" and self.packs_rows

    @property
    def compiles(self) -> bool:
        """Whether scoring runs the compiled forward (`compile_forward`, by default REWARDKIT_COMPILE): every
        sequence then goes through it as a packed row, so one graph serves all batches. Off by default: compiling
        takes a minute or more on 2 CPU cores and repays it only over many batches (docs/BENCHMARKS.md), e.g. in a
        long-lived server. A model that cannot pack rows (or an unmerged LoRA adapter) stays eager."""
        return self.compile_forward and self.packs_rows and not self.is_lora

    @property
    def reads_tree_layout(self) -> bool:
        """Whether packed rows go through `tree_attention` with their layout (on CPU, eager forward): attention then
        costs each member only its own queries over the prefix and itself, so every response of a prompt joins the
        prompt's row. Otherwise the dense tree mask is read and rows stop growing when a new row is cheaper."""
        under_tree = self._attention_model().config._attn_implementation == TREE_ATTENTION
        return self.tree_attention and under_tree and not self.compiles

    @property
    def packs_rows(self) -> bool:
        """True for classifiers with a `score` head under SDPA attention, which reads the packed rows' boolean tree
        mask (others, e.g. DeBERTa's `classifier`, eager attention or a sliding attention window, which a custom mask
        would override, read each sequence whole)."""
        model = self._attention_model()
        config = model.config
        sliding = getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True)
        return config._attn_implementation in ("sdpa", TREE_ATTENTION) and hasattr(model, "score") and not sliding

    def _attention_model(self) -> PreTrainedModel:
        return self.model.get_base_model() if self.is_lora else self.model

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        return [Score(value=value) for value in self.rewards(prompts, responses)]

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """P(a better) = σ(r_a − r_b); both sides are scored in one length-sorted pool."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b)

    def _whole_scores(self, sequences: list[list[int]]) -> list[float]:
        """Right-padded sequences read whole; the model's own pooling reads the score at each last non-pad token."""
        ids, mask = pad_right(sequences, self.tokenizer.pad_token_id)
        logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), use_cache=False).logits
        return logits[:, 0].float().cpu().tolist()

    def _packed_scores(self, rows: list[PackedRow]) -> dict[int, float]:
        """One forward over right-padded packed rows with their tree attention mask; the score head's output is read
        at every member's last token."""
        ids, _ = pad_right([row.tokens for row in rows], self.tokenizer.pad_token_id)
        positions, _ = pad_right([row.positions for row in rows], 0)
        segments, _ = pad_right([row.segments for row in rows], -1)
        mask = packed_attention_mask(segments).to(self.device)
        if self.compiles:
            scores = self._compiled_token_scores()(ids.to(self.device), mask, positions.to(self.device))
        else:
            layout = tree_layout(rows, self.device) if self.reads_tree_layout else None
            scores = packed_scores(self.model, ids.to(self.device), mask, positions.to(self.device), layout)
        scores = scores.float().cpu()
        return {
            member: float(scores[row, end]) for row, packed in enumerate(rows) for member, end in packed.ends.items()
        }

    def compiled_copy(self) -> ScalarRewardModel:
        """This scorer with its forward compiled, on the same model object (nothing is copied but the settings)."""
        twin = copy.copy(self)
        twin.compile_forward, twin._compiled = True, None
        if not twin.compiles:
            raise ValueError(f"{self.name} cannot run a compiled forward: it does not read packed rows")
        return twin

    def dense_mask_copy(self) -> ScalarRewardModel:
        """This scorer reading packed rows through the dense tree mask instead of tree attention, on the same model
        object (for side-by-side timing)."""
        twin = copy.copy(self)
        twin.tree_attention = False
        return twin

    def warm_up(self) -> None:
        """Compile now rather than in the first real batch (a server calls this before it listens). The one graph
        serves every later batch, of one row or many. Nothing to do when the forward is not compiled."""
        if self.compiles:
            self.rewards(["Warm-up question one?", "Warm-up question two?"], ["An answer.", "Another answer."])

    def _compiled_token_scores(self) -> TokenScores:
        if self._compiled is None:
            logger.info(
                "%s: compiling the scorer (torch.compile, dynamic shapes); its first batch waits for it, one to two "
                "minutes on 2 CPU cores",
                self.name,
            )
            self._compiled = compiled_token_scores(self.model)
        return self._compiled


def _load_lora_model(path: Path, base_spec: str, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """The base model named in the manifest with the saved adapter (LoRA weights + trained score head) merged in:
    inference then runs plain linear layers instead of base + low-rank product at every forward."""
    from peft import PeftModel

    base = _model_with_new_head(resolve_model_path(base_spec))
    if len(tokenizer) > base.get_input_embeddings().num_embeddings:
        base.resize_token_embeddings(len(tokenizer))
    base.config.pad_token_id = tokenizer.pad_token_id
    return PeftModel.from_pretrained(base, path).merge_and_unload()


def check_reward_model_config(config: PretrainedConfig, spec: str) -> None:
    """A reward model is a `*ForSequenceClassification` with one output; anything else is refused, saying what it
    is."""
    architectures = config.architectures or []
    if not any(name.endswith(CLASSIFIER_SUFFIX) for name in architectures):
        raise ValueError(
            f"{spec}: config.json field 'architectures' is {architectures}: not a *{CLASSIFIER_SUFFIX} model, so "
            f"there is no score head to read a reward from (a causal LM can be a judge, `judge:{spec}`, or the "
            f"backbone of one: `rewardkit train bt --set model={spec}`)"
        )
    if config.num_labels != 1:
        raise ValueError(
            f"{spec}: config.json field 'num_labels' is {config.num_labels}: a classifier over {config.num_labels} "
            "classes, not a reward model (a reward model has exactly one output)"
        )


def align_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel, spec: str) -> None:
    """Pad with the token the model skips when it pools (`config.pad_token_id`); without one, TRL's convention:
    the tokenizer's pad token, else its end-of-sequence token."""
    config_pad = model.config.pad_token_id
    if config_pad is None:
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.pad_token is None:
            raise ValueError(f"{spec}: neither config.json nor the tokenizer names a pad or end-of-sequence token")
        model.config.pad_token_id = tokenizer.pad_token_id
    elif tokenizer.pad_token_id != config_pad:
        logger.warning(
            "%s: tokenizer pad token %r differs from config.json pad_token_id %s; padding with the config's, which "
            "is the one the model skips when it reads the reward",
            spec,
            tokenizer.pad_token,
            config_pad,
        )
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(config_pad)


def load_sequence_classifier(spec: str, **kwargs: Any) -> ScalarRewardModel:
    """A reward model saved without rewardkit: a `*ForSequenceClassification` with num_labels=1 (TRL's
    RewardTrainer output, OpenRLHF reward models, Skywork-Reward and the like), from a directory or a Hub id.

    It reads conversations the way its own chat template writes them (the text TRL and OpenRLHF train on), with the
    prompt cut from the left only beyond the model's context length.
    """
    path = resolve_model_path(spec)
    config = AutoConfig.from_pretrained(path)
    check_reward_model_config(config, spec)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if not tokenizer.chat_template:
        raise ValueError(
            f"{spec}: the tokenizer has no chat template, so how this reward model reads a conversation is unknown; "
            "set tokenizer.chat_template to the one it was trained with and save it beside the model"
        )
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
    align_pad_token(tokenizer, model, spec)
    context = getattr(config, "max_position_embeddings", None)
    truncation = TruncationConfig(max_length=context, max_response_length=context) if context else None
    kwargs.setdefault("name", f"{FAMILY}:{spec}")
    return ScalarRewardModel(
        model.eval(), tokenizer, base_model=spec, truncation=truncation, **kwargs
    ).with_scoring_weights()
