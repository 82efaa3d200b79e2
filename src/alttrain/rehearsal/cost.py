"""Cost model: GPU-hours, wall time and peak memory of every run from the rehearsal's measurements.

Per run (every run of a job shape shares its measurements; epochs and data sizes are the run's own):

* training FLOPs = epochs x steps per epoch x processes x FLOPs of one per-process step (no early stopping:
  an upper bound); steps per epoch = ceil(training samples / global batch);
* evaluation FLOPs = (epochs + 1) x processes x (sum over the evaluated splits of samples x forward FLOPs per
  sample + the alignment probe); every process evaluates (alttrain/distributed.py);
* seconds per step (and per evaluation batch) = max(floor, FLOPs / (FP32 peak x efficiency)): a step is
  bound either by its arithmetic or by the launch of its kernels, which does not get faster on a faster GPU.
  Where a GPU timed the shape (``--measure-throughput``), the floor is the measured time and the efficiency
  the measured fraction of that GPU's peak, at least :data:`ASSUMED_FRACTION` (a launch-bound shape's
  low fraction says nothing about its arithmetic); elsewhere the floor is :data:`STEP_FLOOR_S` and the
  efficiency :data:`ASSUMED_FRACTION`. GPU-hours = seconds / 3600 over all processes; wall = / processes;
* peak GPU memory per process = max(step peak, evaluation peak, the timed GPU's own peak) + the in-memory
  data set (train.py moves it to the device) + :data:`CUDA_CONTEXT_BYTES`.

The peak is the FP32 one: the code runs matrix products in float32 (PyTorch's default
``torch.backends.cuda.matmul.allow_tf32 = False``; cuDNN convolutions may use TF32, so a convolutional net's
measured fraction of the FP32 peak can exceed what the FP32 units alone give). The achieved fraction is
measured per job shape where a GPU timed it (``--measure-throughput``), else :data:`ASSUMED_FRACTION`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from alttrain.rehearsal.datasets import data_shape
from alttrain.rehearsal.shapes import JobShape


@dataclass(frozen=True)
class GPU:
    """A reference GPU: dense peak rates (FLOP/s) and memory (bytes), from the vendor's data sheet."""

    name: str
    fp32: float
    tf32: float
    memory: float
    source: str


GPUS = {
    "A100-80GB": GPU("A100-80GB", 19.5e12, 156e12, 80e9, "NVIDIA A100 data sheet (SXM; TF32 dense)"),
    "H100-80GB": GPU("H100-80GB", 67e12, 494.7e12, 80e9, "NVIDIA H100 data sheet (SXM; TF32 dense = 989/2)"),
    "H200": GPU("H200", 67e12, 494.7e12, 141e9, "NVIDIA H200 data sheet (SXM; TF32 dense = 989/2)"),
}
REFERENCE_GPUS = ("A100-80GB", "H100-80GB")
ASSUMED_FRACTION = 0.5
ASSUMPTION_NOTE = (
    "achieved fraction of the FP32 peak assumed 0.5 where no GPU timed the shape: large float32 GEMMs reach "
    "80-90 % of the FP32 peak; attention, normalisation, element-wise and optimizer kernels pull a whole "
    "training step below that")
STEP_FLOOR_S = 1e-3  # an eager PyTorch step launches hundreds of kernels of ~5-10 us each (assumption)
CUDA_CONTEXT_BYTES = 1.0e9  # CUDA context, cuBLAS/cuDNN workspaces and allocator slack (assumption)
HOST_BASE_BYTES = 4.0e9  # Python, torch and CUDA libraries, timm, pinned buffers per process (assumption)


@dataclass(frozen=True)
class Timing:
    """How fast a shape runs: efficiency (fraction of the FP32 peak) and floor (seconds) per step and per
    evaluation batch, and the GPU's measured peak memory (bytes; 0 when not measured)."""

    step_efficiency: float = ASSUMED_FRACTION
    step_floor: float = STEP_FLOOR_S
    eval_efficiency: float = ASSUMED_FRACTION
    eval_floor: float = STEP_FLOOR_S
    device_peak: float = 0.0
    basis: str = "assumed"
    measured_fraction: float = math.nan


