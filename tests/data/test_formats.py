"""TRL preference formats (explicit, implicit, conversational) and column mapping become PreferencePairs."""

from __future__ import annotations

import pytest

from rewardkit.data import DataError, read_pairs
from rewardkit.data.errors import RowError
from rewardkit.data.formats import pair_to_record, record_to_pair, validate_column_map
from tests.data.sample_files import write_jsonl

SKY = {"role": "user", "content": "What color is the sky?"}
BLUE = {"role": "assistant", "content": "It is blue."}
GREEN = {"role": "assistant", "content": "It is green."}


def convert(record: dict, **options):
    return record_to_pair(record, default_id="file-1", **options)


def test_explicit_prompt_with_strings():
    pair = convert({"prompt": "The sky is", "chosen": " blue.", "rejected": " green."})
    assert (pair.id, pair.prompt, pair.chosen, pair.rejected) == ("file-1", "The sky is", " blue.", " green.")


def test_explicit_prompt_conversational_unwraps_the_assistant_messages():
    pair = convert({"prompt": [SKY], "chosen": [BLUE], "rejected": [GREEN]})
    assert (pair.prompt, pair.chosen, pair.rejected) == ([SKY], "It is blue.", "It is green.")


def test_implicit_prompt_takes_the_shared_prefix_and_the_final_assistant_turns():
    history = [SKY, {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Why?"}]
    chosen = history + [{"role": "assistant", "content": "Rayleigh scattering."}]
    pair = convert({"chosen": chosen, "rejected": history + [{"role": "assistant", "content": "Paint."}]})
    assert pair.prompt == history
    assert (pair.chosen, pair.rejected) == ("Rayleigh scattering.", "Paint.")


def test_implicit_prompt_with_plain_strings_is_ambiguous():
    with pytest.raises(RowError, match="ambiguous") as caught:
        convert({"chosen": "The sky is blue.", "rejected": "The sky is green."})
    assert caught.value.field == "prompt" and "column_map" in caught.value.hint


def test_implicit_conversations_that_differ_before_the_last_turn_are_rejected():
    other_question = {"role": "user", "content": "What color is grass?"}
    with pytest.raises(RowError, match=r"exactly one assistant message.*\['user', 'assistant'\]"):
        convert({"chosen": [SKY, SKY, BLUE], "rejected": [SKY, other_question, GREEN]})


def test_implicit_conversations_without_shared_prefix_have_no_prompt():
    with pytest.raises(RowError, match="share no leading messages") as caught:
        convert({"chosen": [BLUE], "rejected": [GREEN]})
    assert caught.value.field == "prompt"


def test_response_list_must_hold_exactly_one_assistant_message():
    with pytest.raises(RowError, match=r"found roles \['assistant', 'user'\]") as caught:
        convert({"prompt": [SKY], "chosen": [BLUE, SKY], "rejected": [GREEN]})
    assert caught.value.field == "chosen"


def test_message_without_content_names_the_message():
    with pytest.raises(RowError, match="message 1 has no string 'content'"):
        convert({"prompt": [{"role": "user", "text": "hi"}], "chosen": "a", "rejected": "b"})


def test_null_keys_that_arrow_pads_messages_with_are_dropped():
    pair = convert({"prompt": [{**SKY, "tool_calls": None}], "chosen": "a", "rejected": "b"})
    assert pair.prompt == [SKY]


def test_integer_id_becomes_a_string_and_unknown_fields_go_to_extra():
    pair = convert({"id": 17, "prompt": "p", "chosen": "a", "rejected": "b", "model": "x", "empty": None})
    assert (pair.id, pair.extra) == ("17", {"model": "x"})


@pytest.mark.parametrize("value", [1.5, -0.1, True, "likely"])
def test_p_chosen_must_be_a_probability(value):
    with pytest.raises(RowError) as caught:
        convert({"prompt": "p", "chosen": "a", "rejected": "b", "p_chosen": value})
    assert caught.value.field == "p_chosen"


def test_column_map_renames_user_columns(tmp_path):
    rows = [{"question": "2 + 2?", "response_j": "4", "response_k": "5", "domain": "math"}]
    column_map = {"question": "prompt", "response_j": "chosen", "response_k": "rejected", "domain": "subset"}
    pair = read_pairs(write_jsonl(tmp_path / "se.jsonl", rows), column_map=column_map).pairs[0]
    assert (pair.prompt, pair.chosen, pair.rejected, pair.subset, pair.extra) == ("2 + 2?", "4", "5", "math", {})


def test_unmapped_columns_produce_a_missing_field_error_that_suggests_column_map(tmp_path):
    path = write_jsonl(tmp_path / "se.jsonl", [{"question": "2 + 2?", "response_j": "4", "response_k": "5"}])
    with pytest.raises(DataError, match=r"se\.jsonl:1 \(line 1\): field 'chosen': is missing.*response_j") as caught:
        read_pairs(path)
    assert "--column-map" in str(caught.value)


def test_column_map_onto_an_existing_column_is_a_conflict():
    with pytest.raises(RowError, match="given twice") as caught:
        convert({"prompt": "p", "question": "q", "chosen": "a", "rejected": "b"}, column_map={"question": "prompt"})
    assert caught.value.field == "prompt"


@pytest.mark.parametrize(
    "column_map, message",
    [
        ({"question": "query"}, "unknown field"),
        ({"a": "chosen", "b": "chosen"}, "several columns onto \\['chosen'\\]"),
    ],
)
def test_invalid_column_maps_are_rejected_before_reading(column_map, message):
    with pytest.raises(ValueError, match=message):
        validate_column_map(column_map)


def test_pair_to_record_flattens_extra_and_omits_missing_probability():
    pair = convert({"prompt": "p", "chosen": "a", "rejected": "b", "model": "x"})
    record = pair_to_record(pair)
    assert record["model"] == "x" and "extra" not in record and "p_chosen" not in record
    assert convert(record) == pair
