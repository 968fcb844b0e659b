"""Chat encoding: the prompt is cut from the left, the response kept (cut from the right only when it alone is too
long)."""

from __future__ import annotations

import pytest

from rewardkit.models.chat import TruncationConfig, encode_prompt_response, render_prompt, render_response
from rewardkit.models.loading import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


def test_short_pair_is_prompt_then_response_untouched(tokenizer):
    encoded = encode_prompt_response(tokenizer, "add 3 and 4", "7", TruncationConfig(512, 256))
    text = render_prompt(tokenizer, "add 3 and 4") + render_response(tokenizer, "add 3 and 4", "7")
    assert encoded.input_ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert encoded.prompt_tokens_dropped == encoded.response_tokens_dropped == 0


def test_long_prompt_is_cut_from_the_left_and_response_kept(tokenizer):
    prompt = "first words " + "filler " * 200 + "last question"
    response_ids = tokenizer(render_response(tokenizer, prompt, "the answer"), add_special_tokens=False)["input_ids"]

    encoded = encode_prompt_response(tokenizer, prompt, "the answer", TruncationConfig(64, 32))

    assert len(encoded.input_ids) == 64
    assert encoded.input_ids[-len(response_ids) :] == response_ids
    assert encoded.prompt_tokens_dropped > 0 and encoded.response_tokens_dropped == 0
    assert "first words" not in tokenizer.decode(encoded.input_ids)


def test_long_response_is_cut_from_the_right(tokenizer):
    encoded = encode_prompt_response(tokenizer, "say it", "word " * 300, TruncationConfig(64, 32))
    assert len(encoded.input_ids) <= 64
    assert encoded.response_tokens_dropped > 0


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
