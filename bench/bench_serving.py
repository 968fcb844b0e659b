"""Serving throughput: `rewardkit serve`'s micro-batching vs the same server calling the model once per request.

An RL trainer's rollout workers send many small concurrent requests. Both servers run in this process (uvicorn in
a thread) on the same reward model; CLIENTS threads each send single-response `/get_reward` requests (OpenRLHF's
format) until REQUESTS are done. `batched`: max_batch_size 32, max_wait_ms 10; `unbatched`: max_batch_size 1.
The rewards of both runs are compared response by response: padding moves them by float noise only (bf16 noise
where bf16 autocast is on; `reward_std` gives the scale).

    python bench/bench_serving.py --requests 32 --clients 8

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import uvicorn

from rewardkit.data.readers import read_pairs
from rewardkit.families.registry import load_reward_model
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.chat import render_prompt
from rewardkit.models.loading import load_tokenizer
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "rewardbench_like_dev.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="Reward model spec; default: a BT head on --backbone (speed only)."
    )
    parser.add_argument(
        "--backbone", default="default", help="Backbone of the default BT head, and the tokenizer of the queries."
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Preference pairs; chosen answers are sent.")
    parser.add_argument("--requests", type=int, default=128, help="Single-response requests per server.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent client threads.")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=10.0)
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model, batching: BatchingConfig) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(model, batching), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def run_clients(url: str, queries: list[tuple[str, str]], clients: int) -> tuple[list[float], float]:
    def one(query: tuple[str, str]) -> float:
        prompt, response = query
        return post(url + "/get_reward", {"query": [prompt + response], "prompts": [prompt]})["rewards"][0]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        rewards = list(pool.map(one, queries))
    return rewards, time.perf_counter() - started


def measure(model, queries, clients: int, batching: BatchingConfig) -> dict:
    server, thread, url = start_server(model, batching)
    try:
        run_clients(url, queries[: clients * 2], clients)  # warm-up
        rewards, seconds = run_clients(url, queries, clients)
        info = json.loads(urllib.request.urlopen(url + "/info").read())["batches"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    return {"rewards": rewards, "seconds": seconds, "requests_per_s": len(queries) / seconds, "batches": info}


def main() -> None:
    args = parse_args()
    model = load_reward_model(args.model) if args.model else ScalarRewardModel.from_backbone(args.backbone, seed=0)
    pairs = read_pairs(args.data).pairs
    tokenizer = load_tokenizer(args.backbone)  # the policy's chat template, as OpenRLHF's --apply_chat_template sends
    queries = []
    for index in range(args.requests):
        pair = pairs[index % len(pairs)]
        queries.append((render_prompt(tokenizer, pair.prompt), pair.chosen + tokenizer.eos_token))
    batched = measure(model, queries, args.clients, BatchingConfig(args.max_batch_size, args.max_wait_ms))
    unbatched = measure(model, queries, args.clients, BatchingConfig(max_batch_size=1, max_wait_ms=0))
    deviation = max(abs(a - b) for a, b in zip(batched["rewards"], unbatched["rewards"], strict=True))
    record = {
        "benchmark": "serving_get_reward",
        "model": model.name,
        "requests": args.requests,
        "clients": args.clients,
        "batched_requests_per_s": round(batched["requests_per_s"], 3),
        "unbatched_requests_per_s": round(unbatched["requests_per_s"], 3),
        "speedup": round(batched["requests_per_s"] / unbatched["requests_per_s"], 2),
        "batched_model_calls": batched["batches"]["model_calls"],
        "batched_largest_call": batched["batches"]["largest_call"],
        "unbatched_model_calls": unbatched["batches"]["model_calls"],
        "max_reward_difference": deviation,
        "reward_std": statistics.pstdev(unbatched["rewards"]),
        "torch_threads": torch.get_num_threads(),
        "device": str(model.device),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}",
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
