"""Model builders, registered by name with :data:`MODELS`.

A builder is called as ``builder(data, **options)`` with the :class:`alttrain.data.DataSplits` (for input shape and
number of outputs) and returns an ``nn.Module``. Models that the activity-perturbation and feedback methods train expose
``blocks``: an ``nn.ModuleList`` applied in sequence (the "activity blocks" of
docs/methods/fg.md#activity-perturbation-in-networks and the "blocks" of
docs/methods/f3.md#feedback-and-local-gradients).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from alttrain.data import DataSplits
from alttrain.registry import Registry

MODELS = Registry("model", "alttrain.models")
register_model = MODELS.register


def build_model(spec: dict[str, Any], data: DataSplits) -> nn.Module:
    """Build the model described by ``spec`` (``{"name": ..., **options}``) for ``data``."""
    options = dict(spec)
    return MODELS.get(options.pop("name"))(data, **options)


def list_models() -> list[str]:
    """Names of all registered models."""
    return MODELS.names()


class BlockSequential(nn.Module):
    """A network that is a sequence of blocks; ``forward`` applies them in order."""

    def __init__(self, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
