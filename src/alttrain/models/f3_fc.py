"""The fully connected networks of the f3 paper (docs/methods/f3.md#network-and-losses).

``depth`` hidden layers of ``width`` units with tanh, one output layer with a sigmoid (classification, trained
with binary cross-entropy against one-hot targets) or no activation (regression, trained with MSE). Every
layer is one *block* (Linear -> activation; block 0 starts with Flatten), so the feedback methods can inject
their signal after each block. PyTorch's default ``nn.Linear`` initialisation, as in the authors' code.
"""

from __future__ import annotations

import math

from torch import nn

from alttrain.data import DataSplits
from alttrain.errors import UserError
from alttrain.models import BlockSequential, register_model

OUTPUT_ACTIVATIONS = ("auto", "sigmoid", "none")


@register_model("f3_fc")
def build_f3_fc(
    data: DataSplits, depth: int = 1, width: int = 500, output_activation: str = "auto"
) -> nn.Module:
    """Sizes ``[d_in] + [width] * depth + [C]``; tanh hidden blocks; sigmoid or linear output block.

    Args:
        data: the data set (input shape, number of outputs, task).
        depth: number of hidden layers D (at least 1).
        width: hidden width W.
        output_activation: ``auto`` (sigmoid for classification, none for regression), ``sigmoid`` or
        ``none``.

    The Linear layers are created in order and nothing else draws from the global RNG here, so the same seed
    gives the same forward weights for every method (the feedback matrices are drawn afterwards).
    """
    if depth < 1 or width < 1:
        raise UserError(f"f3_fc needs depth >= 1 and width >= 1, got depth={depth}, width={width}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise UserError(
            f"f3_fc output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}"
        )
    if output_activation == "auto":
        output_activation = "sigmoid" if data.task == "classification" else "none"
    sizes = [math.prod(data.input_shape), *([width] * depth), data.num_outputs]
    blocks: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers: list[nn.Module] = [nn.Flatten()] if i == 0 else []
        layers.append(nn.Linear(n_in, n_out))
        if i < depth:
            layers.append(nn.Tanh())
        elif output_activation == "sigmoid":
            layers.append(nn.Sigmoid())
        blocks.append(nn.Sequential(*layers))
    return BlockSequential(blocks)
