"""ScalarRewardModel: pad-token choice, padding invariance, batching, compare, save/load identity (tiny model)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rewardkit.families import scalar
from rewardkit.families.registry import load_reward_model
from rewardkit.families.scalar import ScalarRewardModel, install_pad_token
from rewardkit.models.chat import TruncationConfig, as_messages, legacy_truncation
from rewardkit.models.shared_prefix import TREE_ATTENTION
from rewardkit.protocol import RewardModel

PROMPTS = [
    "What is 12 plus 7?",
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse the string abc."}],
    "Count the letters in the word banana, then explain step by step how you counted them.",
]
RESPONSES = ["19", "cba", "There are 6 letters: b, a, n, a, n, a. Let's count them one by one to be sure."]


@pytest.fixture(autouse=True, scope="module")
def single_torch_thread():
    """Tiny models gain nothing from threads; on a shared 2-core machine they only contend."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture()
def reward_model(tiny_model_dir) -> ScalarRewardModel:
    return ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")


def _perturb_trainable(model: torch.nn.Module, seed: int = 1) -> None:
    """Stand-in for training: move every trainable weight (LoRA A/B, score head) to random non-default values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))


def test_pad_token_is_one_chat_text_never_contains(reward_model):
    tokenizer = reward_model.tokenizer
    encoded = reward_model.encode(PROMPTS, RESPONSES)
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token != tokenizer.eos_token
    assert reward_model.model.config.pad_token_id == tokenizer.pad_token_id
    assert all(tokenizer.pad_token_id not in ids for ids in encoded)
    assert all(ids[-2] == tokenizer.eos_token_id and tokenizer.decode(ids[-1:]) == "\n" for ids in encoded)


def test_pad_token_is_added_when_every_candidate_is_in_use(reward_model, monkeypatch):
    monkeypatch.setattr(scalar, "choose_pad_token", lambda tokenizer: None)
    vocab_before = len(reward_model.tokenizer)
    install_pad_token(reward_model.tokenizer, reward_model.model)
    assert reward_model.tokenizer.pad_token == scalar.ADDED_PAD_TOKEN
    assert len(reward_model.tokenizer) == vocab_before + 1
    assert reward_model.model.get_input_embeddings().num_embeddings == vocab_before + 1
    assert reward_model.model.config.pad_token_id == reward_model.tokenizer.pad_token_id


def test_reward_does_not_change_with_batch_padding(reward_model):
    alone = reward_model.rewards(PROMPTS[:1], RESPONSES[:1])
    reward_model.max_tokens_per_batch = 10_000
    lengths = [len(ids) for ids in reward_model.encode(PROMPTS, RESPONSES)]
    assert max(lengths) > lengths[0], "the batch must actually pad the first sequence"
    batched = reward_model.rewards(PROMPTS, RESPONSES)
    assert batched[0] == pytest.approx(alone[0], abs=1e-5)


def test_compare_is_sigmoid_of_reward_difference_in_input_order(reward_model):
    reward_model.max_tokens_per_batch = 64  # forces several length-sorted batches
    rewards = reward_model.rewards(PROMPTS * 2, RESPONSES + RESPONSES[::-1])
    preferences = reward_model.compare(PROMPTS, RESPONSES, RESPONSES[::-1])
    assert isinstance(reward_model, RewardModel)
    for index, preference in enumerate(preferences):
        score_a, score_b = rewards[index], rewards[index + len(PROMPTS)]
        assert preference.diagnostics.scores == pytest.approx((score_a, score_b), abs=1e-6)
        assert preference.p_a_better == pytest.approx(1 / (1 + math.exp(score_b - score_a)), abs=1e-6)
    assert preferences[1].p_a_better == pytest.approx(0.5, abs=1e-6), "same response on both sides"


def test_score_returns_one_score_per_response(reward_model):
    scores = reward_model.score(PROMPTS, RESPONSES)
    assert [score.value for score in scores] == pytest.approx(reward_model.rewards(PROMPTS, RESPONSES), abs=1e-6)
    with pytest.raises(ValueError, match="2 prompts but 3 responses"):
        reward_model.score(PROMPTS[:2], RESPONSES)


def test_same_seed_same_head_and_other_seed_other_head(tiny_model_dir):
    first = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=3, precision="fp32")
    again = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=3, precision="fp32")
    other = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=4, precision="fp32")
    assert first.rewards(PROMPTS, RESPONSES) == again.rewards(PROMPTS, RESPONSES)
    assert first.rewards(PROMPTS, RESPONSES) != other.rewards(PROMPTS, RESPONSES)


def test_full_model_save_load_gives_identical_rewards(reward_model, tmp_path, monkeypatch):
    _perturb_trainable(reward_model.model)
    before = reward_model.rewards(PROMPTS, RESPONSES)
    reward_model.save(tmp_path / "full")
    manifest = json.loads((tmp_path / "full" / "rewardkit.json").read_text())
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")  # on a bf16 CPU `auto` would load bf16 weights
    loaded = load_reward_model(str(tmp_path / "full"))
    assert manifest["family"] == "bt" and manifest["adapter"] == "full"
    assert isinstance(loaded, ScalarRewardModel)
    assert loaded.rewards(PROMPTS, RESPONSES) == before


def test_a_loaded_model_on_the_bf16_path_holds_bf16_weights_and_scores_like_autocast(reward_model, tmp_path):
    """`load` returns a scorer: on bf16 its weights are bf16 (no autocast cast per forward); on fp32 they stay fp32,
    and a model built for training keeps fp32 weights whatever the precision."""
    _perturb_trainable(reward_model.model)
    reward_model.save(tmp_path / "full")
    autocast = ScalarRewardModel.load(str(tmp_path / "full"), precision="fp32")
    autocast.precision = "bf16"  # fp32 weights under bf16 autocast: the scorer before bf16 weights
    held = ScalarRewardModel.load(str(tmp_path / "full"), precision="bf16")
    dtypes = {parameter.dtype for parameter in held.model.parameters()}
    assert dtypes == {torch.bfloat16}
    assert {parameter.dtype for parameter in autocast.model.parameters()} == {torch.float32}
    torch.testing.assert_close(
        torch.tensor(held.rewards(PROMPTS, RESPONSES)),
        torch.tensor(autocast.rewards(PROMPTS, RESPONSES)),
        rtol=0,
        atol=0.05,
    )
    trained = ScalarRewardModel.from_backbone(str(tmp_path / "full"), precision="bf16")
    assert {parameter.dtype for parameter in trained.model.parameters()} == {torch.float32}


def test_lora_save_load_gives_identical_rewards(reward_model, tmp_path):
    lora = LoraConfig(
        task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], modules_to_save=["score"]
    )
    reward_model.model = get_peft_model(reward_model.model, lora)
    _perturb_trainable(reward_model.model)
    before = reward_model.rewards(PROMPTS, RESPONSES)
    reward_model.save(tmp_path / "lora")
    loaded = ScalarRewardModel.load(str(tmp_path / "lora"), precision="fp32")
    assert not loaded.is_lora, "the adapter is merged into the base weights at load"
    assert not any("lora" in name for name, _ in loaded.model.named_modules())
    assert loaded.manifest()["base_model"] == str(reward_model.base_model)
    torch.testing.assert_close(
        torch.tensor(loaded.rewards(PROMPTS, RESPONSES)), torch.tensor(before), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("mode", ["keep_start", "keep_end", "keep_both_ends"])
def test_saved_truncation_comes_back(tiny_model_dir, tmp_path, mode):
    truncation = TruncationConfig(max_length=32, max_response_length=16, response_truncation=mode)
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, truncation=truncation, precision="fp32")
    loaded = ScalarRewardModel.load(str(model.save(tmp_path / "short")))
    assert loaded.truncation == truncation
    assert json.loads((tmp_path / "short" / "rewardkit.json").read_text())["truncation"]["response_truncation"] == mode
    assert loaded.encode(PROMPTS, RESPONSES) == model.encode(PROMPTS, RESPONSES)
    assert max(len(ids) for ids in loaded.encode(PROMPTS, RESPONSES)) <= 32


def _stock_rewards(directory, prompts, responses) -> list[float]:
    """What plain transformers gives: apply_chat_template text of the whole conversation, one row at a time."""
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory, dtype=torch.float32).eval()
    rewards = []
    for prompt, response in zip(prompts, responses, strict=True):
        messages = as_messages(prompt) + [{"role": "assistant", "content": response}]
        inputs = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt")
        with torch.no_grad():
            rewards.append(model(**inputs).logits[0, 0].item())
    return rewards


def test_a_stock_loader_fed_apply_chat_template_text_gets_rewardkits_rewards(reward_model, tmp_path):
    _perturb_trainable(reward_model.model)
    directory = reward_model.save(tmp_path / "saved")
    ours = ScalarRewardModel.load(str(directory), precision="fp32").rewards(PROMPTS, RESPONSES)
    torch.testing.assert_close(
        torch.tensor(_stock_rewards(directory, PROMPTS, RESPONSES)), torch.tensor(ours), rtol=0, atol=1e-4
    )


def test_a_model_saved_before_the_text_format_was_recorded_keeps_its_format(reward_model, tmp_path):
    directory = reward_model.save(tmp_path / "old")
    manifest = json.loads((directory / "rewardkit.json").read_text())
    manifest["truncation"] = {"max_length": 512, "max_response_length": 384}  # what earlier versions wrote
    (directory / "rewardkit.json").write_text(json.dumps(manifest))
    old = ScalarRewardModel.load(str(directory), precision="fp32")
    assert old.truncation == legacy_truncation(max_length=512, max_response_length=384)
    assert old.encode(["q"], ["a"])[0] == reward_model.encode(["q"], ["a"])[0][:-1]  # no newline after <|im_end|>


def test_load_refuses_a_directory_of_another_family(reward_model, tmp_path):
    reward_model.save(tmp_path)
    (tmp_path / "rewardkit.json").write_text(json.dumps({"family": "cloud", "base_model": "x"}))
    with pytest.raises(ValueError, match="field 'family': expected 'bt'"):
        ScalarRewardModel.load(str(tmp_path))


def test_unknown_precision_is_rejected(tiny_model_dir):
    with pytest.raises(ValueError, match="precision must be one of"):
        ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp8")


BON_RESPONSES = ["19", "It is 19.", "It is 18.", "12 + 7 = 19, so the answer is 19.", "twenty", "It is 19, I think."]


def _fed_tokens(reward_model, monkeypatch) -> list[int]:
    """Records how many real tokens each model call reads (whole sequences or packed rows)."""
    fed: list[int] = []
    whole, packed = reward_model._whole_scores, reward_model._packed_scores

    def counting_whole(sequences):
        fed.append(sum(len(sequence) for sequence in sequences))
        return whole(sequences)

    def counting_packed(rows):
        fed.append(sum(len(row.tokens) for row in rows))
        return packed(rows)

    monkeypatch.setattr(reward_model, "_whole_scores", counting_whole)
    monkeypatch.setattr(reward_model, "_packed_scores", counting_packed)
    return fed


def _each_alone(reward_model, sequences) -> list[float]:
    """Each sequence alone through the model's own forward and pooling: no padding, no packing, no rewardkit code."""
    with torch.inference_mode():
        return [float(reward_model.model(input_ids=torch.tensor([ids])).logits[0, 0]) for ids in sequences]


