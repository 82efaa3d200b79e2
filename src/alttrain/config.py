"""Run configuration: one frozen dataclass per training run, loaded from YAML and validated when loaded.

A run's YAML file (``results/runs/<paper>/<experiment>/<run_id>/seed<seed>/config.yaml``) holds every setting of
that run, so ``python -m alttrain train <file>`` re-runs it by hand without Snakemake.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alttrain.errors import UserError

LOSSES = ("cross_entropy", "bce_onehot", "mse")
DIVERGENCE_CHECKS = ("batch_loss", "val_loss")


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run.

    Attributes:
        paper: paper id (``fg``, ``oialr``, ``f3``).
        experiment: experiment id within the paper (the aggregated CSV is named after it).
        run_id: id of the grid point (method, model, ... without the seed).
        seed: seed of model init, shuffling and the method's generator (documented in ``train.py``).
        scale: scale the run belongs to (``smoke``, ``cpu``, ``paper``).
        dataset: ``{"name": ..., **loader options}`` for :func:`alttrain.data.load_dataset`.
        model: ``{"name": ..., **builder options}`` for :func:`alttrain.models.build_model`.
        method: ``{"name": ..., **estimator options}`` for :func:`alttrain.methods.create_method`.
        optimizer: ``{"name": "sgd"|"adam"|"adamw", "lr": ..., **torch options}``.
        epochs: number of training epochs (epoch 0 is an evaluation before training).
        batch_size: training mini-batch size.
        eval_batch_size: batch size of the evaluation passes.
        loss: ``cross_entropy`` (logits), ``bce_onehot`` (probabilities vs one-hot) or ``mse``.
        label_smoothing: label smoothing of the cross-entropy loss.
        early_stopping: ``None`` or ``{"patience": int, "min_delta": float, "monitor": "val_loss"}``.
        divergence_threshold: the run stops as diverged when the loss that ``divergence_check`` names is NaN or
            >= this bound.
        divergence_check: ``batch_loss`` (default): stop at the first mini-batch loss that is NaN or >= the bound
            (and after an epoch whose evaluated training loss is); ``val_loss``: stop after an epoch whose
            validation loss is NaN or >= the bound, as the fg authors' code (needs ``val`` in ``eval_splits``).
        alignment: ``{"enabled": bool, "probe_size": int}``: gradient alignment with backprop per evaluation.
        lowrank: ``None`` or OIALR options (see :mod:`alttrain.lowrank`).
        schedule: ``None`` or learning-rate schedule options (see :mod:`alttrain.schedules`).
        grad_clip: global gradient-norm clipping bound, or ``None``.
        eval_splits: which splits are evaluated each epoch.
        checkpoint_every: write the resumable checkpoint every this many epochs.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        threads: torch intra-op threads for this process.
        world_size: data-parallel processes (one GPU each) the run is launched with; the DAG's ``train_run``
            asks for that many GPUs and starts the processes with ``torchrun`` (see docs/cluster.md).
        data_root: folder where data sets are downloaded to / searched in.
        data_search_paths: further folders searched for data files that cannot be downloaded offline.
        labels: the run's grid coordinates (e.g. ``{"approach": "frog_k16", "width": 256}``); they become columns
            of the aggregated CSVs that figures and tables read.
    """

    paper: str
    experiment: str
    run_id: str
    seed: int
    dataset: dict[str, Any]
    model: dict[str, Any]
    method: dict[str, Any]
    optimizer: dict[str, Any]
    epochs: int
    batch_size: int
    scale: str = "cpu"
    eval_batch_size: int = 1000
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    early_stopping: dict[str, Any] | None = None
    divergence_threshold: float | None = None
    divergence_check: str = "batch_loss"
    alignment: dict[str, Any] = field(default_factory=lambda: {"enabled": True, "probe_size": 64})
    lowrank: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    grad_clip: float | None = None
    eval_splits: tuple[str, ...] = ("train", "val", "test")
    checkpoint_every: int = 1
    device: str = "auto"
    threads: int = 1
    world_size: int = 1
    data_root: str = "resources/downloads"
    data_search_paths: tuple[str, ...] = ()
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.epochs, int) or self.epochs < 0:
            problems.append(f"epochs must be a non-negative integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            problems.append(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.divergence_check not in DIVERGENCE_CHECKS:
            problems.append(
                f"divergence_check must be one of {', '.join(DIVERGENCE_CHECKS)}, got {self.divergence_check!r}"
            )
        elif self.divergence_check == "val_loss" and "val" not in self.eval_splits:
            problems.append("divergence_check 'val_loss' needs 'val' in eval_splits")
        if not isinstance(self.world_size, int) or self.world_size < 1:
            problems.append(f"world_size must be a positive integer, got {self.world_size!r}")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        lr = self.optimizer.get("lr")
        if not isinstance(lr, int | float) or lr <= 0:
            problems.append(f"optimizer.lr must be a positive number, got {lr!r}")
        for key in ("dataset", "model", "method", "optimizer"):
            if "name" not in getattr(self, key):
                problems.append(f"{key} needs a 'name'")
        if problems:
            raise UserError(f"invalid run config {self.paper}/{self.experiment}/{self.run_id}: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (tuples as lists), as written to YAML."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self) -> str:
        """Hash of every setting; a checkpoint from a different configuration is refused."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Build and validate from plain data; unknown keys are an error naming the allowed ones."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise UserError(f"unknown run-config key(s) {unknown}; allowed keys: {sorted(allowed)}")
        missing = sorted(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in raw
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        )
        if missing:
            raise UserError(f"run config is missing required key(s) {missing}")
        values = dict(raw)
        for key in ("eval_splits", "data_search_paths"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


def yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error in one line: ``line L, column C: <problem>`` (PyYAML's own text spans several lines)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


def load_run_config(path: str | Path) -> RunConfig:
    """Load a run's YAML file; a missing or malformed file raises :class:`UserError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"run config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"run config {path} is not valid YAML: {yaml_problem(err)}") from err
    if not isinstance(raw, dict):
        raise UserError(f"run config {path} must be a mapping of keys to values")
    return RunConfig.from_dict(raw)
