"""Write ``results/rehearsal/``: shapes.csv (measurements per job shape), runs.csv (cost per run), cost.csv
(per experiment), cost.md (the tables, assumptions and profile check) and cost.pdf / cost.png (the figure)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from alttrain.atomic import write_atomic, write_csv
from alttrain.rehearsal.cost import (
    ASSUMPTION_NOTE,
    CUDA_CONTEXT_BYTES,
    GPUS,
    HOST_BASE_BYTES,
    REFERENCE_GPUS,
    STEP_FLOOR_S,
    experiment_table,
)
from alttrain.rehearsal.profile import MARGIN, MEMORY_MARGIN


def commit() -> str:
    """Short commit of the working tree (``unknown`` outside git), ``+dirty`` when it has changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def paper_totals(table: pd.DataFrame) -> pd.DataFrame:
    """GPU-hours per paper (sum over its experiments) and in total."""
    hours = [c for c in table.columns if c.startswith("gpu_hours_")]
    totals = table.groupby("paper")[["runs", *hours]].sum().reset_index()
    overall = totals[["runs", *hours]].sum().to_frame().T.assign(paper="all")
    both = pd.concat([totals, overall], ignore_index=True)
    return both.astype({"runs": int})


def _markdown(frame: pd.DataFrame, digits: int = 1) -> str:
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: f"{v:,.{digits}f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    lines = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *lines])


def write_report(out: Path, shapes_csv: pd.DataFrame, costs: pd.DataFrame, problems: list[str],
                 meta: dict) -> pd.DataFrame:
    """Write every output; returns the per-experiment table."""
    out.mkdir(parents=True, exist_ok=True)
    table = experiment_table(costs)
    totals = paper_totals(table)
    write_csv(out / "shapes.csv", shapes_csv)
    write_csv(out / "runs.csv", costs)
    write_csv(out / "cost.csv", table)
    failed = shapes_csv[shapes_csv.status.isin(["failed"])] if "status" in shapes_csv else shapes_csv.iloc[:0]
    gpus = "; ".join(f"{GPUS[g].name}: FP32 {GPUS[g].fp32 / 1e12:g} TFLOP/s, TF32 {GPUS[g].tf32 / 1e12:g} "
                     f"TFLOP/s dense, {GPUS[g].memory / 1e9:g} GB ({GPUS[g].source})" for g in REFERENCE_GPUS)
    text = [
        "# Paper-scale rehearsal: cost of the `paper` scale",
        "",
        f"Report of {meta['date']} at commit `{meta['commit']}`; the rehearsal ran on {meta['device']} "
        f"({meta['wall_minutes']:.1f} minutes wall): {len(shapes_csv)} job shapes covering "
        f"{int(table.runs.sum())} training runs; {int((shapes_csv.status == 'started').sum())} started at full "
        f"model size on synthetic tensors of the real shapes, {len(failed)} failed. Scale `{meta['scale']}`, "
        f"papers {', '.join(meta['papers'])}. Data: synthetic tensors shaped like each paper's data set (sizes "
        "from the real splits); the numbers below are predictions, not measurements of training on real data.",
        "",
        "## GPU-hours per paper (no early stopping: upper bounds)",
        "",
        _markdown(totals),
        "",
        "## Per experiment",
        "",
        _markdown(table),
        "",
        "## Assumptions",
        "",
        f"* Reference GPUs: {gpus}. The code multiplies matrices in float32 (PyTorch's default, TF32 off), so "
        "the FP32 peak is the reference.",
        f"* {ASSUMPTION_NOTE}. Shapes timed on a GPU (`--measure-throughput`) use their measured fraction "
        "(column fraction_basis).",
        f"* At least {STEP_FLOOR_S * 1e3:g} ms per training step or evaluation batch (kernel-launch bound small "
        f"models); {CUDA_CONTEXT_BYTES / 1e9:g} GB per GPU for the CUDA context and workspaces; "
        f"{HOST_BASE_BYTES / 1e9:g} GB host memory per job for Python, torch and CUDA libraries.",
        "* FLOPs: `torch.utils.flop_counter` (matrix products, convolutions, attention; element-wise work, "
        "the OIALR SVDs and data loading are not counted). Per-process batch FLOPs and memory are measured at "
        "per-process batches 2 and 3 and extrapolated linearly (measured directly where the paper batch is "
        "cheap on a CPU: column memory_basis of shapes.csv). Data-parallel runs: every process evaluates; "
        "gradient all-reduce time is not modelled.",
        "* ImageNet decoding and augmentation (timm RandAugment) run on the CPU cores of each job "
        "(`cpus_per_gpu` in the profile); they are not modelled and can bound the ImageNet runs.",
        "",
        "## SLURM profile check",
        "",
        f"`workflow/profiles/slurm/config.yaml`, train_run: runtime {meta['profile']['runtime']:.0f} min, "
        f"mem_mb {meta['profile']['mem_mb']:.0f}, retries {meta['profile'].get('retries', 0)} (a job that hits "
        "its time limit is resubmitted and training resumes from its last epoch checkpoint: a run may take "
        "runtime x (1 + retries)); GPU memory of the reference GPUs; margins "
        f"x{MARGIN} (time, host memory) and x{MEMORY_MARGIN} (GPU memory). Runs that need a resubmission on "
        "the slowest reference GPU are listed below as notes.",
        "",
        *(["Every run fits."] if not problems else [f"* {p}" for p in problems]),
        "",
        *[f"* note: {n}" for n in meta.get("notes", [])],
        "",
    ]
    if len(failed):
        text += ["## Shapes that failed to start", ""] + [f"* {r.shape_id}: {r.error}" for r in failed.itertuples()]
    write_atomic(out / "cost.md", lambda p: Path(p).write_text("\n".join(text) + "\n"))
    figure(table, out, meta)
    return table


def figure(table: pd.DataFrame, out: Path, meta: dict) -> None:
    """GPU-hours per experiment on the first reference GPU, stacked by paper."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    column = f"gpu_hours_{REFERENCE_GPUS[0]}"
    pivot = table.pivot_table(index="paper", columns="experiment", values=column, aggfunc="sum").fillna(0)
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    pivot.plot.barh(stacked=True, ax=ax, colormap="tab20", width=0.6)
    ax.set_xlabel(f"GPU-hours on {REFERENCE_GPUS[0]} (upper bound, no early stopping)")
    ax.set_ylabel("paper")
    ax.legend(fontsize=7, ncol=2, title="experiment", title_fontsize=7, loc="lower right")
    ax.set_title(f"Paper scale, predicted from the rehearsal of {meta['date']} ({meta['commit']}); "
                 "synthetic data of the real shapes", fontsize=8)
    for suffix in ("pdf", "png"):
        write_atomic(out / f"cost.{suffix}", lambda p, s=suffix: fig.savefig(p, format=s, dpi=150))
    plt.close(fig)


def stamp() -> str:
    """Current UTC time, minutes."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