@pytest.mark.parametrize("tree_attention", [True, False], ids=["tree-attention", "dense-mask"])
@pytest.mark.parametrize("budget", [64, 10_000])
def test_shared_prefix_rewards_equal_scoring_each_sequence_alone(reward_model, budget, tree_attention):
    """Best-of-N candidates and pairs of several prompts, mixed lengths (padding), one batch or many; packed rows
    read with tree attention (each member's own queries only) or the dense tree mask."""
    reward_model.max_tokens_per_batch = budget
    reward_model.tree_attention = tree_attention
    prompts = [PROMPTS[0]] * len(BON_RESPONSES) + PROMPTS * 2
    responses = BON_RESPONSES + RESPONSES + RESPONSES[::-1]
    shared = reward_model.rewards(prompts, responses)
    encoded = reward_model.encode(prompts, responses)
    stock = _each_alone(reward_model, encoded)
    torch.testing.assert_close(torch.tensor(shared), torch.tensor(stock), rtol=0, atol=1e-5)
    whole = reward_model.rewards_for_ids(encoded)  # no prompt keys: every sequence read whole, padded in batches
    torch.testing.assert_close(torch.tensor(whole), torch.tensor(stock), rtol=0, atol=1e-5)


def test_on_cpu_a_model_reads_packed_rows_with_tree_attention_and_saves_a_plain_sdpa_config(reward_model, tmp_path):
    assert reward_model.model.config._attn_implementation == TREE_ATTENTION and reward_model.reads_tree_layout
    config = json.loads((reward_model.save(tmp_path / "saved") / "config.json").read_text())
    assert TREE_ATTENTION not in json.dumps(config)
    assert ScalarRewardModel.load(str(tmp_path / "saved"), precision="fp32").reads_tree_layout


