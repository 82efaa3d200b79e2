"""Training runs of the fg paper (neural networks) and the learning-rate tables every fg experiment reads.

Experiments (aggregated CSVs ``results/metrics/fg/<experiment>.csv``):

* ``fc_mnist``: the FC networks of width w (docs/methods/fg.md#fully-connected-networks-on-mnist), labels ``approach``,
  ``width``, ``task``;
* ``sota``: ResNet18 and the 6-layer ViT (docs/methods/fg.md#resnet18-and-vit), labels ``approach``, ``task``,
  ``model_kind``, ``paper_dataset`` (the paper's data set; the data set actually used is the CSV's ``dataset`` column),
  ``lr_table``.

Every run uses plain SGD with the authors' learning rate of its (task, approach) from ``resources/fg/lrs_nn.csv``, early
stopping on the validation loss and the divergence bound 10 on each epoch's validation loss, as the authors' code
(``divergence_check: val_loss``; docs/methods/fg.md#fully-connected-networks-on-mnist). The
closed-form sweeps are not training runs (``workflow/rules/fg.smk``). This module imports no torch (Snakemake imports
it).
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Any

from alttrain.errors import UserError
from alttrain.grids import Settings

RESOURCES = Path(__file__).resolve().parents[3] / "resources" / "fg"
APPROACHES = ("bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16")
SOTA_TASKS = ("resnet18_mnist", "resnet18_cifar10", "vit_mnist", "vit_cifar10")
MODELS = {"resnet18": "fg_resnet18", "vit": "fg_vit"}


def resource(name: str) -> Path:
    """Path of a file in ``resources/fg`` (the authors' learning rates with their provenance)."""
    path = RESOURCES / name
    if not path.is_file():
        raise UserError(f"fg resource {path} is missing (it ships with the repository)")
    return path


@cache
def _read(name: str) -> tuple[dict[str, str], ...]:
    with resource(name).open(newline="") as handle:
        return tuple(csv.DictReader(handle))


def nn_learning_rate(task: str, approach: str, lr_table: str = "head") -> float:
    """The authors' learning rate of a network task (``fc_w256``, ``resnet18_mnist``, ...) and approach.

    Args:
        lr_table: ``head`` (frog@7beb8cb: ResNet18/ViT backprop at 0.1) or ``pre2025`` (the searched values).
    """
    column = {"head": "lr", "pre2025": "lr_pre2025"}[lr_table]
    for row in _read("lrs_nn.csv"):
        if row["task"] == task and row["approach"] == approach:
            return float(row[column])
    raise UserError(f"no published learning rate for fg task {task!r} and approach {approach!r}")


def math_learning_rate(function: str, n: int, approach: str) -> float:
    """The authors' step size of a closed-form function, dimension and approach (``lrs_math.csv``)."""
    for row in _read("lrs_math.csv"):
        if row["function"] == function and int(row["n"]) == n and row["approach"] == approach:
            return float(row["lr"])
    raise UserError(
        f"no published step size for {function} n={n} {approach}; the paper has n = 1, 2, ..., 1024 "
        f"and the approaches {', '.join(APPROACHES)}"
    )


def custom_learning_rate(function: str, n: int, combination: str, k: int, angle: float) -> float:
    """Step size of the custom-tangent experiment: mean per (k, angle), projection per k (Gaussian-tuned)."""
    for row in _read("lrs_math_custom_tangents.csv"):
        if (
            row["function"] == function
            and int(row["n"]) == n
            and row["combination"] == combination
            and int(row["k"]) == k
            and (combination != "mean" or float(row["angle"]) == float(angle))
        ):
            return float(row["lr"])
    raise UserError(
        f"no published custom-tangent step size for {function} n={n} {combination} k={k} angle={angle}"
    )


def method_of(approach: str, options: dict[str, Any]) -> dict[str, Any]:
    """The run config's ``method`` entry of an approach id (bp, fg_k1, fg_mean_k<k>, frog_k<k>)."""
    if approach == "bp":
        return {"name": "bp"}
    match = re.fullmatch(r"(fg_mean|fg|frog)_k(\d+)", approach)
    if match is None:
        raise UserError(f"fg approach {approach!r} is unknown; known: {', '.join(APPROACHES)}")
    combination = "orthogonal_projection" if match.group(1) == "frog" else "mean"
    return {"name": "fg", "k": int(match.group(2)), "combination": combination, **options}


def _common(spec: dict[str, Any]) -> dict[str, Any]:
    """Settings shared by both network experiments."""
    early = {"patience": spec["patience"], "min_delta": spec.get("min_delta", 0.0), "monitor": "val_loss"}
    return {
        "epochs": spec["epochs"],
        "eval_batch_size": spec.get("eval_batch_size", 1024),
        "early_stopping": early,
        "divergence_threshold": spec.get("divergence_threshold", 10.0),
        "divergence_check": spec.get("divergence_check", "val_loss"),  # the authors: epoch-end validation loss
        "eval_splits": list(spec.get("eval_splits", ["train", "val", "test"])),
        "alignment": {"enabled": True, "probe_size": spec.get("alignment_probe", 64)},
    }


def _fg_options(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": spec.get("mode", "simulated"),
        "perturbation": spec.get("perturbation", "activity"),
        "gram_solver": spec.get("gram_solver", "svd"),
    }


def fc_runs(spec: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Runs of the FC experiment (width x approach x seed)."""
    runs = []
    for width in spec.get("widths", []):
        task = f"fc_w{width}"
        for approach in spec["approaches"]:
            lr = nn_learning_rate(task, approach)
            for seed in spec["seeds"]:
                runs.append(
                    settings.run(
                        paper="fg",
                        experiment="fc_mnist",
                        run_id=f"w{width}_{approach}",
                        seed=seed,
                        dataset=dict(spec["dataset"]),
                        model={"name": "fg_fc", "width": width},
                        method=method_of(approach, _fg_options(spec)),
                        optimizer={"name": "sgd", "lr": lr},
                        batch_size=spec.get("batch_size", 64),
                        **_common(spec),
                        labels={"approach": approach, "width": width, "task": task},
                    )
                )
    return runs


def sota_runs(spec: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Runs of the ResNet18 / ViT experiment (task x approach x seed)."""
    runs = []
    lr_table = spec.get("lr_table", "head")
    for task in spec.get("tasks", []):
        if task not in SOTA_TASKS:
            raise UserError(f"fg sota task {task!r} is unknown; known: {', '.join(SOTA_TASKS)}")
        kind, paper_data = task.split("_", 1)
        if paper_data not in spec["datasets"]:
            raise UserError(f"config key 'fg.sota.datasets.{paper_data}' is missing (needed by task {task})")
        for approach in spec["approaches"]:
            lr = nn_learning_rate(task, approach, lr_table)
            for seed in spec["seeds"]:
                runs.append(
                    settings.run(
                        paper="fg",
                        experiment="sota",
                        run_id=f"{task}_{approach}" + ("" if lr_table == "head" else f"_{lr_table}"),
                        seed=seed,
                        dataset=dict(spec["datasets"][paper_data]),
                        model={"name": MODELS[kind]},
                        method=method_of(approach, _fg_options(spec)),
                        optimizer={"name": "sgd", "lr": lr},
                        batch_size=spec.get("batch_sizes", {}).get(paper_data, 64),
                        **_common(spec),
                        labels={
                            "approach": approach,
                            "task": task,
                            "model_kind": kind,
                            "paper_dataset": paper_data,
                            "lr_table": lr_table,
                        },
                    )
                )
    return runs


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every fg training experiment in section (the scale file's fg entry)."""
    runs = []
    if "fc" in section:
        runs += fc_runs(section["fc"], settings)
    if "sota" in section:
        runs += sota_runs(section["sota"], settings)
    return runs


# Seeds per job of a closed-form sweep split into parts (functions not named: one job). Rosenbrock's 25,000 steps
# run to the end in most trajectories, so its sweep is the longest fg job; each seed has its own tangent stream,
# so parts merge into the files of one job, and the per-step cost grows less than linearly in the seeds up to
# about 5 (docs/performance.md). The other sweeps take seconds.
SEEDS_PER_JOB = {"rosenbrock": 5}


def closed_form_parts(seeds: list[int], function: str) -> list[str]:
    """The seed lists (comma-separated, for ``closed-form sweep --seeds``) of the jobs of one function's sweep."""
    seeds = list(seeds)
    size = SEEDS_PER_JOB.get(function) or len(seeds) or 1
    return [",".join(map(str, seeds[i : i + size])) for i in range(0, len(seeds), size)]
