"""The one training loop, shared by every gradient estimator, model and data set.

Random streams (all derived from the run's ``seed``, see docs/reliability.md; every rank of a data-parallel
run uses the same ones, see :mod:`alttrain.distributed`):

* model initialisation and anything else drawn from the global torch RNG (F3 feedback matrices, dropout; on
  a GPU dropout uses the CUDA generator, seeded by the same call): ``torch.manual_seed(seed)`` right before
  the model is built;
* data shuffling: its own ``torch.Generator`` seeded ``seed``;
* the estimator (forward-gradient tangents): its own ``torch.Generator`` seeded ``seed + 1``
  (docs/methods/fg.md#fully-connected-networks-on-mnist).

Outputs in the run folder: ``metrics.csv`` (one row per epoch, no timings, so two runs of the same config give
identical files), ``alignment.csv`` (per-parameter gradient alignment with backprop), ``summary.json``; a resumable
checkpoint lives in ``.scratch/`` until the run finishes.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm import tqdm

from alttrain import distributed
from alttrain.atomic import write_atomic, write_csv, write_json
from alttrain.config import RunConfig
from alttrain.data import DataSplits, load_dataset
from alttrain.errors import UserError
from alttrain.losses import Loss
from alttrain.methods import GradientEstimator, create_method
from alttrain.metrics import alignment_by_parameter, evaluate
from alttrain.models import build_model, count_parameters
from alttrain.schedules import Schedule, build_optimizer

CHECKPOINT = Path(".scratch") / "checkpoint.pt"


def train(cfg: RunConfig, run_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train one run and write its outputs into ``run_dir``; resumes from a checkpoint of the same config.

    Returns:
        The summary dictionary also written to ``summary.json``.
    """
    run_dir = Path(run_dir)
    torch.set_num_threads(cfg.threads)
    dist_ctx, device = distributed.init(cfg.device)  # one device per process, chosen once
    data = _configured("dataset", cfg.dataset, lambda: load_dataset(
        cfg.dataset, root=cfg.data_root, search_paths=cfg.data_search_paths)).to(device)
    if data.val is None and "val" in cfg.eval_splits:
        cfg_splits = tuple(s for s in cfg.eval_splits if s != "val")
    else:
        cfg_splits = cfg.eval_splits
    if cfg.divergence_check == "val_loss" and "val" not in cfg_splits:
        raise UserError(
            f"divergence_check 'val_loss' needs a validation split, and the data set {cfg.dataset['name']!r} has "
            "none here: give it one (e.g. val_size) or use divergence_check: batch_loss"
        )
    loss = Loss(cfg.loss, data.num_outputs, cfg.label_smoothing)

    torch.manual_seed(cfg.seed)
    model = _configured("model", cfg.model, lambda: build_model(cfg.model, data)).to(device)
    params_full = count_parameters(model, trainable_only=True)
    estimator = _configured("method", cfg.method, lambda: create_method(
        cfg.method["name"], model, loss, data, torch.Generator(device="cpu").manual_seed(cfg.seed + 1),
        **{k: v for k, v in cfg.method.items() if k != "name"},
    ))
    model.to(device)
    distributed.broadcast_module(model)  # no-op in one process; with several, every rank starts from rank 0
    optimizer = build_optimizer([p for p in model.parameters() if p.requires_grad], cfg.optimizer)
    controller = None
    if cfg.lowrank is not None:
        from alttrain.lowrank import build_controller

        controller = build_controller(model, cfg.lowrank, optimizer)
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    schedule = Schedule(optimizer, cfg.schedule, steps_per_epoch)
    shuffle = torch.Generator(device="cpu").manual_seed(cfg.seed)

    state = _State()
    ckpt_path = run_dir / CHECKPOINT
    if ckpt_path.exists():
        _load_checkpoint(ckpt_path, cfg, model, optimizer, estimator, controller, shuffle, state)
    else:
        state.rows.append(_evaluate_epoch(0, cfg, model, data, loss, estimator, controller, cfg_splits,
                                          params_full, schedule, state))
        _early_stopping(cfg, state.rows[0], state)  # epoch 0 (before training) is the first reference value

    started = time.perf_counter()
    epochs = range(state.epoch + 1, cfg.epochs + 1)
    bar = tqdm(epochs, desc=f"{cfg.paper}/{cfg.run_id}/seed{cfg.seed}", disable=not progress, file=sys.stderr)
    for epoch in bar:
        if state.status != "running":
            break
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(data.train), generator=shuffle).to(device)
        losses = []
        for start in range(0, len(order), cfg.batch_size):
            index = order[start : start + cfg.batch_size]
            local = distributed.shard(index)  # this process's part of the global batch (all of it in one)
            x, y = data.train.take(local)
            schedule.before_update(state.updates)
            optimizer.zero_grad(set_to_none=True)
            batch_loss = float(estimator.compute_gradients(x, y, local)) if len(local) else 0.0
            batch_loss = distributed.average_gradients(model, batch_loss, len(local), len(index))
            losses.append(batch_loss)
            if cfg.divergence_check == "batch_loss" and _diverged(batch_loss, cfg.divergence_threshold):
                state.status, state.diverged_epoch = "diverged", epoch
                break
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
            optimizer.step()
            state.updates += 1
            if controller is not None:
                controller.after_step(state.updates)
        row = _evaluate_epoch(epoch, cfg, model, data, loss, estimator, controller, cfg_splits, params_full,
                              schedule, state)
        row["train_batch_loss"] = sum(losses) / len(losses)
        state.rows.append(row)
        state.epoch_seconds.append(time.perf_counter() - epoch_start)
        # batch_loss: the evaluated training loss too; val_loss (fg authors): the epoch's validation loss
        checked = row.get("val_loss") if cfg.divergence_check == "val_loss" else row.get("train_loss", 0.0)
        if state.status == "running" and _diverged(checked, cfg.divergence_threshold):
            state.status, state.diverged_epoch = "diverged", epoch
        if state.status == "running":
            _early_stopping(cfg, row, state)
        state.epoch = epoch
        checkpoint_due = state.status != "running" or epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs
        if checkpoint_due and dist_ctx.is_main:
            _save_checkpoint(ckpt_path, cfg, model, optimizer, estimator, controller, shuffle, state)
        bar.set_postfix(loss=f"{row['train_batch_loss']:.4g}")
    if state.status == "running":
        state.status = "completed"
    state.seconds += time.perf_counter() - started
    summary = _summary(cfg, data, device, model, params_full, state)
    if dist_ctx.is_main:
        write_csv(run_dir / "metrics.csv", pd.DataFrame(state.rows))
        write_csv(run_dir / "alignment.csv", pd.DataFrame(state.align_rows, columns=ALIGN_COLUMNS))
        write_json(run_dir / "summary.json", summary)
        ckpt_path.unlink(missing_ok=True)
    distributed.finish()
    return summary


