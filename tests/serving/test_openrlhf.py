"""OpenRLHF queries split into (prompt, response): by the sent prompt, or from a ChatML conversation."""

from __future__ import annotations

import pytest

from rewardkit.serving.openrlhf import chatml_messages, prompt_overlap, split_queries, split_query, strip_end_markers

CHATML_PROMPT = (
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
)


def test_the_response_is_what_follows_the_prompt_without_end_markers():
    prompt, response = split_query(0, CHATML_PROMPT + "4<|im_end|>\n<|endoftext|>", CHATML_PROMPT)
    assert prompt == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    assert response == "4"


def test_a_plain_prompt_stays_a_string():
    assert split_query(0, "Question: hi\nAnswer: hello</s>", "Question: hi\nAnswer:") == (
        "Question: hi\nAnswer:",
        " hello",
    )


def test_without_prompts_a_chatml_query_splits_at_its_last_assistant_turn():
    query = CHATML_PROMPT + "It is 4.<|im_end|>"
    prompt, response = split_query(3, query, None)
    assert prompt[-1] == {"role": "user", "content": "What is 2+2?"} and response == "It is 4."


def test_a_query_that_does_not_start_with_its_prompt_names_its_index():
    with pytest.raises(ValueError, match=r"query\[1\] does not start with prompts\[1\]"):
        split_queries(["a b", "c d"], ["a", "x"])


def test_a_plain_query_without_prompts_is_refused_with_what_to_send():
    with pytest.raises(ValueError, match=r"query\[0\].*send `prompts`"):
        split_query(0, "just text", None)


def test_markers_are_stripped_only_at_the_end_and_other_whitespace_is_kept():
    assert strip_end_markers(" a </s> b</s>\n<|im_end|>  ") == " a </s> b"
    assert strip_end_markers(" b \n") == " b \n"
    assert chatml_messages("no chat here") is None


def test_a_left_truncated_prompt_is_matched_by_its_kept_tail_and_scored_whole(caplog):
    truncated_query = CHATML_PROMPT[30:] + "4<|im_end|>"
    prompt, response = split_query(2, truncated_query, CHATML_PROMPT)
    assert prompt[0] == {"role": "system", "content": "Be brief."} and response == "4"
    assert "query[2] starts with the last" in caplog.text


def test_a_character_split_by_the_token_cut_is_skipped():
    assert split_query(0, "\ufffdlo there: fine", "hello there:") == ("hello there:", " fine")


def test_prompt_overlap_is_the_longest_prompt_tail_the_query_starts_with():
    assert prompt_overlap("abcabc", "bcabcX") == 5
    assert prompt_overlap("abc", "xyz") == 0


def test_chatml_contents_are_read_exactly_as_written():
    text = "<|im_start|>user\n  spaced  <|im_end|>\n<|im_start|>assistant\n answer \n<|im_end|>\n"
    assert chatml_messages(text) == [
        {"role": "user", "content": "  spaced  "},
        {"role": "assistant", "content": " answer \n"},
    ]
