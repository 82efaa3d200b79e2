"""Fully connected ReLU network (the fg paper's FC nets are built in ``fc_fg``; this is the generic one)."""

from __future__ import annotations

import math

from torch import nn

from alttrain.data import DataSplits
from alttrain.models import BlockSequential, register_model


@register_model("mlp")
def build_mlp(data: DataSplits, hidden: tuple[int, ...] | list[int] = (256,), activation: str = "relu") -> nn.Module:
    """Flatten -> [Linear -> activation] * len(hidden) -> Linear; one block per Linear layer."""
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    sizes = [math.prod(data.input_shape), *hidden, data.num_outputs]
    blocks: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers: list[nn.Module] = [nn.Flatten()] if i == 0 else []
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(act())
        blocks.append(nn.Sequential(*layers))
    return BlockSequential(blocks)