ALIGN_COLUMNS = ["epoch", "parameter", "cosine", "norm_ratio"]


def _configured(key: str, spec: dict[str, Any], build):
    """``build()``; a TypeError/ValueError raised while building from the config's options becomes one
    :class:`UserError` line naming the config key (e.g. an unknown option, or ``k: 0``), not a traceback."""
    try:
        return build()
    except (TypeError, ValueError) as err:
        raise UserError(f"run config {key} {spec.get('name')!r}: {type(err).__name__}: {err}") from err


class _State:
    """Everything the loop carries between epochs (checkpointed)."""

    def __init__(self) -> None:
        self.epoch = 0
        self.updates = 0
        self.rows: list[dict[str, Any]] = []
        self.align_rows: list[list[Any]] = []
        self.status = "running"
        self.diverged_epoch: int | None = None
        self.best_value = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.seconds = 0.0
        self.epoch_seconds: list[float] = []

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _diverged(value: float, threshold: float | None) -> bool:
    return math.isnan(value) or math.isinf(value) or (threshold is not None and value >= threshold)


def _early_stopping(cfg: RunConfig, row: dict[str, Any], state: _State) -> None:
    """Patience counter on the monitored metric (lower is better); improvement must exceed ``min_delta``."""
    if cfg.early_stopping is None:
        return
    monitor = cfg.early_stopping.get("monitor", "val_loss")
    if monitor not in row:
        raise UserError(f"early_stopping.monitor {monitor!r} is not a metric of this run; have: {sorted(row)}")
    value = row[monitor]
    if value < state.best_value - cfg.early_stopping.get("min_delta", 0.0):
        state.best_value, state.best_epoch, state.bad_epochs = value, row["epoch"], 0
    else:
        state.bad_epochs += 1
        if state.bad_epochs >= cfg.early_stopping["patience"]:
            state.status = "early_stopped"


def _evaluate_epoch(epoch, cfg, model, data, loss, estimator, controller, splits, params_full, schedule, state):
    """One metrics row: loss and accuracy/MSE per split, alignment with backprop, trainable-parameter %."""
    row: dict[str, Any] = {"epoch": epoch, "lr": schedule.current_lr()}
    for split in splits:
        for key, value in evaluate(model, data.split(split), loss, data.task, cfg.eval_batch_size).items():
            row[f"{split}_{key}"] = value
    row["trainable_pct"] = 100.0 * count_parameters(model, trainable_only=True) / params_full
    if controller is not None:
        row.update(controller.metrics())
    if cfg.alignment.get("enabled", True) and not estimator.exact:
        global_align, per_param = _probe_alignment(cfg, model, data, estimator)
        row["align_cosine"], row["align_norm_ratio"] = global_align["cosine"], global_align["norm_ratio"]
        state.align_rows.extend([epoch, n, a["cosine"], a["norm_ratio"]] for n, a in per_param.items())
    return row