def test_under_tree_attention_every_response_joins_its_prompts_row_however_dear_attention_is(
    reward_model, monkeypatch
):
    monkeypatch.setattr(scalar, "attention_to_linear_cost", lambda model: 1.0)  # attention as dear as a token
    reward_model.max_tokens_per_batch = 10_000
    rows_seen = []
    packed = reward_model._packed_scores
    monkeypatch.setattr(reward_model, "_packed_scores", lambda rows: rows_seen.extend(rows) or packed(rows))
    reward_model.rewards([PROMPTS[0]] * len(BON_RESPONSES), BON_RESPONSES)
    assert len(rows_seen) == 1 and len(rows_seen[0].ends) == len(BON_RESPONSES)


def test_long_groups_are_split_into_rows_that_repeat_the_prefix(reward_model, monkeypatch):
    """Under the dense tree mask a row's attention grows with the square of its width, so long groups split."""
    monkeypatch.setattr(scalar, "attention_to_linear_cost", lambda model: 1.0)  # attention as dear as a token
    reward_model.max_tokens_per_batch = 10_000
    reward_model.tree_attention = False
    prompts = [PROMPTS[0]] * len(BON_RESPONSES)
    rows_seen = []
    packed = reward_model._packed_scores
    monkeypatch.setattr(reward_model, "_packed_scores", lambda rows: rows_seen.extend(rows) or packed(rows))
    shared = reward_model.rewards(prompts, BON_RESPONSES)
    assert len(rows_seen) > 1 and sorted(m for row in rows_seen for m in row.ends) == list(range(len(BON_RESPONSES)))
    stock = _each_alone(reward_model, reward_model.encode(prompts, BON_RESPONSES))
    torch.testing.assert_close(torch.tensor(shared), torch.tensor(stock), rtol=0, atol=1e-5)


