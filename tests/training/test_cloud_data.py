"""CLoud training data: oracle critique shortening, the oracle pair builder, the collator, and the shared split."""

from __future__ import annotations

import json

import pytest

from rewardkit.data.critiques import CritiqueRow, read_critique_rows, with_critiques
from rewardkit.data.readers import write_pairs_jsonl
from rewardkit.data.schema import PreferencePair
from rewardkit.models.tiny import build_tiny_tokenizer
from rewardkit.training.bt_data import build_bt_data
from rewardkit.training.cloud import critiqued_pair_data
from rewardkit.training.cloud_config import CloudConfig, CritiquedPairSourceConfig
from rewardkit.training.cloud_data import CritiqueCollator, oracle_critique_pairs, shorten_critique
from rewardkit.training.config import BTConfig

CRITIQUE = (
    "The answer is right. It counts the letters one by one. It could be shorter. Reverse the string abc: cba.\n\n"
    "Rating: [[7]]"
)


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


def _count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_a_critique_within_budget_is_unchanged(tokenizer):
    assert shorten_critique(CRITIQUE, tokenizer, 1000) == CRITIQUE


def test_shortening_keeps_whole_sentences_and_the_rating_line(tokenizer):
    budget = _count(tokenizer, "The answer is right. It counts the letters one by one.\n\nRating: [[7]]")
    shortened = shorten_critique(CRITIQUE, tokenizer, budget)
    assert shortened == "The answer is right. It counts the letters one by one.\n\nRating: [[7]]"
    assert _count(tokenizer, shortened) <= budget


def test_when_no_sentence_fits_the_body_is_cut_by_tokens(tokenizer):
    shortened = shorten_critique(CRITIQUE, tokenizer, 12)
    assert shortened.endswith("Rating: [[7]]") and _count(tokenizer, shortened) <= 12


def _row(identifier: str, prompt: str, response: str, score: float) -> CritiqueRow:
    return CritiqueRow(identifier, prompt, response, f"critique of {identifier}", score, "math")


def test_oracle_pairs_join_responses_to_one_prompt_that_differ_in_score():
    rows = [
        _row("a", "Add 2+2", "4", 9),
        _row("b", "Add 2+2", "5", 2),
        _row("c", "Add 2+2", "four", 9),  # ties with a: no pair
        _row("d", "Say hi", "hi", 5),  # alone: no pair
        _row("e", "Add 2+2", "4", 3),  # same text as a: no pair
    ]
    pairs = oracle_critique_pairs(rows)
    assert [pair.id for pair in pairs] == ["a>b", "c>b", "e>b", "c>e"]
    first = pairs[0]
    assert (first.prompt, first.chosen, first.rejected, first.subset) == ("Add 2+2", "4", "5", "math")
    assert first.extra == {"chosen_critique": "critique of a", "rejected_critique": "critique of b", "score_margin": 7}


def test_collator_puts_chosen_rows_first_and_marks_critique_tokens():
    features = [
        {"chosen_input_ids": [1, 2, 3, 4], "chosen_critique_start": 2, "chosen_critique_end": 4}
        | {"rejected_input_ids": [5, 6, 7], "rejected_critique_start": 1, "rejected_critique_end": 2},
        {"chosen_input_ids": [8, 9], "chosen_critique_start": 1, "chosen_critique_end": 2}
        | {"rejected_input_ids": [10, 11, 12, 13, 14], "rejected_critique_start": 3, "rejected_critique_end": 5},
    ]
    batch = CritiqueCollator(pad_token_id=0, sides=("chosen_", "rejected_"))(features)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 0], [8, 9, 0, 0, 0], [5, 6, 7, 0, 0], [10, 11, 12, 13, 14]]
    assert batch["attention_mask"].sum(dim=1).tolist() == [4, 2, 3, 5]
    assert batch["critique_mask"].tolist() == [[0, 0, 1, 1, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 1]]


class _TinyCritic:
    """critiqued_pair_data only needs the critic's tokenizer and budget (for oracle critiques)."""

    tokenizer = build_tiny_tokenizer()
    critique_format = type("Format", (), {"max_new_tokens": 64})()


def test_split_matches_the_bt_recipe_on_the_same_critiques_file(tmp_path):
    pairs = [
        with_critiques(PreferencePair(id=f"p{i}", prompt=f"Q{i}", chosen=f"good {i}", rejected=f"bad {i}"), "+", "-")
        for i in range(40)
    ]
    path = write_pairs_jsonl(pairs, tmp_path / "critiques.jsonl")
    split = {"eval_fraction": 0.2, "max_eval_pairs": 5, "max_train_pairs": 20, "seed": 3}
    train, held_out, _ = critiqued_pair_data(CloudConfig(train=[str(path)], **split), _TinyCritic())
    bt_data = build_bt_data(BTConfig(train=[str(path)], **split))
    assert [pair.id for pair in train] == [pair.id for pair in bt_data.train]
    assert [pair.id for pair in held_out] == [pair.id for pair in bt_data.eval]
    assert len(train) == 20 and len(held_out) == 5


def test_oracle_source_builds_shortened_pairs(tmp_path):
    rows = [
        {"id": "a", "prompt": "Add 2+2", "response": "4", "critique": CRITIQUE, "score": 9},
        {"id": "b", "prompt": "Add 2+2", "response": "5", "critique": "Wrong. Rating: [[2]]", "score": 2},
    ]
    path = tmp_path / "autoj.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = CloudConfig(train=[CritiquedPairSourceConfig(path=str(path), builder="oracle")], eval_fraction=0.0)
    train, _, counts = critiqued_pair_data(config, _TinyCritic())
    assert [pair.id for pair in train] == ["a>b"] and counts == {f"{path} (oracle)": 1}
    chosen_critique = train[0].extra["chosen_critique"]
    assert chosen_critique.endswith("Rating: [[7]]") and _count(_TinyCritic.tokenizer, chosen_critique) <= 64


def test_shared_autoj_file_gives_the_documented_rows_and_oracle_pairs(shared_data):
    rows = read_critique_rows(shared_data / "train" / "autoj_critiques.jsonl")
    assert len(rows) == 950 and len({row.prompt for row in rows}) == 816
    pairs = oracle_critique_pairs(rows)
    assert len(pairs) == 142
    assert all(pair.extra["score_margin"] > 0 and pair.extra["chosen_critique"] for pair in pairs)
