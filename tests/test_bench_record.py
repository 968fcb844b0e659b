"""The machine and date fields of every benchmark's JSON line."""

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
