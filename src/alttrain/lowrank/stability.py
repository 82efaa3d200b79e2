"""Basis-stability analysis of full-rank training (docs/methods/oialr.md#basis-stability): an analysis-mode controller.

At each evaluation (the loop calls :meth:`StabilityTracker.metrics` once per epoch, epoch 0 included) the
tracker takes a snapshot of the selected layers every ``every`` epochs (per series), computes each layer's
polar factor Q = U V^T (and the R of its QR decomposition) and compares it with the snapshot ``every`` epochs
earlier. Only the latest snapshot of each series is kept (in memory and in the checkpoint), never whole
checkpoints. The values become columns of the run's ``metrics.csv``::

    stability/d<every>/<index>/<layer>      per-layer stability (index = position in module order)
    stability/d<every>/mean                 mean over layers
    r_similarity/d<every>/<index>/<layer>   R-matrix similarity (definition inferred), and its mean

``python -m alttrain stability`` turns these columns into a tidy table.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from alttrain.errors import UserError
from alttrain.lowrank.controller import eligible, eligible_layers
from alttrain.lowrank.layers import weight_name
from alttrain.lowrank.linalg import STABILITY_DEFINITIONS, polar_factor, r_factor, r_similarity

LAYER_CHOICES = ("eligible", "matrices")


def selected_layers(model: nn.Module, layers: str) -> list[str]:
    """``eligible``: the layers OIALR could convert (Linear, Conv, attention in-projection by the authors'
    rules); ``matrices``: every Linear / Conv / attention module with a weight of at least two dimensions."""
    if layers == "eligible":
        return eligible_layers(model)
    return [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.MultiheadAttention)
        and (eligible(m) or getattr(m, weight_name(m), None) is not None)
    ]


class StabilityTracker:
    """Analysis-mode controller: no effect on training, snapshots and stability values at evaluations.

    Args:
        model: the (full-rank) model.
        series: ``[{"every": 10}, {"every": 1, "until": 10}]``: snapshot spacing in epochs and the last epoch
        of
            the series (``None``: to the end). Each ``every`` value may appear once.
        definition: ``column_cosine`` (authors' signed mean column cosine) or ``abs_column_cosine``.
        r_similarity: also compute the R-matrix similarity.
        layers: ``eligible`` or ``matrices`` (see :func:`selected_layers`).
    """

    def __init__(
        self,
        model: nn.Module,
        series: list[dict[str, Any]] | None = None,
        definition: str = "column_cosine",
        r_similarity: bool = True,
        layers: str = "eligible",
    ) -> None:
        series = series if series is not None else [{"every": 1}]
        everies = [int(s["every"]) for s in series]
        if len(set(everies)) != len(everies) or min(everies, default=1) < 1:
            raise UserError(f"lowrank stability series need distinct positive 'every' values, got {everies}")
        if definition not in STABILITY_DEFINITIONS:
            raise UserError(
                f"unknown stability definition {definition!r}; known: {sorted(STABILITY_DEFINITIONS)}"
            )
        if layers not in LAYER_CHOICES:
            raise UserError(f"lowrank stability layers must be one of {LAYER_CHOICES}, got {layers!r}")
        self.model = model
        self.series = [(int(s["every"]), s.get("until")) for s in series]
        self.definition = definition
        self.with_r = r_similarity
        self.layers = selected_layers(model, layers)
        self.evaluations = 0
        self.references: dict[int, dict[str, dict[str, torch.Tensor]]] = {}

    def after_step(self, update: int) -> None:
        """Nothing to do per update (analysis only)."""

    def metrics(self) -> dict[str, float]:
        """Stability columns of this evaluation's epoch (empty when no series is due)."""
        epoch = self.evaluations
        self.evaluations += 1
        due = [
            every for every, until in self.series if epoch % every == 0 and (until is None or epoch <= until)
        ]
        if not due:
            return {}
        now = self._snapshot()
        row: dict[str, float] = {}
        for every in due:
            previous = self.references.get(every)
            if previous is not None:
                row.update(self._compare(every, previous, now))
            self.references[every] = now  # the series' next comparison is against this snapshot
        return row

    def state_dict(self) -> dict[str, Any]:
        """Evaluation count and each series' latest snapshot (tensors)."""
        return {
            "evaluations": self.evaluations,
            "references": {str(k): v for k, v in self.references.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.evaluations = int(state["evaluations"])
        self.references = {int(k): v for k, v in state["references"].items()}

    @torch.no_grad()
    def _snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        snapshot = {}
        for name in self.layers:
            module = self.model.get_submodule(name)
            weight = getattr(module, weight_name(module)).detach().float().cpu()
            finite = bool(torch.isfinite(weight).all())  # a diverged run gives NaN values, not an SVD error
            missing = torch.full((1,), float("nan"))
            entry = {"q": polar_factor(weight) if finite else missing}
            if self.with_r:
                entry["r"] = r_factor(weight) if finite else missing
            snapshot[name] = entry
        return snapshot

    def _compare(self, every: int, previous: dict, now: dict) -> dict[str, float]:
        measure = STABILITY_DEFINITIONS[self.definition]
        row, stab, rsim = {}, [], []
        for index, name in enumerate(self.layers):
            q_prev, q_now = previous[name]["q"], now[name]["q"]
            value = measure(q_prev, q_now) if q_prev.shape == q_now.shape else float("nan")
            row[f"stability/d{every}/{index:03d}/{name}"] = value
            stab.append(value)
            if self.with_r:
                r_prev, r_now = previous[name]["r"], now[name]["r"]
                sim = r_similarity(r_prev, r_now) if r_prev.shape == r_now.shape else float("nan")
                row[f"r_similarity/d{every}/{index:03d}/{name}"] = sim
                rsim.append(sim)
        row[f"stability/d{every}/mean"] = float(torch.tensor(stab).nanmean())
        if self.with_r:
            row[f"r_similarity/d{every}/mean"] = float(torch.tensor(rsim).nanmean())
        return row