def test_shared_prefix_equals_alone_under_left_truncation(tiny_model_dir):
    """Responses of different lengths cut the prompt at different places: only truly shared tokens are shared."""
    truncation = TruncationConfig(max_length=40, max_response_length=30)
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, truncation=truncation, precision="fp32")
    prompt = PROMPTS[2] + " Please answer carefully and show every step of the count."
    responses = ["6", "six", RESPONSES[2], RESPONSES[2] + " Done.", "b a n a n a"]
    encoded = model.encode([prompt] * len(responses), responses)
    assert len({ids[0] for ids in encoded}) > 1, "the prompt must be cut at different places"
    shared = model.rewards([prompt] * len(responses), responses)
    torch.testing.assert_close(torch.tensor(shared), torch.tensor(_each_alone(model, encoded)), rtol=0, atol=1e-5)


def test_a_prompt_is_read_once_for_all_its_responses(reward_model, monkeypatch):
    reward_model.max_tokens_per_batch = 10_000
    encoded = reward_model.encode([PROMPTS[0]] * len(BON_RESPONSES), BON_RESPONSES)
    fed = _fed_tokens(reward_model, monkeypatch)
    reward_model.rewards([PROMPTS[0]] * len(BON_RESPONSES), BON_RESPONSES)
    prompt_tokens = len(reward_model.encode(PROMPTS[:1], [""])[0]) - 2
    assert len(fed) == 1, "one packed row: the prompt once, then every response"
    assert sum(fed) <= sum(len(ids) for ids in encoded) - (len(BON_RESPONSES) - 1) * prompt_tokens


