"""CritiqueEncoder: the request follows the response as a user turn, the critique span, cuts and budget errors."""

from __future__ import annotations

import pytest

from rewardkit.families.critique_format import CritiqueEncoder, CritiqueFormatConfig, critique_request_text
from rewardkit.models.tiny import build_tiny_tokenizer
from tests.families.cloud_helpers import TINY_FORMAT


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="module")
def encoder(tokenizer):
    return CritiqueEncoder(tokenizer, TINY_FORMAT)


def test_request_is_a_user_turn_after_the_response_then_the_assistant_header(tokenizer):
    text = critique_request_text(tokenizer, "Critique it.")
    assert text == "\n<|im_start|>user\nCritique it.<|im_end|>\n<|im_start|>assistant\n"


def test_sequence_is_chat_text_with_the_critique_span_marked(encoder, tokenizer):
    encoded = encoder.with_critique("What is 12 plus 7?", "19", "Right.")
    assert tokenizer.decode(encoded.input_ids) == (
        "<|im_start|>user\nWhat is 12 plus 7?<|im_end|>\n<|im_start|>assistant\n19<|im_end|>\n"
        "<|im_start|>user\nCritique it.<|im_end|>\n<|im_start|>assistant\nRight.<|im_end|>"
    )
    assert encoded.input_ids[: encoded.critique_start] == encoder.context("What is 12 plus 7?", "19")
    assert tokenizer.decode(encoded.input_ids[encoded.critique_start : encoded.critique_end]) == "Right.<|im_end|>"
    assert encoded.critique_end == len(encoded.input_ids) and encoded.critique_tokens_dropped == 0


def test_a_cut_critique_keeps_the_end_marker_out_of_the_lm_targets(encoder, tokenizer):
    long_critique = "The quick brown fox jumps over the lazy dog. " * 3
    encoded = encoder.with_critique("What is 12 plus 7?", "19", long_critique)
    assert encoded.critique_end - encoded.critique_start == TINY_FORMAT.max_new_tokens
    assert encoded.input_ids[-1] == tokenizer.eos_token_id and encoded.critique_end == len(encoded.input_ids) - 1
    assert encoded.critique_tokens_dropped > 0


def test_long_prompts_and_responses_are_cut_to_the_budget(encoder):
    encoded = encoder.with_critique("Count the letters. " * 60, "banana " * 60, "Right.")
    assert len(encoded.input_ids) <= TINY_FORMAT.max_length
    assert encoded.prompt_tokens_dropped > 0 and encoded.response_tokens_dropped > 0


def test_budgets_that_leave_no_room_are_a_clear_error(tokenizer):
    with pytest.raises(ValueError, match="raise max_length or lower max_response_length"):
        CritiqueEncoder(tokenizer, CritiqueFormatConfig(request="Critique it.", max_new_tokens=64, max_length=96))
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        CritiqueFormatConfig(max_new_tokens=0)
