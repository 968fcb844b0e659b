"""Reading a BT recipe's sources: what is said about skipped rows is said once."""

from __future__ import annotations

import json
import logging

from rewardkit.training.bt_data import _read_pairs


def test_a_skipped_row_is_reported_once_not_once_per_layer(tmp_path, caplog):
    rows = [
        {"id": "a", "prompt": "q", "chosen": "good", "rejected": "bad"},
        {"id": "b", "prompt": "q", "chosen": "good", "rejected": ""},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    with caplog.at_level(logging.INFO):
        pairs = _read_pairs(str(path), skip_bad_rows=True)

    assert [pair.id for pair in pairs] == ["a"]
    mentions = [record for record in caplog.records if "skipped 1 row" in record.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelno == logging.WARNING
    assert "pairs.jsonl:2" in mentions[0].getMessage()


def test_a_clean_file_is_summarized_at_info(tmp_path, caplog):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "q", "chosen": "good", "rejected": "bad"}) + "\n")

    with caplog.at_level(logging.INFO):
        _read_pairs(str(path), skip_bad_rows=False)

    assert [record.levelno for record in caplog.records if "read 1 pair" in record.getMessage()] == [logging.INFO]