def test_models_that_cannot_pack_score_each_sequence_whole(reward_model, monkeypatch):
    monkeypatch.setattr(ScalarRewardModel, "shares_prefixes", property(lambda self: False))
    fed = _fed_tokens(reward_model, monkeypatch)
    reward_model.max_tokens_per_batch = 10_000
    prompts = [PROMPTS[0]] * len(BON_RESPONSES)
    encoded = reward_model.encode(prompts, BON_RESPONSES)
    reward_model.rewards(prompts, BON_RESPONSES)
    assert fed == [sum(len(ids) for ids in encoded)]


def test_rewardkit_packing_turns_packing_on_for_cuda_and_off_anywhere(reward_model, monkeypatch):
    assert reward_model.shares_prefixes, "auto packs on CPU"
    monkeypatch.setenv("REWARDKIT_PACKING", "off")
    assert not reward_model.shares_prefixes
    fed = _fed_tokens(reward_model, monkeypatch)
    reward_model.max_tokens_per_batch = 10_000
    prompts = [PROMPTS[0]] * len(BON_RESPONSES)
    reward_model.rewards(prompts, BON_RESPONSES)
    assert fed == [sum(len(ids) for ids in reward_model.encode(prompts, BON_RESPONSES))], "off reads each whole"
    monkeypatch.setattr(reward_model, "device", torch.device("cuda"))  # only the device's type is read
    monkeypatch.setenv("REWARDKIT_PACKING", "auto")
    assert not reward_model.shares_prefixes, "auto reads each sequence whole on CUDA"
    monkeypatch.setenv("REWARDKIT_PACKING", "On")
    assert reward_model.shares_prefixes
    monkeypatch.setenv("REWARDKIT_PACKING", "yes")
    with pytest.raises(ValueError, match="REWARDKIT_PACKING='yes' is not one of auto, on, off"):
        bool(reward_model.shares_prefixes)


def _compiled_twin_of(reward_model: ScalarRewardModel) -> ScalarRewardModel:
    return ScalarRewardModel(
        reward_model.model,
        reward_model.tokenizer,
        base_model=reward_model.base_model,
        precision="fp32",
        compile_forward=True,
    )


def test_the_compiled_forward_gives_each_sequences_reward_alone_packed_and_whole(reward_model, monkeypatch):
    """REWARDKIT_COMPILE=on: pairs, Best-of-N candidates and prompts of one response (read as rows of their own) all
    go through the compiled function; the eager forward is never called."""
    monkeypatch.setenv("REWARDKIT_COMPILE", "on")
    compiled = ScalarRewardModel(
        reward_model.model, reward_model.tokenizer, base_model=reward_model.base_model, precision="fp32"
    )
    monkeypatch.setattr(scalar, "packed_scores", lambda *args: pytest.fail("the eager forward ran"))
    prompts = [PROMPTS[0]] * len(BON_RESPONSES) + PROMPTS
    responses = BON_RESPONSES + RESPONSES
    encoded = compiled.encode(prompts, responses)
    stock = torch.tensor(_each_alone(reward_model, encoded))
    assert compiled.compiles and compiled._compiled is None
    torch.testing.assert_close(torch.tensor(compiled.rewards(prompts, responses)), stock, rtol=0, atol=1e-5)
    assert compiled._compiled is not None
    torch.testing.assert_close(torch.tensor(compiled.rewards_for_ids(encoded)), stock, rtol=0, atol=1e-5)


def test_the_compiled_forward_follows_weights_changed_after_it_was_compiled(reward_model):
    """The weights are inputs of the compiled graph, not constants: a change in place (a training step) is read."""
    compiled = _compiled_twin_of(reward_model)
    before = compiled.rewards(PROMPTS, RESPONSES)
    with torch.no_grad():
        reward_model.model.score.weight.mul_(-2.0)
    after = compiled.rewards(PROMPTS, RESPONSES)
    stock = _each_alone(reward_model, compiled.encode(PROMPTS, RESPONSES))
    torch.testing.assert_close(torch.tensor(after), torch.tensor(stock), rtol=0, atol=1e-5)
    torch.testing.assert_close(torch.tensor(after), -2 * torch.tensor(before), rtol=0, atol=1e-5)


