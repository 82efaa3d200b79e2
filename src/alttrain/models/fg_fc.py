"""The fg paper's fully connected networks: 784 -> w -> w -> 10 with ReLU
(docs/methods/fg.md#fully-connected-networks-on-mnist).

Activity blocks: [Flatten + Linear + ReLU], [Linear + ReLU], [Linear]; tangent dimension n = 2w + 10.
"""

from __future__ import annotations

import math

from torch import nn

from alttrain.data import DataSplits
from alttrain.models import BlockSequential, register_model


@register_model("fg_fc")
def build_fg_fc(data: DataSplits, width: int = 256) -> nn.Module:
    """Two hidden layers of ``width`` units (PyTorch default initialisation, as in the authors' code)."""
    n_in = math.prod(data.input_shape)
    return BlockSequential(
        [
            nn.Sequential(nn.Flatten(), nn.Linear(n_in, width), nn.ReLU()),
            nn.Sequential(nn.Linear(width, width), nn.ReLU()),
            nn.Sequential(nn.Linear(width, data.num_outputs)),
        ]
    )
