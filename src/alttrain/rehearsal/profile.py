"""Check the SLURM profile's resources for ``train_run`` against the cost model's predictions.

The profile (``workflow/profiles/slurm/config.yaml``, ``set-resources: train_run``) gives every training job
one ``runtime`` (minutes) and ``mem_mb`` (host memory); each job gets ``world_size`` GPUs. A run fails on
the cluster when its predicted wall time on the slowest reference GPU, its host memory or its peak memory per
GPU, times :data:`MARGIN`, exceeds what the job gets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from alttrain.errors import UserError

MARGIN = 1.5  # predictions are estimates (assumed efficiency, linear extrapolation): ask for 50 % more
MEMORY_MARGIN = 1.1  # GPU memory cannot be stretched: 10 % above the prediction must still fit


def profile_resources(path: str | Path) -> dict[str, float]:
    """``runtime`` (minutes) and ``mem_mb`` that the profile gives ``train_run`` (falling back to defaults)."""
    profile = yaml.safe_load(Path(path).read_text())
    defaults = profile.get("default-resources", {}) or {}
    train = (profile.get("set-resources", {}) or {}).get("train_run", {}) or {}
    resources = {**defaults, **train}
    missing = [k for k in ("runtime", "mem_mb") if k not in resources]
    if missing:
        raise UserError(f"{path}: set-resources: train_run has no {missing}; add them (minutes, MB)")
    return {"runtime": float(resources["runtime"]), "mem_mb": float(resources["mem_mb"])}


def check_profile(costs: pd.DataFrame, resources: dict[str, float]) -> list[str]:
    """One message per problem (empty when every run fits), naming the run, the numbers and the fix."""
    problems = []
    worst = costs.sort_values("wall_hours", ascending=False).groupby("run").head(1)  # slowest reference GPU
    for row in worst.itertuples():
        need_min = row.wall_hours * 60 * MARGIN
        if need_min > resources["runtime"]:
            problems.append(
                f"{row.run}: predicted {row.wall_hours:.1f} h on {row.world_size} x {row.gpu} (x{MARGIN} margin "
                f"= {need_min:.0f} min) exceeds the profile's train_run runtime {resources['runtime']:.0f} min; "
                "raise runtime in workflow/profiles/slurm/config.yaml or the run's world_size")
        need_mb = row.host_memory_gb * 1e3 * MARGIN
        if need_mb > resources["mem_mb"]:
            problems.append(
                f"{row.run}: predicted host memory {row.host_memory_gb:.1f} GB (x{MARGIN} = {need_mb:.0f} MB) "
                f"exceeds the profile's train_run mem_mb {resources['mem_mb']:.0f}; raise mem_mb")
    for row in costs.itertuples():
        if row.gpu_memory_gb * MEMORY_MARGIN > row.gpu_memory_limit_gb:
            problems.append(
                f"{row.run}: predicted peak memory {row.gpu_memory_gb:.1f} GB per GPU (x{MEMORY_MARGIN}) at "
                f"per-GPU batch {row.per_process_batch} exceeds the {row.gpu_memory_limit_gb:.0f} GB of a "
                f"{row.gpu}; raise the run's world_size (config/scales/paper.yaml) to shrink the per-GPU batch")
    return _unique(problems)


def _unique(problems: list[str]) -> list[str]:
    """The first message per run and kind (a grid has many runs of one shape; say each fault once)."""
    seen, out = set(), []
    for text in problems:
        kind = (text.split(":")[0].rsplit("/", 1)[0], text.split("predicted ")[1].split(" ")[0])
        if kind not in seen:
            seen.add(kind)
            out.append(text)
    return out
