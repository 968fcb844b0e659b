"""The machine and date fields of every benchmark's JSON line, and the chunks benchmarks alternate over."""

from __future__ import annotations

import datetime

from rewardkit import bench_record


def test_the_record_names_the_cpu_kind_threads_and_date(monkeypatch):
    monkeypatch.setattr(bench_record, "supports_bf16", lambda device: False)
    record = bench_record.machine_and_date()
    assert "without avx512_bf16" in record["machine"] and "threads" in record["machine"]
    assert record["date"] == datetime.date.today().isoformat()
    monkeypatch.setattr(bench_record, "supports_bf16", lambda device: True)
    assert "(with avx512_bf16" in bench_record.machine_and_date()["machine"]


def test_chunks_are_consecutive_near_equal_and_never_empty():
    assert bench_record.chunk_bounds(10, 4) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert bench_record.chunk_bounds(2, 4) == [(0, 1), (1, 2)]
    assert bench_record.chunk_bounds(0, 4) == []
