"""Which aggregated CSVs (experiments) the workflow can produce for a paper, at any scale.

A published entry naming an experiment outside this set is a typo and is refused. The set is the union of
- the inputs of every figure and table module of the paper (all scales),
- the CSVs that the paper's own steps write (``CSVS`` of :mod:`alttrain.pipelines.<paper>`; the workflow
  checks while it builds the DAG that the outputs of ``workflow/rules/<paper>.smk`` are among them),
- the training experiments of each scale (the grids expanded as ``common.smk`` does).
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import yaml

from alttrain.workflow import SCALES, deep_merge, scale_settings

REPO = Path(__file__).resolve().parents[3]
_SUFFIXES = ("_curves", "_alignment")


def _stem(name: str) -> str:
    return name[:-4] if name.endswith(".csv") else name


def artifact_experiments(paper: str) -> set[str]:
    """CSV stems read by any figure or table module of ``paper`` (whatever its scales)."""
    from alttrain.artifacts import FIGURES, TABLES

    stems = set()
    for registry in (FIGURES, TABLES):
        for _, module in registry.items():
            if module.SPEC.paper == paper:
                stems.update(_stem(name) for name in module.SPEC.inputs)
    return stems


def rule_experiments(paper: str) -> set[str]:
    """CSV stems written by the paper's own steps (:mod:`alttrain.pipelines.<paper>`, its ``CSVS``)."""
    return set(importlib.import_module(f"alttrain.pipelines.{paper}").CSVS)


def scale_config(scale: str, root: Path = REPO) -> dict:
    """The merged, validated configuration of a scale (as ``common.smk`` builds it, defaults filled in)."""
    from snakemake.utils import validate

    base = yaml.safe_load((root / "config" / "config.yaml").read_text())
    base["scale"] = scale
    config = deep_merge(scale_settings(scale, root), base)
    validate(config, str(root / "config" / "schema" / "config.schema.yaml"))
    return config


@cache
def training_experiments(paper: str, scale: str, root: Path = REPO) -> frozenset[str]:
    """Training experiments of ``paper`` in the grid of ``scale``."""
    from alttrain.grids import training_runs

    config = scale_config(scale, root)
    config["papers"] = [paper]
    return frozenset(run["experiment"] for run in training_runs(config).values())


def known_experiments(paper: str, root: Path = REPO, scales: tuple[str, ...] = SCALES) -> set[str]:
    """Every CSV stem the workflow can write for ``paper`` (with ``_curves``/``_alignment`` companions)."""
    stems = artifact_experiments(paper) | rule_experiments(paper)
    for scale in scales:
        stems |= training_experiments(paper, scale, root)
    return _with_companions(stems)


def _with_companions(stems: set[str]) -> set[str]:
    return set(stems) | {stem + suffix for stem in stems for suffix in _SUFFIXES}


class KnownExperiments:
    """Membership test for a paper's experiments that expands the grids of every scale only when needed.

    Figure/table inputs, the paper's rule outputs and ``extra`` (e.g. the current scale's training
    experiments, already expanded by the Snakefile) are checked first; the grids of all scales (a few seconds)
    are expanded only for a name not found there, i.e. almost never in a correct file.
    """

    def __init__(self, paper: str, extra: set[str] = frozenset(), root: Path = REPO) -> None:
        self.paper, self.root, self.extra = paper, root, set(extra)
        self._cheap: set[str] | None = None  # computed on first use (imports the figure modules)
        self._full: set[str] | None = None

    def cheap(self) -> set[str]:
        if self._cheap is None:
            found = artifact_experiments(self.paper) | rule_experiments(self.paper) | self.extra
            self._cheap = _with_companions(found)
        return self._cheap

    def full(self) -> set[str]:
        if self._full is None:
            self._full = self.cheap() | known_experiments(self.paper, self.root)
        return self._full

    def __contains__(self, name: object) -> bool:
        return name in self.cheap() or name in self.full()

    def __iter__(self):
        return iter(sorted(self.full()))