def timings(throughput: pd.DataFrame | None, paper_batch: dict[str, int]) -> dict[str, Timing]:
    """Per shape id, the :class:`Timing` of a ``--measure-throughput`` CSV (rows with an error are skipped)."""
    if throughput is None or throughput.empty:
        return {}
    out = {}
    for row in throughput.to_dict("records"):
        gpu = next((g for g in GPUS.values() if g.name.split("-")[0] in str(row.get("device_name"))), None)
        if gpu is None or not row.get("step_seconds", 0) > 0 or row["shape_id"] not in paper_batch:
            continue
        step = row["step_flops"] / row["step_seconds"] / gpu.fp32
        evaluation = row["eval_flops"] / row["eval_seconds"] / gpu.fp32 if row["eval_seconds"] > 0 else step
        scale = paper_batch[row["shape_id"]] / row["timed_batch"]  # timed at a halved batch when it did not fit
        peak = row.get("device_peak_bytes", 0)
        out[row["shape_id"]] = Timing(
            max(step, ASSUMED_FRACTION), row["step_seconds"] * scale, max(evaluation, ASSUMED_FRACTION),
            row["eval_seconds"], 0.0 if pd.isna(peak) else float(peak) * scale, f"measured on {row['device_name']}",
            step)
    return out


def run_costs(shapes: list[JobShape], measured: pd.DataFrame, throughput: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """One row per run and reference GPU: FLOPs, GPU-hours, wall hours, peak GPU and host memory."""
    by_shape = measured.set_index("shape_id")
    timed = timings(throughput, {s.shape_id: s.per_process_batch for s in shapes})
    rows = []
    for shape in shapes:
        m = by_shape.loc[shape.shape_id]
        t = timed.get(shape.shape_id, Timing())
        for run_key in shape.runs:
            paper, experiment = run_key.split("/")[:2]
            epochs, batch = int(shape.run["epochs"]), int(shape.run["batch_size"])
            data = data_shape(shape.run["dataset"])
            world = shape.world_size
            steps = epochs * math.ceil(data.sizes["train"] / batch)
            splits = [s for s in shape.run["eval_splits"] if s in data.sizes]
            eval_samples = sum(data.sizes[s] for s in splits)
            eval_flops = (epochs + 1) * world * (eval_samples * m.eval_flops_per_sample + m.probe_flops)
            eval_batches = (epochs + 1) * world * sum(
                math.ceil(data.sizes[s] / int(shape.run["eval_batch_size"])) for s in splits)
            train_flops = steps * world * m.step_flops
            memory = max(m.step_peak_bytes, m.eval_peak_bytes, t.device_peak) + m.dataset_device_bytes \
                + CUDA_CONTEXT_BYTES
            host = HOST_BASE_BYTES + m.dataset_device_bytes  # the data set is read on the host first
            for name in REFERENCE_GPUS:
                gpu = GPUS[name]
                train_s = max(train_flops / (gpu.fp32 * t.step_efficiency), steps * world * t.step_floor)
                eval_s = max(eval_flops / (gpu.fp32 * t.eval_efficiency), eval_batches * t.eval_floor)
                rows.append({
                    "paper": paper, "experiment": experiment, "run": run_key, "shape_id": shape.shape_id,
                    "gpu": name, "world_size": world, "per_process_batch": shape.per_process_batch,
                    "epochs": epochs, "steps": steps, "train_flops": train_flops, "eval_flops": eval_flops,
                    "fraction_basis": t.basis, "step_efficiency": t.step_efficiency,
                    "measured_fraction": t.measured_fraction,
                    "gpu_hours": (train_s + eval_s) / 3600, "wall_hours": (train_s + eval_s) / 3600 / world,
                    "gpu_memory_gb": memory / 1e9, "gpu_memory_limit_gb": gpu.memory / 1e9,
                    "host_memory_gb": host / 1e9,
                })
    return pd.DataFrame(rows)


def experiment_table(costs: pd.DataFrame) -> pd.DataFrame:
    """Per paper and experiment: runs, GPU-hours per reference GPU, longest wall time, largest GPU memory."""
    wide = costs.pivot_table(index=["paper", "experiment"], columns="gpu", values="gpu_hours", aggfunc="sum")
    wide.columns = [f"gpu_hours_{c}" for c in wide.columns]
    longest = costs.pivot_table(index=["paper", "experiment"], columns="gpu", values="wall_hours", aggfunc="max")
    longest.columns = [f"longest_run_wall_hours_{c}" for c in longest.columns]
    first = costs[costs.gpu == REFERENCE_GPUS[0]].groupby(["paper", "experiment"])
    facts = pd.DataFrame({
        "runs": first.run.nunique(),
        "job_shapes": first.shape_id.nunique(),
        "gpus_per_run": first.world_size.max(),
        "peak_gpu_memory_gb": first.gpu_memory_gb.max(),
        "fraction_basis": first.fraction_basis.agg(lambda s: ", ".join(sorted(set(s)))),
    })
    return facts.join(wide).join(longest).reset_index()
