"""torchvision ResNet18 as six activity blocks (docs/methods/fg.md#resnet18-and-vit, "wide" grouping).

Blocks: stem (conv1, bn1, relu, maxpool), layer1, layer2, layer3, layer4, head (avgpool, flatten, fc). The
network is torchvision's ``resnet18(num_classes=...)`` unmodified (ImageNet stem, also on 28x28 / 32x32
inputs, as in the authors' code); for inputs with other than 3 channels conv1 is replaced by a 7x7/2
convolution with that many input channels. Flat inputs whose size is a square (e.g. 784 = 28x28, 64 = 8x8
digits) are reshaped to one-channel images.
"""

from __future__ import annotations

import math

from torch import nn

from alttrain.data import DataSplits
from alttrain.models import BlockSequential, register_model


class ToImage(nn.Module):
    """Reshape (B, ...) to (B, C, H, W); a no-op for inputs that already have that shape."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of a data set's inputs: images as they are, square flat vectors as one-channel images."""
    if len(input_shape) == 3:
        return tuple(input_shape)
    if len(input_shape) == 2:
        return (1, *input_shape)
    side = math.isqrt(math.prod(input_shape))
    if side * side != math.prod(input_shape):
        raise ValueError(f"cannot treat inputs of shape {input_shape} as images")
    return (1, side, side)


@register_model("fg_resnet18")
def build_fg_resnet18(data: DataSplits) -> nn.Module:
    """ResNet18 (torchvision, BatchNorm) split into the six activity blocks of the fg paper."""
    from torchvision.models import resnet18

    shape = image_shape(data.input_shape)
    net = resnet18(num_classes=data.num_outputs)
    if shape[0] != 3:
        net.conv1 = nn.Conv2d(shape[0], 64, kernel_size=7, stride=2, padding=3, bias=False)
    return BlockSequential(
        [
            nn.Sequential(ToImage(shape), net.conv1, net.bn1, net.relu, net.maxpool),
            net.layer1,
            net.layer2,
            net.layer3,
            net.layer4,
            nn.Sequential(net.avgpool, nn.Flatten(), net.fc),
        ]
    )