def test_the_warm_up_compiles_one_graph_and_batches_of_one_row_or_many_compile_nothing(reward_model):
    """The rows dimension is unbacked: a one-row batch reuses the graph instead of specializing a size-1 one."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()  # an earlier test's graph of the same model would otherwise be reused
    compiled = _compiled_twin_of(reward_model)
    before = counters["stats"]["unique_graphs"]
    compiled.warm_up()
    graphs = counters["stats"]["unique_graphs"]
    compiled.rewards(PROMPTS[:1], RESPONSES[:1])
    compiled.rewards([PROMPTS[0]] * len(BON_RESPONSES) + PROMPTS, BON_RESPONSES + RESPONSES)
    assert graphs == before + 1 and counters["stats"]["unique_graphs"] == graphs
    reward_model.warm_up()  # eager: nothing to compile
    assert reward_model._compiled is None


def test_rewardkit_compile_is_off_by_default_and_refuses_other_values(reward_model, monkeypatch):
    assert not reward_model.compiles
    monkeypatch.setenv("REWARDKIT_COMPILE", "yes")
    with pytest.raises(ValueError, match="REWARDKIT_COMPILE='yes' is not one of on, off"):
        ScalarRewardModel(reward_model.model, reward_model.tokenizer, base_model=reward_model.base_model)
    monkeypatch.setenv("REWARDKIT_COMPILE", "On")
    model = ScalarRewardModel(reward_model.model, reward_model.tokenizer, base_model=reward_model.base_model)
    assert model.compiles
    model.model.config.sliding_window = 16  # a model that cannot read packed rows stays eager
    assert not model.compiles
    with pytest.raises(ValueError, match="cannot run a compiled forward: it does not read packed rows"):
        model.compiled_copy()
    model.model.config.sliding_window = None


def test_eager_attention_and_sliding_windows_are_not_packed(reward_model):
    """The packed mask is boolean, which only SDPA reads as such, and replaces any window; such models read whole."""
    assert reward_model.shares_prefixes
    reward_model.model.config.sliding_window = 16  # a custom 4D mask would override the window
    assert not reward_model.shares_prefixes
    reward_model.model.config.sliding_window = None
    reward_model.model.config._attn_implementation = "eager"
    assert not reward_model.shares_prefixes


def test_a_repeated_sequence_is_scored_once(reward_model, monkeypatch):
    """The master-key probe compares one real answer against every key: the answer's tokens run once."""
    reward_model.max_tokens_per_batch = 10_000
    fed = _fed_tokens(reward_model, monkeypatch)
    once = reward_model.rewards(PROMPTS, RESPONSES)
    tokens_once = sum(fed)
    fed.clear()
    repeated = reward_model.rewards(PROMPTS * 3, RESPONSES * 3)
    assert sum(fed) == tokens_once
    assert repeated == once * 3


def test_a_megabyte_response_is_read_scored_cut_by_the_models_rule_and_counted(tiny_model_dir, tmp_path, caplog):
    from rewardkit.data import read_pairs

    megabyte = 1_000_000
    rows = [{"prompt": "Say hi.", "chosen": "Hi!", "rejected": "hi " * (megabyte // 3)}]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    pair = read_pairs(path).pairs[0]
    truncation = TruncationConfig(max_length=64, max_response_length=32)
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32", truncation=truncation)
    with caplog.at_level("INFO", logger="rewardkit.families.scalar"):
        [preference] = model.compare([pair.prompt], [pair.chosen], [pair.rejected])
    assert 0.0 < preference.p_a_better < 1.0
    assert (model.response_cuts.responses, model.response_cuts.cut) == (2, 1)
    assert "1 of 2 responses scored so far were longer than max_response_length=32 tokens and cut (keep_end)" in (
        caplog.text
    )
