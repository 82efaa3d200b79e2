"""Rehearse one job shape: start the real training loop, then measure FLOPs, memory and (on a GPU) time.

* :func:`start_run` runs :func:`alttrain.train.train` (one process) or ``torchrun --nproc-per-node 2 -m
  alttrain train`` (data-parallel shapes, gloo on CPU) for one epoch of two steps on synthetic tensors of the
  real shapes, at full model size and a small per-process batch. The low-rank controller is made to act in
  these steps (OIALR switches to low rank after update 1 and checks every update; the stability analysis
  compares epochs 0 and 1), so its code runs at the real layer sizes.
* :func:`measure` builds the same objects the loop builds (model, estimator, optimizer, controller) and counts,
  for per-process batches 1 and 2 (and the paper batch where that is cheap): FLOPs of one full training step
  (``torch.utils.flop_counter.FlopCounterMode``: matrix products, convolutions, attention), FLOPs of an
  evaluation forward and of the alignment probe, and the peak memory of a step
  (a dispatch mode that follows every tensor storage from creation to release, on top of the parameters,
  gradients and optimizer state held between steps).
  Both grow linearly with the batch (every per-sample operation is independent of the others), so two
  batches give the line; the paper batch is extrapolated on it, or measured where it is cheap.
* On CUDA with ``time_steps`` the paper per-process batch is timed (halved until it fits) and the GPU's own
  peak memory recorded: the achieved fraction of peak that the cost model can take as measured.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry
from torch.utils.weak import WeakIdKeyDictionary

from alttrain.config import RunConfig
from alttrain.errors import UserError
from alttrain.rehearsal.datasets import data_shape
from alttrain.rehearsal.shapes import JobShape

SMALL_BATCHES = (2, 3)  # BatchNorm in training mode needs two samples (ResNet-18 ends at 1x1 maps)
CHEAP_FLOPS = 2e10  # measure the paper batch directly when one step costs less (about a second on one core)
CHEAP_BYTES = 2 * 1024**3
PROBE_STEPS = 2  # training steps of the started run


def rehearsal_config(run: dict[str, Any], per_process_batch: int, processes: int) -> dict[str, Any]:
    """The run's config, on synthetic data, for one epoch of :data:`PROBE_STEPS` steps at a small batch.

    Everything that decides the work of a step stays (model, method, optimizer, loss, controller); the
    controller's delays shrink so that it acts within the two steps.
    """
    cfg = copy.deepcopy(run)
    shape = data_shape(run["dataset"])
    batch = per_process_batch * processes
    sizes = {"train": batch * PROBE_STEPS, "test": 2}
    if "val" in shape.sizes:
        sizes["val"] = 2
    cfg["dataset"] = {"name": "synthetic", "like": {k: v for k, v in run["dataset"].items() if k != "path"},
                      "sizes": sizes}
    cfg.update(epochs=1, batch_size=batch, eval_batch_size=2, scale=f"{run.get('scale', 'paper')}-rehearsal",
               alignment={**run.get("alignment", {}), "probe_size": 2}, checkpoint_every=1)
    lowrank = cfg.get("lowrank")
    if lowrank and lowrank.get("mode", "oialr") == "oialr":
        cfg["lowrank"] = {**lowrank, "delay": 1, "stability_frequency": 1}
    elif lowrank and lowrank.get("mode") == "stability":
        cfg["lowrank"] = {**lowrank, "series": [{"every": 1}]}
    if processes != run.get("world_size", 1):
        cfg["world_size"] = processes
    return RunConfig.from_dict(cfg).to_dict()


def start_run(shape: JobShape, device: str = "cpu", per_process_batch: int = 2) -> dict[str, Any]:
    """Train the shape's run for two steps on synthetic data (two gloo processes for data-parallel shapes).

    Returns:
        ``{"status": ..., "processes": ..., "seconds": ...}``; a failure raises :class:`UserError` with the log.
    """
    processes = 2 if shape.world_size > 1 else 1
    cfg = rehearsal_config({**shape.run, "device": device}, per_process_batch, processes)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rehearse-") as tmp:
        if processes == 1:
            from alttrain.train import train

            summary = train(RunConfig.from_dict(cfg), tmp, progress=False)
        else:
            summary = _torchrun(cfg, Path(tmp), processes)
    return {"status": summary["status"], "processes": summary["processes"],
            "start_seconds": time.perf_counter() - started, "data": summary["dataset"]}


def _torchrun(cfg: dict[str, Any], folder: Path, processes: int) -> dict[str, Any]:
    """``torchrun --standalone --nproc-per-node <processes> -m alttrain train``, as the DAG launches it."""
    from alttrain.atomic import write_yaml

    config = write_yaml(folder / "config.yaml", cfg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "alttrain", "train", str(config), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise UserError(f"torchrun with {processes} processes failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    return json.loads((folder / "summary.json").read_text())


@dataclass
class Parts:
    """What the training loop builds for a run (see alttrain/train.py), on one device."""

    cfg: RunConfig
    data: Any
    loss: Any
    model: torch.nn.Module
    estimator: Any
    optimizer: torch.optim.Optimizer
    controller: Any
    device: torch.device


def build_parts(run: dict[str, Any], device: torch.device, largest_batch: int, eval_batch: int = 2) -> Parts:
    """Model, estimator, optimizer and controller exactly as ``train()`` builds them, on synthetic data."""
    from alttrain.data import load_dataset
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.models import build_model
    from alttrain.schedules import build_optimizer

    sizes = {"train": max(largest_batch, 2), "test": max(eval_batch, 2)}
    cfg = RunConfig.from_dict({**run, "dataset": {"name": "synthetic", "like": run["dataset"], "sizes": sizes}})
    data = load_dataset(cfg.dataset).to(device)
    loss = Loss(cfg.loss, data.num_outputs, cfg.label_smoothing)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data).to(device)
    estimator = create_method(cfg.method["name"], model, loss, data,
                              torch.Generator(device="cpu").manual_seed(cfg.seed + 1),
                              **{k: v for k, v in cfg.method.items() if k != "name"})
    model.to(device)
    optimizer = build_optimizer([p for p in model.parameters() if p.requires_grad], cfg.optimizer)
    controller = None
    if cfg.lowrank is not None:
        from alttrain.lowrank import build_controller

        controller = build_controller(model, cfg.lowrank, optimizer)
    return Parts(cfg, data, loss, model, estimator, optimizer, controller, device)


def _batch(parts: Parts, size: int, split: str = "train"):
    data = parts.data.train if split == "train" else parts.data.test
    if size > len(data):  # the synthetic split is only as large as the largest measured batch
        raise ValueError(f"batch {size} above the synthetic {split} split ({len(data)})")
    index = torch.arange(size, device=parts.device)
    return (*data.take(index), index)


def training_step(parts: Parts, x, y, index, update: int) -> None:
    """One optimizer update as the loop does it (``train.py``: zero_grad, estimate, clip, step, controller)."""
    model = parts.model
    parts.optimizer.zero_grad(set_to_none=True)
    parts.estimator.compute_gradients(x, y, index)
    if parts.cfg.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], parts.cfg.grad_clip)
    parts.optimizer.step()
    if parts.controller is not None:
        parts.controller.after_step(update)


def evaluation_forward(parts: Parts, x) -> None:
    from alttrain.methods import forward_model

    with torch.no_grad():
        forward_model(parts.model, x)


def alignment_probe(parts: Parts, x, y, index) -> None:
    """The probe's work (``train._probe_alignment``): backprop gradients plus one estimate."""
    parts.estimator.true_gradients(x, y)
    parts.estimator.compute_gradients(x, y, index, update_state=False)


