"""Load test of `rewardkit serve` on loopback: throughput and latency at 32 and 64 clients, fairness to small
requests beside a client sending 400-item requests, and an overload run (429s, memory bounded).

The server runs in its own process (this script with `--serve`, through `run_server`, the code `rewardkit serve`
runs) with the default limits and batching; closed-loop aiohttp clients in this process send `/score` requests for
`--seconds` per phase:

- `clients32`, `clients64`: N clients, one item per request;
- `small31_alone`, `small31_with_large`: 31 one-item clients, then the same beside one client sending 400-item
  requests; `small_p99_ratio` = p99 of the small requests with the large client / without it;
- `overload`: 64 clients sending 100-item requests and retrying a 429 after 50 ms (ignoring Retry-After), while the
  server's RSS is sampled; then `/health` must still answer.

    nice python bench/bench_serving_load.py --model tiny --seconds 15

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np

PROMPT = [{"role": "user", "content": "What is 2 + 3? Answer briefly."}]
RESPONSE = "2 + 3 = 5."
OVERLOAD_RETRY_S = 0.05
RSS_SAMPLE_S = 0.25
PHASES = ("clients32", "clients64", "small31_alone", "small31_with_large", "overload")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny (2-layer random BT model) or default (SmolLM2-135M).")
    parser.add_argument("--seconds", type=float, default=15.0, help="Duration of each phase.")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def build_model(name: str):
    from rewardkit.families.scalar import ScalarRewardModel
    from rewardkit.models.tiny import save_tiny_model

    backbone = "default" if name == "default" else str(save_tiny_model(Path(tempfile.mkdtemp())))
    return ScalarRewardModel.from_backbone(backbone, seed=0, precision="fp32")


def serve(port: int, model_name: str) -> None:
    from rewardkit.serving.app import create_app
    from rewardkit.serving.server import run_server

    run_server(create_app(build_model(model_name)), "127.0.0.1", port, max_connections=1024)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PhaseLog:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"small": [], "large": []})
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def record(self, kind: str, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.latencies[kind].append(seconds)


async def client_loop(session, url: str, items: int, kind: str, log: PhaseLog, stop_at: float) -> None:
    payload = {"prompts": [PROMPT] * items, "responses": [RESPONSE] * items}
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            async with session.post(url + "/score", json=payload) as answer:
                await answer.read()
                log.record(kind, answer.status, time.monotonic() - started)
                if answer.status == 429:
                    await asyncio.sleep(OVERLOAD_RETRY_S)
        except aiohttp.ClientError:
            log.errors += 1


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def sample_rss(pid: int, samples: list[float], stop_at: float) -> None:
    while time.monotonic() < stop_at:
        samples.append(rss_mib(pid))
        await asyncio.sleep(RSS_SAMPLE_S)


async def run_phase(url: str, clients: list[tuple[int, str]], seconds: float, pid: int) -> dict:
    log, rss = PhaseLog(), []
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        tasks = [client_loop(session, url, items, kind, log, stop_at) for items, kind in clients]
        await asyncio.gather(*tasks, sample_rss(pid, rss, stop_at))
    return summarize(log, seconds, rss)


def percentile_ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def summarize(log: PhaseLog, seconds: float, rss: list[float]) -> dict:
    small, large = log.latencies["small"], log.latencies["large"]
    failed = log.errors + sum(count for status, count in log.statuses.items() if status not in (200, 429))
    summary = {
        "requests_per_s": round((len(small) + len(large)) / seconds, 2),
        "p50_ms": percentile_ms(small, 50),
        "p99_ms": percentile_ms(small, 99),
        "answered": len(small) + len(large),
        "rejected_429": log.statuses.get(429, 0),
        "failed": failed,
        "rss_mib_max": round(max(rss), 1),
    }
    if large:
        summary |= {"large_requests": len(large), "large_p50_ms": percentile_ms(large, 50)}
    return summary


def wait_for_health(url: str, server: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer /health within 300 s")


def health_after(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url + "/health", timeout=10) as answer:
        return answer.status


async def run_all(url: str, seconds: float, pid: int) -> dict:
    await run_phase(url, [(1, "small")] * 32, 3.0, pid)  # warm-up
    results = {
        "clients32": await run_phase(url, [(1, "small")] * 32, seconds, pid),
        "clients64": await run_phase(url, [(1, "small")] * 64, seconds, pid),
        "small31_alone": await run_phase(url, [(1, "small")] * 31, seconds, pid),
        "small31_with_large": await run_phase(url, [(1, "small")] * 31 + [(400, "large")], seconds, pid),
    }
    rss_before = rss_mib(pid)
    results["overload"] = await run_phase(url, [(100, "small")] * 64, seconds, pid)
    results["overload"] |= {"rss_mib_before": round(rss_before, 1), "health_after": health_after(url)}
    return results


def main() -> None:
    args = parse_args()
    if args.serve is not None:
        serve(args.serve, args.model)
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, __file__, "--serve", str(port), "--model", args.model]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(url, server)
        results = asyncio.run(run_all(url, args.seconds, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=60)
    alone, with_large = results["small31_alone"]["p99_ms"], results["small31_with_large"]["p99_ms"]
    for phase in PHASES:
        print(f"{phase:>20}: {results[phase]}")
    record = {
        "benchmark": "serving_load",
        "model": args.model,
        "seconds_per_phase": args.seconds,
        **results,
        "small_p99_ratio": round(with_large / alone, 2),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
