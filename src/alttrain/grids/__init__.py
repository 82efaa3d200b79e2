"""Experiment grids: expand the merged config (``config.yaml`` + the scale's grids) into training
runs.

Each paper has a module here with ``training_runs(section, settings) -> list[dict]`` returning fully resolved run
configurations (plain dicts accepted by :class:`alttrain.config.RunConfig`). Snakemake writes each one to
``results/runs/<paper>/<experiment>/<run_id>/seed<seed>/config.yaml``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from alttrain.config import RunConfig

PAPERS = ("fg", "oialr", "f3")


@dataclass(frozen=True)
class Settings:
    """Run-wide settings from ``config.yaml`` that every run inherits."""

    scale: str
    device: str = "auto"
    threads: int = 1
    data_root: str = "resources/downloads"
    data_search_paths: tuple[str, ...] = ()
    imagenet: str | None = None  # data.imagenet: ImageNet-2012 folder (None = the ImageNet experiments are excluded)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        data = config.get("data", {})
        return cls(
            scale=config["scale"],
            device=config.get("device", "auto"),
            threads=config.get("threads_per_job", 1),
            data_root=data.get("root", "resources/downloads"),
            data_search_paths=tuple(data.get("search_paths", ())),
            imagenet=data.get("imagenet"),
        )

    def run(self, **fields: Any) -> dict[str, Any]:
        """A resolved run config: ``fields`` plus these settings; validated by building the dataclass."""
        resolved = {
            "scale": self.scale,
            "device": self.device,
            "threads": self.threads,
            "data_root": self.data_root,
            "data_search_paths": list(self.data_search_paths),
            **fields,
        }
        return RunConfig.from_dict(resolved).to_dict()


def run_key(run: dict[str, Any]) -> str:
    """``<paper>/<experiment>/<run_id>/seed<seed>``: the run's folder below ``results/runs``."""
    return f"{run['paper']}/{run['experiment']}/{run['run_id']}/seed{run['seed']}"


def training_runs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every training run of the selected papers, keyed by :func:`run_key`."""
    settings = Settings.from_config(config)
    runs: dict[str, dict[str, Any]] = {}
    for paper in config.get("papers", PAPERS):
        module = importlib.import_module(f"alttrain.grids.{paper}")
        for run in module.training_runs(config.get(paper, {}), settings):
            key = run_key(run)
            if key in runs:
                raise ValueError(f"duplicate run {key} in the {paper} grid")
            runs[key] = run
    return runs
