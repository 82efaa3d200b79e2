"""Group a scale's training runs into job shapes: runs that differ only in seed, learning rate, schedule or
other numbers that change neither the work per step nor the memory share one rehearsal.

A job shape is model x method and its options x data set configuration (input shapes) x per-process batch x
world size, plus what else changes the work or memory of a step or an evaluation: the optimizer kind, the
low-rank controller's mode, the evaluation batch and splits, whether the alignment probe runs, and the
number of epochs (for the cost model).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alttrain.grids import training_runs

SHAPE_KEYS = ("paper", "model", "method", "batch_size", "eval_batch_size", "eval_splits", "world_size", "epochs")


def shape_key(run: dict[str, Any]) -> dict[str, Any]:
    """The fields of a resolved run config that define its job shape."""
    key = {k: run.get(k, 1 if k == "world_size" else None) for k in SHAPE_KEYS}
    key["dataset"] = {k: v for k, v in run["dataset"].items() if k != "path"}
    key["optimizer"] = run["optimizer"]["name"]
    key["lowrank"] = (run.get("lowrank") or {}).get("mode")
    key["alignment"] = bool(run.get("alignment", {}).get("enabled", True))
    return key


@dataclass
class JobShape:
    """One job shape: a representative run config and every run of the scale that has this shape."""

    shape_id: str
    key: dict[str, Any]
    run: dict[str, Any]
    runs: list[str] = field(default_factory=list)

    @property
    def world_size(self) -> int:
        return int(self.run.get("world_size", 1))

    @property
    def per_process_batch(self) -> int:
        """Samples per process and step (the global batch split over the processes, rounded up)."""
        return -(-int(self.run["batch_size"]) // self.world_size)

    def describe(self) -> str:
        """One line: experiment, model, method, data, batch and world size."""
        method = ",".join(f"{k}={v}" for k, v in sorted(self.key["method"].items()) if k != "name")
        lowrank = f" +{self.key['lowrank']}" if self.key["lowrank"] else ""
        return (f"{self.run['model']['name']} {self.key['method']['name']}({method}){lowrank} on "
                f"{self.key['dataset']['name']}, batch {self.run['batch_size']} x{self.world_size} proc")


def job_shapes(config: dict[str, Any]) -> list[JobShape]:
    """Every distinct job shape of the merged config's training runs, in first-run order."""
    shapes: dict[str, JobShape] = {}
    for run_key, run in training_runs(config).items():
        key = shape_key(run)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
        shape_id = f"{run['paper']}-{run['experiment']}-{digest}"
        if shape_id not in shapes:
            shapes[shape_id] = JobShape(shape_id, key, run)
        shapes[shape_id].runs.append(run_key)
    return list(shapes.values())


IMAGENET_PLACEHOLDER = "<data.imagenet>"  # the rehearsal's synthetic tensors need no ImageNet folder


def scale_config(scale: str = "paper", repo: str | Path = ".", papers: list[str] | None = None,
                 overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """config/config.yaml merged with the scale's grids (``scale_settings``) and ``overrides``, validated as the
    DAG does.

    ``data.imagenet`` gets a placeholder when unset, so the ImageNet experiments are rehearsed too.
    """
    from alttrain.workflow import check_config, deep_merge, scale_settings

    repo = Path(repo)
    base = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    base = deep_merge(base, {"scale": scale, **(overrides or {})})
    if papers is not None:
        base["papers"] = list(papers)
    config = deep_merge(scale_settings(base["scale"], repo), base)
    try:
        check_config(config, repo / "config" / "schema" / "config.schema.yaml")
    except ModuleNotFoundError as err:  # a bare GPU machine without jsonschema: the DAG validates anyway
        print(f"rehearsal: config not validated ({err})", file=sys.stderr)
    if not config.get("data", {}).get("imagenet"):
        config.setdefault("data", {})["imagenet"] = IMAGENET_PLACEHOLDER
    return config
