"""What one benchmark case records: measurement rows, targets, notes and the errors it survived.

A case never aborts the suite: :meth:`CaseRecord.attempt` runs one part of it and turns an exception into an
``errors`` entry, so a missing component (another engineer's module not written yet, an API that changed)
shows up in the JSON and the table instead of stopping the benchmark.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from alttrain.bench.harness import Settings, count_flops, error_text, peak_memory, time_interleaved

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass
class CaseRecord:
    """Results of one case (``forward_gradient``, ``closed_form``, ``oialr``, ``f3``)."""

    name: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    sizes: dict[str, Any] = field(default_factory=dict)

    def attempt(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; on an exception record it under ``what`` and return None."""
        try:
            return fn()
        except Exception as err:  # why broad: a case must fail soft, whatever the component raises
            self.errors.append({"what": what, "error": error_text(err)})
            return None

    def row(self, name: str) -> dict[str, Any] | None:
        """The measurement row called ``name``."""
        return next((r for r in self.rows if r["name"] == name), None)

    def target(
        self,
        target_id: str,
        description: str,
        value: float | None,
        op: str,
        threshold: float,
        unit: str = "x",
        note: str | None = None,
    ) -> dict[str, Any]:
        """Record a target; ``met`` is None when the value could not be measured."""
        met = None if value is None else bool(OPERATORS[op](value, threshold))
        entry = {
            "id": target_id,
            "description": description,
            "value": value,
            "op": op,
            "threshold": threshold,
            "unit": unit,
            "met": met,
            "note": note,
        }
        self.targets.append(entry)
        return entry

    def seconds(self, name: str) -> float | None:
        """The judged per-call time of row ``name`` (see :func:`judged_seconds`); None if it is missing."""
        row = self.row(name)
        return judged_seconds(row) if row else None

    def ratio(self, name: str) -> float | None:
        """The judged ratio of row ``name`` to its baseline (see :func:`judged_seconds`); None if missing."""
        row = self.row(name)
        if row is None:
            return None
        return row["cpu_ratio"] if row.get("basis") == "cpu" and row.get("cpu_ratio") else row["ratio"]

    def status(self) -> str:
        """``ok``, ``partial`` (some parts failed) or ``error`` (nothing measured)."""
        if not self.errors:
            return "ok"
        return "partial" if self.rows else "error"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON file."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status(),
            "sizes": self.sizes,
            "rows": self.rows,
            "targets": self.targets,
            "notes": self.notes,
            "errors": self.errors,
        }


def judged_seconds(row: dict[str, Any]) -> float:
    """The per-call time targets are judged on: CPU time for one-thread CPU work, else wall time.

    why: on a shared CPU, time slices lost to other processes land on whichever variant runs at that moment
    (tens of percent on this project's machines); a single-threaded process's CPU time excludes them. The
    table shows both.
    """
    if row.get("basis") == "cpu" and row.get("cpu_median_s"):
        return row["cpu_median_s"]
    return row["median_s"]


def measure_group(
    record: CaseRecord,
    group: str,
    variants: dict[str, Callable[[], Any]],
    settings: Settings,
    *,
    baseline: str | None = None,
    forward_flops: int | None = None,
    items_per_call: int | None = None,
    item_unit: str = "samples",
    skip_flops: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """Time ``variants`` interleaved, then measure each one's peak memory and FLOPs; one row per variant.

    Args:
        record: the case the rows go to.
        group: prefix of the row names (e.g. ``mlp``); a row is named ``"<group>: <variant>"``.
        variants: variant name -> zero-argument callable doing one unit of work.
        settings: measurement settings.
        baseline: variant every ratio is relative to (``ratio`` = median time / the baseline's median time).
        forward_flops: FLOPs of one plain forward pass; rows then get ``flops_per_forward``.
        items_per_call: work items per call (samples, steps x runs) for the throughput column.
        item_unit: name of the items.
        skip_flops: variants whose FLOPs are not counted (counting costs one more call).

    Returns:
        The new rows by variant name.
    """
    started = time.perf_counter()
    timings = time_interleaved(variants, settings)
    base = timings[baseline].median_s if baseline is not None else None
    base_cpu = timings[baseline].cpu_median_s if baseline is not None else None
    basis = "cpu" if settings.device.type == "cpu" and torch.get_num_threads() == 1 else "wall"
    rows = {}
    for name, fn in variants.items():
        timing = timings[name]
        row: dict[str, Any] = {
            "name": f"{group}: {name}",
            "group": group,
            "variant": name,
            "median_s": timing.median_s,
            "cpu_median_s": timing.cpu_median_s,
            "times_s": timing.times_s,
            "calls_per_sample": timing.calls_per_sample,
            "baseline": f"{group}: {baseline}" if baseline is not None else None,
            "ratio": timing.median_s / base if base else None,
            "cpu_ratio": timing.cpu_median_s / base_cpu if base_cpu and timing.cpu_median_s else None,
            "basis": basis,
        }
        row["peak_mem_bytes"] = record.attempt(
            # why warm only for fast calls: a slow call's own MiBs dwarf the code pages a first call faults in
            f"{group}: {name}: peak memory",
            lambda fn=fn, warm=timing.median_s < 1.0: peak_memory(fn, settings, warm=warm),
        )
        flops = None
        if name not in skip_flops:
            flops = record.attempt(f"{group}: {name}: FLOP count", lambda fn=fn: count_flops(fn, settings))
        row["flops"] = flops
        row["flops_per_forward"] = flops / forward_flops if flops and forward_flops else None
        row["gflop_per_s"] = flops / timing.median_s / 1e9 if flops else None
        if items_per_call:
            row["items_per_call"] = items_per_call
            row["throughput"] = items_per_call / timing.median_s
            row["throughput_unit"] = f"{item_unit}/s"
            row["throughput_per_cpu_s"] = items_per_call / timing.cpu_median_s if timing.cpu_median_s else None
        record.rows.append(row)
        rows[name] = row
    print(
        f"  {record.name}: {group}: {len(variants)} variants in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return rows
