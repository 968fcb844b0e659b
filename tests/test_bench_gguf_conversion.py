"""bench/bench_gguf_conversion.py's comparison of two converted model directories."""

from __future__ import annotations

import shutil

import pytest
from safetensors.torch import load_file, save_file

from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_gguf_conversion.py")


def test_copies_are_the_same_and_one_changed_weight_is_not(bench, tiny_model_dir, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for target in (first, second):
        shutil.copytree(tiny_model_dir, target)
    for directory in (first, second):
        for name in bench.COMPARED_FILES:
            (directory / name).touch()  # a file the tiny model lacks is empty on both sides
    same = bench.same_outputs(first, second)
    assert same["tensors"] > 0 and same["tensors_equal"] and all(same["files_equal"].values())
    weights = next(second.glob("*.safetensors"))
    state = load_file(weights)
    name = next(iter(state))
    state[name] = state[name].clone()
    state[name].view(-1)[0] += 1.0
    save_file(state, weights)
    (second / "config.json").write_text((second / "config.json").read_text() + " ")
    changed = bench.same_outputs(first, second)
    assert not changed["tensors_equal"] and not changed["files_equal"]["config.json"]
