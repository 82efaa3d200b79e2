"""Figures: one module per figure id (``<paper>_fig_<name>.py``), each with ``SPEC`` and ``draw``.

A figure module defines::

    SPEC = ArtifactSpec(id="fg_fig_closed_form", paper="fg", inputs=("closed_form.csv",), caption="...")
    def draw(frames: dict[str, pd.DataFrame], context: Context) -> matplotlib.figure.Figure: ...

``inputs`` are CSV names under ``results/metrics/<paper>/``; ``frames`` maps each name to its DataFrame. Figure
modules import no torch (plot jobs stay fast) and read only aggregated CSVs.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

from alttrain.errors import UserError


@dataclass(frozen=True)
class ArtifactSpec:
    """What a figure or table is made from and how it is described.

    Attributes:
        id: the stable id of the paper's figure or table (e.g. ``fg_fig_closed_form``; listed in
            docs/methods/<paper>.md#figures-and-tables).
        paper: ``fg``, ``oialr`` or ``f3``.
        inputs: CSV names under ``results/metrics/<paper>/``.
        caption: one-paragraph description; scale, data set and seeds are appended automatically.
        scales: scales at which it is produced (default: all).
        experiments: the experiments it draws, when its CSVs hold several (``experiment`` column); only
            those rows count for the data sets and seeds it states. Empty: every row.
    """

    id: str
    paper: str
    inputs: tuple[str, ...]
    caption: str
    scales: tuple[str, ...] = ("smoke", "cpu", "paper")
    extra: dict = field(default_factory=dict)
    experiments: tuple[str, ...] = ()

    def own_rows(self, frames: dict):
        """``frames`` restricted to the rows of :attr:`experiments` (frames without that column are kept)."""
        if not self.experiments:
            return dict(frames)
        return {
            name: frame[frame["experiment"].isin(self.experiments)] if "experiment" in frame.columns else frame
            for name, frame in frames.items()
        }


def _discover(package: str) -> dict[str, object]:
    modules = {}
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name == "style":
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if spec is not None:
            modules[spec.id] = module
    return modules


def figure_modules() -> dict[str, object]:
    """Figure id -> module, for every figure module of this package."""
    return _discover("alttrain.figures")


def get_figure(figure_id: str):
    """The module of ``figure_id``; an unknown id is a :class:`UserError` listing the known ones."""
    modules = figure_modules()
    if figure_id not in modules:
        raise UserError(f"unknown figure {figure_id!r}; known: {', '.join(sorted(modules))}")
    return modules[figure_id]