def _probe_alignment(cfg: RunConfig, model, data: DataSplits, estimator: GradientEstimator):
    """Alignment of the estimate with backprop on a fixed probe batch, leaving every state as it was.

    The probe restores the model's buffers (BatchNorm statistics), the global and the estimator's RNG states, and
    the gradients, so a run with the alignment metric trains exactly like one without it.
    """
    index = torch.arange(min(cfg.alignment.get("probe_size", 64), len(data.train)), device=data.train.y.device)
    x, y = data.train.take(index)
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    rng_global = _global_rng_state()
    rng_method = estimator.generator.get_state()
    saved_grads = {n: p.grad for n, p in model.named_parameters()}
    was_training = model.training
    model.train()
    for p in model.parameters():
        p.grad = None
    true = estimator.true_gradients(x, y)
    _restore(model, buffers)
    _set_global_rng_state(rng_global)
    estimator.compute_gradients(x, y, index, update_state=False)
    estimates = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    result = alignment_by_parameter(estimates, true)
    for n, p in model.named_parameters():
        p.grad = saved_grads.get(n)
    _restore(model, buffers)
    _set_global_rng_state(rng_global)
    estimator.generator.set_state(rng_method)
    model.train(was_training)
    return result


def _restore(model, buffers: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for n, b in model.named_buffers():
            if n in buffers and buffers[n].shape == b.shape:
                b.copy_(buffers[n])


def _global_rng_state() -> dict[str, torch.Tensor | None]:
    """Global CPU RNG state and, once CUDA is in use, the current GPU's (dropout on a GPU draws from it)."""
    cuda = torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def _set_global_rng_state(state: dict[str, torch.Tensor | None]) -> None:
    torch.set_rng_state(state["cpu"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _save_checkpoint(path: Path, cfg, model, optimizer, estimator, controller, shuffle, state: _State) -> None:
    payload = {
        "fingerprint": cfg.fingerprint(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "estimator": estimator.state_dict(),
        "controller": controller.state_dict() if controller is not None else None,
        "rng_global": _global_rng_state(),
        "rng_shuffle": shuffle.get_state(),
        "state": state.to_dict(),
    }
    write_atomic(path, lambda p: torch.save(payload, p))


def _load_checkpoint(path: Path, cfg, model, optimizer, estimator, controller, shuffle, state: _State) -> None:
    """Restore a checkpoint (``weights_only=True``: nothing in it can execute code)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt, or holding objects that weights_only refuses to build
        raise UserError(
            f"cannot read the checkpoint {path} ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
            f"nothing was changed. Delete {path.parent} to restart this run from epoch 0."
        ) from err
    if payload["fingerprint"] != cfg.fingerprint():
        raise UserError(
            f"{path} belongs to a run with a different configuration; refusing to mix them. "
            f"Delete {path.parent} (or use another run folder) to start this configuration afresh."
        )
    if controller is not None:
        controller.load_state_dict(payload["controller"])  # rebuilds low-rank layers before their weights load
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    estimator.load_state_dict(payload["estimator"])
    _set_global_rng_state(payload["rng_global"])
    shuffle.set_state(payload["rng_shuffle"])
    vars(state).update(payload["state"])


def _summary(cfg, data, device, model, params_full, state: _State) -> dict[str, Any]:
    final = state.rows[-1]
    best = final  # without early stopping the best epoch is the last one (summary["best_epoch"] says so too)
    if cfg.early_stopping:
        best = next((r for r in state.rows if r["epoch"] == state.best_epoch), final)
    return {
        "paper": cfg.paper,
        "experiment": cfg.experiment,
        "run_id": cfg.run_id,
        "seed": cfg.seed,
        "scale": cfg.scale,
        "dataset": data.description,
        "status": state.status,
        "diverged_epoch": state.diverged_epoch,
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch if cfg.early_stopping else final["epoch"],
        "final": final,
        "best": best,
        "parameters": count_parameters(model),
        "trainable_parameters_initial": params_full,
        "fingerprint": cfg.fingerprint(),
        "wall_time_s": state.seconds,
        "epoch_seconds": state.epoch_seconds,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "processes": distributed.world_size(),
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"python": platform.python_version(), "torch": torch.__version__, "timm": version("timm"),
            "numpy": version("numpy"), "cuda": torch.version.cuda or "none", "platform": platform.platform()}
