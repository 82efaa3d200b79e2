"""Check the SLURM profile's resources for ``train_run`` against the cost model's predictions.

The profile (``workflow/profiles/slurm/config.yaml``, ``set-resources: train_run``) gives every training job
one ``runtime`` (minutes) and ``mem_mb`` (host memory); each job gets ``world_size`` GPUs. A job that hits
its time limit fails and Snakemake resubmits it ``retries`` times; training resumes from the last epoch
checkpoint, so a run may take up to ``runtime x (1 + retries)`` minutes of wall time. A run fails on the
cluster when its predicted wall time on the slowest reference GPU or its host memory, times :data:`MARGIN`,
or its peak memory per GPU, times :data:`MEMORY_MARGIN`, exceeds what the job gets.
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
    return {"runtime": float(resources["runtime"]), "mem_mb": float(resources["mem_mb"]),
            "retries": int(profile.get("retries", 0) or 0)}


def check_profile(costs: pd.DataFrame, resources: dict[str, float]) -> list[str]:
    """One message per problem (empty when every run fits), naming the run, the numbers and the fix."""
    problems = []
    worst = costs.sort_values("wall_hours", ascending=False).groupby("run").head(1)  # slowest reference GPU
    attempts = 1 + resources.get("retries", 0)
    for row in worst.itertuples():
        need_min = row.wall_hours * 60 * MARGIN
        if need_min > resources["runtime"] * attempts:
            problems.append(
                f"{row.run}: predicted {row.wall_hours:.1f} h on {row.world_size} x {row.gpu} (x{MARGIN} margin "
                f"= {need_min:.0f} min) exceeds the profile's train_run runtime {resources['runtime']:.0f} min "
                f"x {attempts} attempts (retries {attempts - 1}; training resumes from its last checkpoint); "
                "raise runtime or retries in workflow/profiles/slurm/config.yaml or the run's world_size")
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


def resubmission_notes(costs: pd.DataFrame, resources: dict[str, float]) -> list[str]:
    """Per experiment and reference GPU: runs that fit only with resubmissions (``retries``), not in one job."""
    notes = []
    need = costs.assign(minutes=costs.wall_hours * 60 * MARGIN)
    late = need[(need.minutes > resources["runtime"])]
    for (experiment, gpu), group in late.groupby([late.run.str.rsplit("/", n=2).str[0], "gpu"]):
        jobs = int(-(-group.minutes.max() // resources["runtime"]))
        notes.append(f"{experiment} on {gpu}: up to {group.wall_hours.max():.1f} h per run (x{MARGIN} = "
                     f"{group.minutes.max():.0f} min): {jobs} consecutive jobs of {resources['runtime']:.0f} min")
    return notes
