"""Closed-form case: the vectorised gradient-descent sweep against a per-run loop, and the full paper grid.

* Speed-up: :func:`alttrain.fg_math.sweep.run_sweep` optimises every approach, seed and dimension of one
  function in one call. It is timed against the same runs one at a time (one call per approach, seed and
  dimension: the same math), for single dimensions n = 1, 64, 1024 (8 approaches x 5 seeds = 40 runs) and
  for the packed grid n = 1 ... 1024 (440 runs). A fixed number of steps without early stopping, so both do
  exactly steps x runs updates; throughput = steps x runs per second.
* Full paper grid (3 functions, n = 1 ... 1024, 8 approaches, 5 seeds): the time per step of each function's
  packed sweep (process CPU time) is measured over a short probe and multiplied by the paper's step limit.
  Early stopping only shortens runs, so this is an upper bound; its wall time on 2 cores assumes the three
  sweeps run two at a time (so it is at least the longest one).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np

from alttrain.bench.harness import Settings
from alttrain.bench.record import CaseRecord, measure_group

NAME, TITLE = "closed_form", "Closed-form sweep: vectorised vs per-run loop"
APPROACHES = ("bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16")
SEEDS = (0, 1, 2, 3, 4)
PAPER_DIMS = tuple(2**e for e in range(11))
NO_STOP = 10**9  # a patience that never stops a run: every run does exactly max_steps updates
LR = 1e-4  # why a tiny step size: timing only; no trajectory may diverge (NaN) or settle early


def _approaches(names: tuple[str, ...]) -> list:
    from alttrain.fg_math.sweep import Approach, parse_approach

    return [Approach(name, *parse_approach(name)) for name in names]


def _sweep(
    function: str, ns: tuple[int, ...], approaches: list, seeds: tuple[int, ...], steps: int
) -> Callable[[], object]:
    """One ``run_sweep`` call over every approach, seed and dimension given."""
    from alttrain.fg_math.sweep import run_sweep

    lrs = np.full((len(approaches), len(ns)), LR)

    def call() -> object:
        return run_sweep(function, list(ns), approaches, lrs, list(seeds), patiences=(NO_STOP,), max_steps=steps)

    return call


def _per_run(
    function: str, ns: tuple[int, ...], approaches: list, seeds: tuple[int, ...], steps: int
) -> Callable[[], None]:
    """The same runs one at a time: one call per approach, seed and dimension."""
    runs = [_sweep(function, (n,), [a], (s,), steps) for n in ns for a in approaches for s in seeds]

    def call() -> None:
        for run in runs:
            run()

    return call


def _bench_speedup(record: CaseRecord, settings: Settings) -> None:
    names, seeds = (APPROACHES[:3], SEEDS[:2]) if settings.tiny else (APPROACHES, SEEDS)
    groups = [((4,), 5), ((1, 4), 3)] if settings.tiny else [((1,), 30), ((64,), 30), ((1024,), 30), (PAPER_DIMS, 10)]
    approaches = _approaches(names)
    record.sizes["speed-up"] = (
        f"styblinski_tang, {len(names)} approaches x {len(seeds)} seeds per dimension, "
        "no early stopping, simulated JVPs, float32"
    )
    # why no memory/FLOPs: a sweep holds a few (A, S, D) tensors; the per-run loop is slow (40-440 calls)
    light = dataclasses.replace(settings, repeats=min(settings.repeats, 3), memory=False, flops=False)
    for ns, steps in groups:
        runs = len(approaches) * len(seeds) * len(ns)
        label = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}..{ns[-1]} packed"
        measure_group(
            record,
            f"{label} ({runs} runs x {steps} steps)",
            {
                "vectorised sweep": _sweep("styblinski_tang", ns, approaches, seeds, steps),
                "per-run loop": _per_run("styblinski_tang", ns, approaches, seeds, steps),
            },
            light,
            baseline="vectorised sweep",
            items_per_call=steps * runs,
            item_unit="steps x runs",
        )


def _estimate_grid(record: CaseRecord, settings: Settings) -> dict[str, float]:
    """Per-function time per step of the packed sweep over a probe, scaled to the paper's step limits."""
    from alttrain.fg_math.functions import FUNCTIONS

    names, seeds = (APPROACHES[:3], SEEDS[:2]) if settings.tiny else (APPROACHES, SEEDS)
    dims = (1, 2) if settings.tiny else PAPER_DIMS
    probe = 3 if settings.tiny else 50
    approaches = _approaches(names)
    jobs = {}
    for function, spec in FUNCTIONS.items():
        _sweep(function, dims, approaches, seeds, 2)()  # warm-up
        started = time.process_time()  # why CPU time: the sweep is single-threaded; see harness.Timing
        _sweep(function, dims, approaches, seeds, probe)()
        jobs[function] = (time.process_time() - started) / probe * spec.max_steps
    total = sum(jobs.values())
    longest = max(jobs, key=jobs.get)
    record.sizes["paper grid"] = (
        f"{len(FUNCTIONS)} functions x n in {dims[0]}..{dims[-1]} x {len(names)} "
        f"approaches x {len(seeds)} seeds, one packed sweep per function; probe of "
        f"{probe} steps"
    )
    return {
        "core_s": total,
        "wall_2_cores_s": max(total / 2, jobs[longest]),
        "longest_job": longest,
        "longest_job_s": jobs[longest],
        "per_function_s": jobs,
        "seeds": len(seeds),
    }


def run(settings: Settings) -> CaseRecord:
    """Run the closed-form case (see the module docstring)."""
    record = CaseRecord(NAME, TITLE)
    record.attempt("speed-up", lambda: _bench_speedup(record, settings))
    grid = record.attempt("paper grid estimate", lambda: _estimate_grid(record, settings))
    packed = next((r for r in record.rows if r["variant"] == "per-run loop" and "packed" in r["group"]), None)
    record.target(
        "closed_form.speedup",
        "closed form: vectorised sweep speed-up over the per-run loop (packed grid of all n)",
        record.ratio(packed["name"]) if packed else None,
        ">=",
        20.0,
    )
    record.target(
        "closed_form.paper_grid",
        "closed form: full paper grid on 2 cores (upper bound, no early stop)",
        grid["wall_2_cores_s"] if grid else None,
        "<",
        600.0,
        unit="s",
    )
    # The DAG runs the Rosenbrock sweep in parts of SEEDS_PER_JOB seeds (each seed its own stream); a part's time
    # is scaled from the probe's seeds (5: one part at full size); with 20 seeds the parts run two at a time.
    from alttrain.grids.fg import SEEDS_PER_JOB

    size = SEEDS_PER_JOB.get("rosenbrock", 20)
    parts = math.ceil(20 / size)  # the 20 seeds in parts of `size` seeds
    rounds = math.ceil(parts / 2)  # two parts run side by side on 2 cores
    part_s = grid["per_function_s"]["rosenbrock"] * size / grid["seeds"] if grid else None
    record.target(
        "closed_form.rosenbrock_20_seeds",
        f"closed form: Rosenbrock sweep with 20 seeds on 2 cores (parts of {size} seeds, two at a time; upper "
        "bound, no early stop)",
        rounds * part_s if part_s else None,
        "<=",
        180.0,
        unit="s",
    )
    if grid:
        per_function = ", ".join(f"{k} {v:.0f} s" for k, v in grid["per_function_s"].items())
        record.notes.append(
            f"Paper grid estimate (no early stopping): {per_function}; {grid['core_s']:.0f} "
            "core-seconds in total; early stopping only shortens it."
        )
    return record