class _FlopCounter(TorchDispatchMode):
    """Total FLOPs of the operators ``torch.utils.flop_counter`` knows (matmuls, convolutions, attention).

    ``FlopCounterMode`` itself also attributes FLOPs to modules with backward hooks, which break
    ``torch.autograd.grad`` on inputs (the activity-perturbation estimator); the count is the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += int(count(*args, **kwargs, out_val=out))
        return out


def _flops(fn) -> int:
    with _FlopCounter() as counter:
        fn()
    return counter.total


class _PeakMemory(TorchDispatchMode):
    """Peak bytes of the tensor storages that operators create while the mode is active.

    Each new storage counts from its creation until it is freed (a finalizer on the storage); views share
    their base's storage. ``torch.distributed._tools.mem_tracker.MemTracker`` does the same with module
    hooks, which break ``torch.autograd.grad`` on inputs (the activity-perturbation estimator).
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.seen = WeakIdKeyDictionary()

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                if storage not in self.seen:
                    self.seen[storage] = nbytes = storage.nbytes()
                    self.live += nbytes
                    weakref.finalize(storage, self._free, nbytes)
                    self.peak = max(self.peak, self.live)
        return out


def resident_bytes(parts: Parts) -> int:
    """Bytes held between steps: parameters, buffers, gradients and optimizer state."""
    tensors = {id(t): t for t in [*parts.model.parameters(), *parts.model.buffers()]}
    tensors.update({id(p.grad): p.grad for p in parts.model.parameters() if p.grad is not None})
    for state in parts.optimizer.state.values():
        tensors.update({id(t): t for t in state.values() if torch.is_tensor(t)})
    return sum(t.numel() * t.element_size() for t in tensors.values())


