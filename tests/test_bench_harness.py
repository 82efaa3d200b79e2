"""Benchmark harness: timing, peak memory, FLOP counting, case records (hand-computed expectations)."""

from __future__ import annotations

import time

import pytest
import torch

from alttrain.bench.harness import Settings, count_flops, peak_memory, time_interleaved
from alttrain.bench.record import CaseRecord, measure_group


def test_interleaved_timing_ranks_sleeps_by_duration():
    settings = Settings(repeats=3, warmup=1, min_sample_s=0.0)
    timings = time_interleaved({"short": lambda: time.sleep(0.005), "long": lambda: time.sleep(0.02)}, settings)
    short, long = timings["short"].median_s, timings["long"].median_s
    assert len(timings["short"].times_s) == 3
    assert short >= 0.005 and long >= 0.02  # sleep never returns early
    assert 1.5 < long / short < 8  # 4x, with generous room for a busy scheduler


def test_calibration_repeats_fast_calls_until_a_sample_is_long_enough():
    settings = Settings(repeats=1, warmup=1, min_sample_s=0.01)
    timing = time_interleaved({"fast": lambda: None}, settings)["fast"]
    assert timing.calls_per_sample > 100  # a no-op takes well under 0.1 ms
    assert timing.median_s < 1e-4


def test_cpu_peak_memory_sees_a_temporary_tensor():
    settings = Settings()
    size = 32 * 2**20  # 32 MiB of float32

    def allocate() -> float:
        return float(torch.ones(size // 4).sum())

    measured = peak_memory(allocate, settings)
    if measured is None:
        pytest.skip("peak-memory measurement needs Linux /proc/self/clear_refs and fork")
    # within a few hundred KiB below (the rest of the process may shrink meanwhile) and some MiB above
    assert 0.98 * size <= measured < size + 8 * 2**20
    assert peak_memory(lambda: None, settings) < 2**20


def test_flop_count_of_a_matmul_and_its_gradient():
    a, b = torch.randn(64, 128, requires_grad=True), torch.randn(128, 32)
    settings = Settings()
    assert count_flops(lambda: a @ b, settings) == 2 * 64 * 128 * 32

    def grad_with_leaf_input():  # the call pattern that breaks FlopCounterMode's module tracking
        return torch.autograd.grad((a @ b).sum(), a)

    assert count_flops(grad_with_leaf_input, settings) == 2 * (2 * 64 * 128 * 32)  # forward + input gradient
    assert count_flops(lambda: a @ b, Settings(flops=False)) is None


def test_case_record_fails_soft_and_judges_targets():
    record = CaseRecord("demo", "Demo")
    assert record.attempt("boom", lambda: 1 / 0) is None
    assert record.errors[0]["what"] == "boom" and "ZeroDivisionError" in record.errors[0]["error"]
    assert record.status() == "error"
    assert record.target("a", "faster", 3.0, ">=", 4.0)["met"] is False
    assert record.target("b", "small", 0.5, "<=", 0.7)["met"] is True
    assert record.target("c", "missing", None, "<", 1.0)["met"] is None


def test_measure_group_rows_and_ratios():
    record = CaseRecord("demo", "Demo")
    settings = Settings(repeats=2, warmup=1, min_sample_s=0.0, memory=False)
    x = torch.randn(32, 32)
    rows = measure_group(
        record,
        "g",
        {"one": lambda: x @ x, "two": lambda: (x @ x, x @ x)},
        settings,
        baseline="one",
        forward_flops=2 * 32**3,
        items_per_call=32,
    )
    assert [r["name"] for r in record.rows] == ["g: one", "g: two"]
    assert rows["one"]["ratio"] == 1.0
    assert rows["two"]["flops_per_forward"] == 2.0  # two matmuls over one
    assert rows["one"]["throughput"] == pytest.approx(32 / rows["one"]["median_s"])
    assert record.status() == "ok"
