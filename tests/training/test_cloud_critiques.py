"""CLoud stage 2 on the tiny model: critiques equal the critic's own, resume continues exactly, clear refusals."""

from __future__ import annotations

import json

import pytest

from rewardkit.data.critiques import critiques_of, read_critiqued_pairs
from rewardkit.data.master_keys import TRAINING_MASTER_KEYS, MasterKeyNegatives
from rewardkit.data.readers import write_pairs_jsonl
from rewardkit.data.schema import PreferencePair
from rewardkit.families.cloud import CloudRewardModel
from rewardkit.training.cloud_config import CritiqueGenerationConfig
from rewardkit.training.cloud_critiques import CRITIQUES_FILE, generate_self_critiques, planned_pairs
from rewardkit.training.config import DataSourceConfig
from tests.families.cloud_helpers import tiny_cloud_model

PAIRS = [
    PreferencePair(id=f"p{i}", prompt=f"What is {i} plus 7?", chosen=str(i + 7), rejected=f"{i + 9}, I think")
    for i in range(7)
]


@pytest.fixture(autouse=True, scope="module")
def no_bf16():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REWARDKIT_PRECISION", "fp32")
        yield


@pytest.fixture(scope="module")
def critic_dir(tiny_model_dir, tmp_path_factory, no_bf16):
    return tiny_cloud_model(tiny_model_dir).save(tmp_path_factory.mktemp("critic"))


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    return write_pairs_jsonl(PAIRS, tmp_path_factory.mktemp("pairs") / "pairs.jsonl")


def _config(critic_dir, pairs_file, output_dir, **overrides) -> CritiqueGenerationConfig:
    settings = {
        "model": str(critic_dir),
        "output_dir": str(output_dir),
        "train": [DataSourceConfig(path=str(pairs_file))],
    }
    return CritiqueGenerationConfig(**{**settings, "pairs_per_call": 3, "precision": "fp32", **overrides})


def _lines(output_dir) -> list[str]:
    return (output_dir / CRITIQUES_FILE).read_text().splitlines()


@pytest.fixture(scope="module")
def full_run(critic_dir, pairs_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("critiques")
    return generate_self_critiques(_config(critic_dir, pairs_file, output), progress=False), output


def test_every_pair_gets_the_critics_greedy_critique_of_each_response(full_run, critic_dir):
    result, output = full_run
    written = read_critiqued_pairs(output / CRITIQUES_FILE)
    assert [pair.id for pair in written] == [pair.id for pair in PAIRS] and result.pairs == 7
    critic = CloudRewardModel.load(critic_dir, precision="fp32")
    expected = critic.generate_critiques(
        [p.prompt for p in PAIRS] * 2, [p.chosen for p in PAIRS] + [p.rejected for p in PAIRS]
    )
    assert [critiques_of(pair) for pair in written] == [(expected[i][0], expected[7 + i][0]) for i in range(7)]
    assert written[0].chosen == PAIRS[0].chosen and result.critiques_per_second > 0


def test_resume_continues_after_the_written_calls(full_run, critic_dir, pairs_file, tmp_path):
    _, full_output = full_run
    config = _config(critic_dir, pairs_file, tmp_path, temperature=0.9)
    generate_self_critiques(config, progress=False)
    uninterrupted = _lines(tmp_path)
    (tmp_path / CRITIQUES_FILE).write_text("".join(line + "\n" for line in uninterrupted[:3]))  # one call written
    result = generate_self_critiques(config, resume=True, progress=False)
    assert result.resumed_at == 3 and _lines(tmp_path) == uninterrupted
    assert uninterrupted != _lines(full_output), "sampled critiques should differ from greedy ones"


def test_existing_output_needs_resume_and_the_same_settings(full_run, critic_dir, pairs_file, tmp_path):
    _, output = full_run
    with pytest.raises(FileExistsError, match="pass --resume"):
        generate_self_critiques(_config(critic_dir, pairs_file, output), progress=False)
    with pytest.raises(ValueError, match="started with other temperature"):
        generate_self_critiques(_config(critic_dir, pairs_file, output, temperature=0.5), resume=True, progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist; run without --resume"):
        generate_self_critiques(_config(critic_dir, pairs_file, tmp_path), resume=True, progress=False)


def test_planned_pairs_are_a_seeded_subsample_with_unique_ids(critic_dir, pairs_file, tmp_path):
    config = _config(critic_dir, pairs_file, tmp_path, max_pairs=4, seed=1)
    assert [pair.id for pair in planned_pairs(config)] == [pair.id for pair in planned_pairs(config)]
    assert len(planned_pairs(config)) == 4
    twice = _config(critic_dir, pairs_file, tmp_path, train=[DataSourceConfig(path=str(pairs_file))] * 2)
    with pytest.raises(ValueError, match="pair ids repeat across sources"):
        planned_pairs(twice)


def test_master_key_negatives_are_planned_for_critiquing(critic_dir, pairs_file, tmp_path):
    plain = planned_pairs(_config(critic_dir, pairs_file, tmp_path))
    negatives_option = MasterKeyNegatives(fraction=0.5)
    planned = planned_pairs(_config(critic_dir, pairs_file, tmp_path, master_key_negatives=negatives_option))
    negatives = [pair for pair in planned if pair.id.endswith("-master-key")]
    assert planned[: len(plain)] == plain and len(planned) == len(plain) + len(negatives)
    assert len(negatives) == round(0.5 * len(plain)) > 0
    assert all(pair.rejected in TRAINING_MASTER_KEYS for pair in negatives)


def test_generation_settings_are_recorded(full_run):
    _, output = full_run
    settings = json.loads((output / "generation.json").read_text())
    assert settings["temperature"] == 0.0 and settings["critique_format"]["max_new_tokens"] == 8
