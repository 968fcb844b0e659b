"""`GET /metrics` in the Prometheus text format: requests by route and status (errors included), latency histograms
and recent percentiles, queue depth, model-call sizes and durations. One registry per app (prometheus_client)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RECENT_REQUESTS = 2048
QUANTILES = (0.5, 0.9, 0.99)
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _RecentLatencies(Collector):
    """p50/p90/p99 of the last RECENT_REQUESTS answered requests per route, as gauges with a `quantile` label."""

    def __init__(self) -> None:
        self.latencies: dict[str, deque[float]] = {}

    def observe(self, route: str, seconds: float) -> None:
        self.latencies.setdefault(route, deque(maxlen=RECENT_REQUESTS)).append(seconds)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "rewardkit_request_latency_recent_seconds",
            f"Latency percentiles of the last {RECENT_REQUESTS} answered requests per route.",
            labels=["route", "quantile"],
        )
        for route, values in list(self.latencies.items()):
            for quantile, value in zip(QUANTILES, np.quantile(list(values), QUANTILES), strict=True):
                family.add_metric([route, str(quantile)], float(value))
        yield family


class ServingMetrics:
    """The server's Prometheus metrics; `middleware` records every HTTP request, `record_call` every model call."""

    def __init__(self, queued_items: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rewardkit_requests",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rewardkit_request_seconds",
            "Time from request to answer.",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.batch_items = Histogram(
            "rewardkit_model_call_items", "Items per model call.", buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.call_seconds = Histogram(
            "rewardkit_model_call_seconds",
            "Duration of one model call.",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        queue = Gauge("rewardkit_queue_items", "Items accepted and waiting for the model.", registry=self.registry)
        queue.set_function(queued_items)
        self.recent = _RecentLatencies()
        self.registry.register(self.recent)

    def record_call(self, items: int, seconds: float) -> None:
        self.batch_items.observe(items)
        self.call_seconds.observe(seconds)

    def record_request(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status < 400:
            self.recent.observe(route, seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp, routes: Callable[[], set[str]]) -> ASGIApp:
        """ASGI middleware timing every request; paths that are not routes count as `other` (bounded labels)."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                route = scope["path"] if scope["path"] in routes() else "other"
                self.record_request(route, status, time.perf_counter() - started)

        return timed