def line(values: dict[int, float]) -> tuple[float, float]:
    """(intercept, slope) of the line through the values at the two smallest batches."""
    (b1, v1), (b2, v2) = sorted(values.items())[:2]
    slope = (v2 - v1) / (b2 - b1)
    return v1 - slope * b1, slope


def at(values: dict[int, float], batch: int) -> float:
    """The :func:`line` through ``values`` at ``batch``."""
    intercept, slope = line(values)
    return intercept + slope * batch


def saved_activation_bytes(parts: Parts, fn) -> int:
    """Bytes of the tensors autograd saves for the backward pass during ``fn`` (parameters excluded, each
    storage once): the activation memory that lives from the forward pass into the backward pass."""
    params = {p.untyped_storage().data_ptr() for p in parts.model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params and tensor.device.type != "meta":
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn()
    return sum(storages.values())


def _counted(parts: Parts, fn) -> tuple[int, int]:
    """(FLOPs, peak bytes) of one call of ``fn``."""
    before = resident_bytes(parts)
    with _PeakMemory() as memory, _FlopCounter() as flops:
        fn()
    return flops.total, before + memory.peak


def measure(shape: JobShape, device: str = "cpu") -> dict[str, Any]:
    """FLOPs, parameters, optimizer state and memory of the shape at the per-process batches
    :data:`SMALL_BATCHES`, extrapolated linearly to the paper's, which is measured too where that is cheap.

    Returns one flat dict (a row of ``results/rehearsal/shapes.csv``); sizes in bytes of float32 tensors.
    """
    dev = torch.device(device)
    paper_batch = shape.per_process_batch
    data = data_shape(shape.run["dataset"])
    parts = build_parts(shape.run, dev, max(SMALL_BATCHES), max(SMALL_BATCHES))
    update = 0

    def step(batch: int) -> None:
        nonlocal update
        x, y, index = _batch(parts, batch)
        update += 1
        training_step(parts, x, y, index, update)

    step(SMALL_BATCHES[0])  # warm-up: the optimizer allocates its state at the first step (kept for the whole run)
    grads = sum(p.numel() * p.element_size() for p in parts.model.parameters() if p.requires_grad)
    resident = resident_bytes(parts) - sum(p.grad.numel() * p.grad.element_size()
                                           for p in parts.model.parameters() if p.grad is not None)
    optimizer_state = sum(t.numel() * t.element_size() for s in parts.optimizer.state.values()
                          for t in s.values() if torch.is_tensor(t))
    flops, peak, grad_peak, eval_flops, eval_peak, probe_flops, saved = {}, {}, {}, {}, {}, {}, {}
    for batch in SMALL_BATCHES:
        flops[batch], peak[batch] = _counted(parts, partial(step, batch))
        x, y, index = _batch(parts, batch)
        grad_peak[batch] = _counted(parts, partial(parts.estimator.compute_gradients, x, y, index))[1]
        saved[batch] = saved_activation_bytes(parts, partial(parts.estimator.compute_gradients, x, y, index))
        if _probes(parts):
            probe_flops[batch] = _flops(partial(alignment_probe, parts, x, y, index))
        parts.model.eval()
        xe = _batch(parts, batch, "test")[0]
        eval_flops[batch], eval_peak[batch] = _counted(parts, partial(evaluation_forward, parts, xe))
        parts.model.train()
    sample_bytes = sum(math.prod(s) * 4 for s in data.train_inputs) + 4 * max(1, math.prod(data.target))
    on_device = 0 if shape.run["dataset"]["name"] == "imagenet" else sample_bytes * sum(data.sizes.values())
    eval_batch = int(shape.run["eval_batch_size"])
    row: dict[str, Any] = {
        "shape_id": shape.shape_id,
        "parameters": sum(p.numel() for p in parts.model.parameters()),
        "trainable_parameters": sum(p.numel() for p in parts.model.parameters() if p.requires_grad),
        "parameter_bytes": sum(p.numel() * p.element_size() for p in parts.model.parameters()),
        "optimizer_state_bytes": optimizer_state,
        "dataset_device_bytes": on_device,  # in-memory data sets live on the training device (train.py)
        "step_flops_per_sample": line(flops)[1],
        "step_flops": at(flops, paper_batch),
        "activation_bytes_per_sample": line(saved)[1],
        # the larger of: the peaks' line, and what is held at the start of the backward pass (resident
        # parameters and optimizer state, the gradients to come, every saved activation): at batches 2 and 3
        # the gradients and optimizer buffers can set the peak and hide the activations' growth
        "step_peak_bytes": max(at(peak, paper_batch), at(grad_peak, paper_batch),
                               resident + grads + at(saved, paper_batch)),
        "eval_flops_per_sample": line(eval_flops)[1],
        "eval_peak_bytes": at(eval_peak, eval_batch),
        "probe_flops": at(probe_flops, min(int(parts.cfg.alignment.get("probe_size", 64)), data.sizes["train"]))
        if probe_flops else 0.0,
        "memory_basis": f"extrapolated from per-process batches {SMALL_BATCHES}",
        "data": f"synthetic tensors shaped like {data.label}",
    }
    cheap = row["step_flops"] < CHEAP_FLOPS and row["step_peak_bytes"] < CHEAP_BYTES
    if cheap and paper_batch not in SMALL_BATCHES:  # measure the paper batch itself; keep the prediction too
        parts = build_parts(shape.run, dev, paper_batch, 2)
        update = 0
        step(paper_batch)
        row["step_flops_extrapolated"], row["step_peak_bytes_extrapolated"] = row["step_flops"], row["step_peak_bytes"]
        row["step_flops"], row["step_peak_bytes"] = _counted(parts, partial(step, paper_batch))
        row["memory_basis"] = f"measured at the paper per-process batch {paper_batch}"
    return row


def _probes(parts: Parts) -> bool:
    return bool(parts.cfg.alignment.get("enabled", True)) and not parts.estimator.exact


def time_steps(shape: JobShape, device: str = "cuda", repeats: int = 5) -> dict[str, Any]:
    """Seconds per training step and per evaluation batch on ``device`` at the paper per-process batch
    (halved until it fits), with the FLOPs of that step and the device's peak memory."""
    dev = torch.device(device)
    batch = shape.per_process_batch
    while True:
        try:
            return _timed(shape, dev, batch, repeats)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            if batch <= SMALL_BATCHES[0]:
                raise
            batch = max(SMALL_BATCHES[0], batch // 2)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _timed(shape: JobShape, dev: torch.device, batch: int, repeats: int) -> dict[str, Any]:
    eval_batch = int(shape.run["eval_batch_size"])
    parts = build_parts(shape.run, dev, batch, eval_batch)
    x, y, index = _batch(parts, batch)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for update in (1, 2):  # warm-up (optimizer state, cuBLAS handles, autotuning)
        training_step(parts, x, y, index, update)
    _sync(dev)
    flops = _flops(lambda: training_step(parts, x, y, index, 3))
    times = []
    for update in range(4, 4 + repeats):
        _sync(dev)
        start = time.perf_counter()
        training_step(parts, x, y, index, update)
        _sync(dev)
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else math.nan
    parts.model.eval()
    ex = _batch(parts, eval_batch, "test")[0]
    evaluation_forward(parts, ex)
    _sync(dev)
    start = time.perf_counter()
    evaluation_forward(parts, ex)
    _sync(dev)
    eval_seconds = time.perf_counter() - start
    eval_flops = _flops(lambda: evaluation_forward(parts, ex))
    times.sort()
    return {"shape_id": shape.shape_id, "timed_batch": batch, "step_seconds": times[len(times) // 2],
            "step_flops": flops, "eval_batch": eval_batch, "eval_seconds": eval_seconds,
            "eval_flops": eval_flops, "device_peak_bytes": peak,
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"}
