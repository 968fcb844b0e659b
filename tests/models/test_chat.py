"""Chat encoding: the text is exactly apply_chat_template's (or the recorded legacy format), the prompt is cut from
the left, a long response keeps its start, its end or both ends (hand-checked on the tiny tokenizer)."""

from __future__ import annotations

import pytest

from rewardkit.models.chat import (
    TruncationConfig,
    encode_prompt_response,
    legacy_truncation,
    render_conversation,
    render_prompt,
    render_response,
)
from rewardkit.models.loading import load_tokenizer

# The tiny tokenizer splits this response into 18 tokens ('a', ' b', ' ', 'c', ' ', 'd', ...), then the template adds
# '<|im_end|>' and '\n': 20 response tokens. A budget of 10 keeps 10 of them.
LETTERS = "a b c d e f g h i j"
HEADER = "<|im_start|>user\nsay it<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


def test_pair_is_exactly_the_chat_template_text_with_its_final_newline(tokenizer):
    messages = [{"role": "user", "content": "add 3 and 4"}, {"role": "assistant", "content": "7"}]
    stock_ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    encoded = encode_prompt_response(tokenizer, "add 3 and 4", "7", TruncationConfig(512, 256))
    assert encoded.input_ids == list(stock_ids)
    assert tokenizer.decode(encoded.input_ids).endswith("7<|im_end|>\n")
    assert encoded.prompt_tokens_dropped == encoded.response_tokens_dropped == 0


def test_legacy_format_ends_at_the_end_of_turn_marker(tokenizer):
    encoded = encode_prompt_response(tokenizer, "add 3 and 4", "7", legacy_truncation(max_length=512))
    text = render_prompt(tokenizer, "add 3 and 4") + render_response(tokenizer, "add 3 and 4", "7")
    assert encoded.input_ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(encoded.input_ids).endswith("7<|im_end|>")


@pytest.mark.parametrize(
    ("mode", "expected_text", "dropped"),
    [
        ("keep_start", HEADER + "a b c d e f", 10),
        ("keep_end", HEADER + " g h i j<|im_end|>\n", 10),
        # 10 = 2 head tokens ('a', ' b') + the 5 tokens of " ... " + 3 tail tokens ('j', '<|im_end|>', '\n').
        ("keep_both_ends", HEADER + "a b ... j<|im_end|>\n", 15),
    ],
)
def test_long_response_keeps_the_part_its_mode_names(tokenizer, mode, expected_text, dropped):
    encoded = encode_prompt_response(tokenizer, "say it", LETTERS, TruncationConfig(64, 10, response_truncation=mode))
    assert tokenizer.decode(encoded.input_ids) == expected_text
    assert encoded.response_tokens_dropped == dropped and encoded.prompt_tokens_dropped == 0


def test_long_prompt_is_cut_from_the_left_and_response_kept(tokenizer):
    prompt = "first words " + "filler " * 200 + "last question"
    full = tokenizer(render_conversation(tokenizer, prompt, "the answer"), add_special_tokens=False)["input_ids"]

    encoded = encode_prompt_response(tokenizer, prompt, "the answer", TruncationConfig(64, 32))

    assert len(encoded.input_ids) == 64 and encoded.input_ids == full[-64:]
    assert encoded.prompt_tokens_dropped > 0 and encoded.response_tokens_dropped == 0
    assert "first words" not in tokenizer.decode(encoded.input_ids)


def test_conversation_prompt_renders_every_turn(tokenizer):
    conversation = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "count to 3"},
    ]
    text = render_prompt(tokenizer, conversation)
    assert text.index("hello") < text.index("hi") < text.index("count to 3")


def test_response_budget_must_fit_the_total():
    with pytest.raises(ValueError, match="max_response_length"):
        TruncationConfig(max_length=32, max_response_length=64)


def test_unknown_modes_are_rejected():
    with pytest.raises(ValueError, match="response_truncation must be one of keep_start, keep_end"):
        TruncationConfig(response_truncation="middle")
    with pytest.raises(ValueError, match="text_format must be one of chat_template"):
        TruncationConfig(text_format="plain")


def test_a_manifest_without_the_new_fields_keeps_the_first_format():
    restored = TruncationConfig.from_manifest({"max_length": 256, "max_response_length": 192})
    assert restored == legacy_truncation(max_length=256, max_response_length=192)
    assert restored.text_format == "chat_template_no_final_newline" and restored.response_truncation == "keep_start"
    current = TruncationConfig(256, 192, "keep_both_ends")
    assert TruncationConfig.from_manifest(current.to_manifest()) == current
