"""RemoteRewardModel against a real uvicorn server in a thread: same numbers as the served model, server errors
raised with their message, `remote:URL` through the registry."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from rewardkit.families.registry import load_reward_model
from rewardkit.families.remote import RemoteRewardModel
from rewardkit.protocol import Capabilities, PreferenceDiagnostics, UnsupportedOperation
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.evaluation.fakes import JudgeModel, ScoreTableModel


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = _free_port()
    app = create_app(ScoreTableModel(lambda response: float(len(response))), BatchingConfig(max_wait_ms=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 20 s"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_remote_scores_and_preferences_match_the_served_model(server_url):
    remote = load_reward_model(f"remote:{server_url}")
    assert isinstance(remote, RemoteRewardModel)
    remote.chunk_size = 2  # three responses: two requests
    assert [s.value for s in remote.score(["p"] * 3, ["a", "abc", "abcdef"])] == [1.0, 3.0, 6.0]
    [preference] = remote.compare(["p"], ["a"], ["abcdef"])
    assert preference.p_a_better < 0.01


def test_a_server_error_is_raised_with_its_message(server_url):
    remote = RemoteRewardModel(server_url)
    with pytest.raises(ValueError, match="422"):
        remote._post("/score", {"prompts": ["p", "q"], "responses": ["a"]})


def test_a_pairwise_only_server_raises_unsupported_operation_for_scores():
    port = _free_port()
    app = create_app(JudgeModel(lambda a, b: (0.5, PreferenceDiagnostics())), BatchingConfig(max_wait_ms=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        remote = RemoteRewardModel(f"http://127.0.0.1:{port}")
        assert (remote.capabilities, remote.tie_credit) == (Capabilities(score=False), 0.5)
        with pytest.raises(UnsupportedOperation, match="501"):
            remote.score(["p"], ["a"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_unreachable_server_is_an_os_error_naming_the_url():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(OSError, match="cannot reach the reward server"):
        RemoteRewardModel(url, timeout_s=2).score(["p"], ["a"])


@pytest.mark.parametrize("spec", ["remote:", "remote:localhost:5000"])
def test_bad_remote_specs_are_refused(spec):
    with pytest.raises(ValueError, match="URL"):
        load_reward_model(spec)
