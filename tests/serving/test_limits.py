"""Under load and misuse the server stays bounded: a full queue answers 429 with Retry-After, a slow request 503
within its timeout with its waiting work dropped, a client that leaves has its work dropped, half-sent requests are
cut at the read timeout, an API key guards every route but /health, /metrics speaks Prometheus, and SIGTERM answers
every accepted request within its bound."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from rewardkit.serving.app import create_app
from rewardkit.serving.auth import require_key_off_loopback
from rewardkit.serving.limits import ServingLimitsConfig
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.serving.live_server import free_port, live_server
from tests.serving.slow_server import SlowModel

REPO_ROOT = Path(__file__).resolve().parents[2]


def _score(n: int) -> dict:
    return {"prompts": ["p"] * n, "responses": ["abc"] * n}


def _app(seconds_per_call: float, batching: BatchingConfig, **limits):
    return create_app(SlowModel(seconds_per_call), batching, ServingLimitsConfig(**limits))


def test_a_full_queue_answers_429_with_retry_after_and_recovers():
    app = _app(0.2, BatchingConfig(max_batch_size=4, max_wait_ms=1, max_queue_items=8))
    with live_server(app) as url, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.post(f"{url}/score", json=_score(4), timeout=30), range(8)))
        statuses = sorted(answer.status_code for answer in answers)
        refused = [answer for answer in answers if answer.status_code == 429]
        assert statuses.count(200) >= 2 and refused, statuses
        assert int(refused[0].headers["Retry-After"]) >= 1 and "--max-queue-items" in refused[0].json()["detail"]
        assert requests.post(f"{url}/score", json=_score(1), timeout=30).status_code == 200


def test_a_request_past_its_timeout_gets_503_and_its_waiting_items_are_dropped():
    app = _app(0.1, BatchingConfig(max_batch_size=4, max_wait_ms=1), request_timeout_s=0.25)
    with TestClient(app) as client:
        answer = client.post("/score", json=_score(100))
        assert answer.status_code == 503 and "--request-timeout-s" in answer.json()["detail"]
        time.sleep(0.3)
        stats = client.get("/info").json()["batches"]
    assert stats["dropped_items"] >= 80 and stats["model_calls"] <= 6


def test_the_work_of_a_client_that_left_is_dropped():
    app = _app(0.1, BatchingConfig(max_batch_size=4, max_wait_ms=1))
    with live_server(app) as url:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{url}/score", json=_score(200), timeout=0.3)
        time.sleep(0.5)
        stats = requests.get(f"{url}/info", timeout=5).json()["batches"]
    assert stats["dropped_items"] >= 150 and stats["model_calls"] <= 12


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_half_sent_headers_and_bodies_are_cut_at_the_read_timeout():
    app = _app(0.0, BatchingConfig(max_wait_ms=1), read_timeout_s=0.5)
    with live_server(app) as url:
        headers_only = _connect(url)
        headers_only.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\n")
        half_body = _connect(url)
        half_body.sendall(b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"prompts"')
        started = time.monotonic()
        assert headers_only.recv(1024) == b""  # closed by the server
        assert b"408" in half_body.recv(4096).split(b"\r\n")[0]
        assert time.monotonic() - started < 3
        assert requests.get(f"{url}/health", timeout=5).status_code == 200


def test_an_api_key_guards_every_route_but_health():
    app = create_app(SlowModel(0.0), BatchingConfig(max_wait_ms=1), api_key="s3cret")
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.post("/score", json=_score(1)).status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.post("/score", json=_score(1), headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.post("/score", json=_score(1), headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.post("/score", json=_score(1), headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.post("/get_reward?api_key=s3cret", json={"query": ["pa"], "prompts": ["p"]}).status_code == 200


def test_a_bind_beyond_loopback_needs_a_key():
    with pytest.raises(ValueError, match="--api-key"):
        require_key_off_loopback("0.0.0.0", None)
    require_key_off_loopback("0.0.0.0", "key")
    require_key_off_loopback("127.0.0.1", None)
    require_key_off_loopback("::1", None)


def test_metrics_report_requests_errors_queue_batches_and_latency_percentiles():
    app = _app(0.0, BatchingConfig(max_wait_ms=1))
    with TestClient(app) as client:
        for _ in range(3):
            client.post("/score", json=_score(2))
        client.post("/score", json={"prompts": []})
        text = client.get("/metrics").text
    assert 'rewardkit_requests_total{route="/score",status="200"} 3.0' in text
    assert 'rewardkit_requests_total{route="/score",status="422"} 1.0' in text
    assert "rewardkit_queue_items 0.0" in text
    assert "rewardkit_model_call_items_count 3.0" in text
    assert 'rewardkit_request_latency_recent_seconds{quantile="0.99",route="/score"}' in text


def _start_slow_server(port: int, seconds_per_call: float, shutdown_timeout_s: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)])}
    command = [
        sys.executable,
        "-m",
        "tests.serving.slow_server",
        str(port),
        str(seconds_per_call),
        str(shutdown_timeout_s),
    ]
    server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"the server did not start: {server.stderr.read().decode()[-2000:]}")


def _sigterm_with_requests_in_flight(seconds_per_call: float, shutdown_timeout_s: float, clients: int):
    port = free_port()
    server = _start_slow_server(port, seconds_per_call, shutdown_timeout_s)
    answers: list[int] = []

    def one_request() -> None:
        answers.append(requests.post(f"http://127.0.0.1:{port}/score", json=_score(4), timeout=60).status_code)

    threads = [threading.Thread(target=one_request) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # all sent and accepted; the model works through them one call at a time
    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=shutdown_timeout_s + 30)
    exited_after = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=10)
    return answers, exited_after


def test_sigterm_answers_every_request_in_flight_and_exits():
    answers, exited_after = _sigterm_with_requests_in_flight(0.2, shutdown_timeout_s=30, clients=12)
    assert answers == [200] * 12 and exited_after < 12 * 0.2 + 5


def test_sigterm_past_the_shutdown_bound_answers_503_and_exits_within_it():
    answers, exited_after = _sigterm_with_requests_in_flight(0.5, shutdown_timeout_s=1.0, clients=24)
    assert len(answers) == 24 and 503 in answers and set(answers) <= {200, 503}  # every request answered
    assert exited_after < 1.0 + 0.5 + 2
