"""Closed-form case: the vectorised gradient-descent sweep against a per-run loop, and the full paper grid.

* Speed-up: the 8 approaches x 5 seeds of one function and dimension, optimised together by
  :func:`alttrain.closed_form.sweep.run_sweep` (one call, ``x`` of shape (8, 5, n)), against the same 40
  runs one at a time (40 calls of the same function with one approach and one seed: the same math). A fixed
  number of steps without early stopping, so both do exactly steps x runs updates; throughput = steps x runs
  per second.
* Full paper grid (3 functions, n = 1 ... 1024, 8 approaches, 5 seeds): the time per step of each of the 33
  sweeps is measured over a short probe and multiplied by the paper's step limit (1000 / 25000 / 1000). Early
  stopping only shortens runs, so this is an upper bound; its wall time on 2 cores assumes the 33 jobs run two
  at a time (and is at least the longest single job).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from alttrain.bench.harness import Settings
from alttrain.bench.record import CaseRecord, measure_group

NAME, TITLE = "closed_form", "Closed-form sweep: vectorised vs per-run loop"
APPROACHES = ("bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16")
SEEDS = (0, 1, 2, 3, 4)
NO_STOP = 10**9  # a patience that never stops a run: every run does exactly max_steps updates


def _approaches(names: tuple[str, ...]) -> list:
    from alttrain.closed_form.sweep import Approach, parse_approach

    # why a tiny learning rate: timing only; no trajectory may diverge (NaN) or settle early
    return [Approach(name, *parse_approach(name), lr=1e-4) for name in names]


def _sweep(
    function: str, n: int, approaches: list, seeds: tuple[int, ...], steps: int
) -> Callable[[], object]:
    from alttrain.closed_form.sweep import run_sweep

    def call() -> object:
        return run_sweep(function, n, approaches, list(seeds), patiences=(NO_STOP,), max_steps=steps)

    return call


def _per_run(
    function: str, n: int, approaches: list, seeds: tuple[int, ...], steps: int
) -> Callable[[], None]:
    runs = [_sweep(function, n, [a], (s,), steps) for a in approaches for s in seeds]

    def call() -> None:
        for run in runs:
            run()

    return call


def _bench_speedup(record: CaseRecord, settings: Settings) -> None:
    names, seeds = (APPROACHES[:3], SEEDS[:2]) if settings.tiny else (APPROACHES, SEEDS)
    dims, steps = ((4,), 5) if settings.tiny else ((1, 64, 1024), 30)
    approaches = _approaches(names)
    runs = len(approaches) * len(seeds)
    record.sizes["speed-up"] = (
        f"styblinski_tang, {len(names)} approaches x {len(seeds)} seeds = {runs} runs, "
        f"{steps} steps each, no early stopping, simulated JVPs, float32"
    )
    # why no memory/FLOPs: a sweep holds a few (8, 5, n) tensors; the per-run loop is slow (40 calls)
    light = dataclasses.replace(settings, repeats=min(settings.repeats, 3), memory=False, flops=False)
    for n in dims:
        measure_group(
            record,
            f"n={n}",
            {
                "vectorised sweep": _sweep("styblinski_tang", n, approaches, seeds, steps),
                "per-run loop": _per_run("styblinski_tang", n, approaches, seeds, steps),
            },
            light,
            baseline="vectorised sweep",
            items_per_call=steps * runs,
            item_unit="steps x runs",
        )


def _estimate_grid(record: CaseRecord, settings: Settings) -> dict[str, float]:
    """Per-sweep time per step over a short probe, scaled to the paper's step limits."""
    from alttrain.closed_form.functions import FUNCTIONS

    names, seeds = (APPROACHES[:3], SEEDS[:2]) if settings.tiny else (APPROACHES, SEEDS)
    dims = (1, 2) if settings.tiny else tuple(2**e for e in range(11))
    probe = 3 if settings.tiny else 50
    approaches = _approaches(names)
    jobs = {}
    for function, spec in FUNCTIONS.items():
        for n in dims:
            _sweep(function, n, approaches, seeds, 2)()  # warm-up
            started = time.perf_counter()
            _sweep(function, n, approaches, seeds, probe)()
            per_step = (time.perf_counter() - started) / probe
            jobs[f"{function} n={n}"] = per_step * spec.max_steps
    total = sum(jobs.values())
    longest = max(jobs, key=jobs.get)
    record.sizes["paper grid"] = (
        f"{len(FUNCTIONS)} functions x n in {dims[0]}..{dims[-1]} ({len(jobs)} sweeps) x "
        f"{len(names)} approaches x {len(seeds)} seeds; probe of {probe} steps per sweep"
    )
    return {
        "core_s": total,
        "wall_2_cores_s": max(total / 2, jobs[longest]),
        "longest_job": longest,
        "longest_job_s": jobs[longest],
    }


def run(settings: Settings) -> CaseRecord:
    """Run the closed-form case (see the module docstring)."""
    record = CaseRecord(NAME, TITLE)
    record.attempt("speed-up", lambda: _bench_speedup(record, settings))
    grid = record.attempt("paper grid estimate", lambda: _estimate_grid(record, settings))
    loops = [r for r in record.rows if r["variant"] == "per-run loop"]
    worst = min(loops, key=lambda r: r["ratio"]) if loops else None
    record.target(
        "closed_form.speedup",
        "closed form: vectorised sweep speed-up over the per-run loop (worst n)",
        worst["ratio"] if worst else None,
        ">=",
        20.0,
        note=worst["group"] if worst else None,
    )
    record.target(
        "closed_form.paper_grid",
        "closed form: full paper grid on 2 cores (upper bound, no early stop)",
        grid["wall_2_cores_s"] if grid else None,
        "<",
        600.0,
        unit="s",
    )
    if grid:
        record.notes.append(
            f"Paper grid estimate: {grid['core_s']:.0f} core-seconds in total, longest sweep "
            f"{grid['longest_job']} ~{grid['longest_job_s']:.0f} s; early stopping only shortens it."
        )
    return record
