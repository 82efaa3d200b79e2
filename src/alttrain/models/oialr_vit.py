"""timm models of the oialr paper: the CIFAR-10 mini-ViT, a tiny ViT for the CPU tiers, ViT-B/16, ResNet-RS
101.

timm is imported inside the builders (importing it costs about 5 s). Images come as (N, C, H, W) tensors; a
data set with flat inputs (N, H*W) of square greyscale images is reshaped to (N, 1, H, W) by
:class:`ImageInput`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alttrain.data import DataSplits
from alttrain.errors import UserError
from alttrain.models import register_model


def image_shape(data: DataSplits) -> tuple[int, int, int]:
    """(C, H, W) of the data set's images; flat square greyscale inputs count as (1, s, s)."""
    shape = tuple(data.input_shape)
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    if len(shape) == 1 and side * side == shape[0]:
        return (1, side, side)
    raise UserError(
        f"{data.name}: inputs of shape {shape} are not images (need (C, H, W) or square flat images)"
    )


class ImageInput(nn.Module):
    """Reshapes flat inputs to images before the wrapped network (no parameters)."""

    def __init__(self, network: nn.Module, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.network = network
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x.reshape(len(x), *self.shape))


def _wrap(network: nn.Module, data: DataSplits, shape: tuple[int, int, int]) -> nn.Module:
    return network if len(data.input_shape) == 3 else ImageInput(network, shape)


@register_model("oialr_vit")
def build_vit(
    data: DataSplits,
    patch_size: int = 8,
    embed_dim: int = 768,
    depth: int = 6,
    num_heads: int = 6,
    mlp_ratio: float = 4.0,
    qkv_bias: bool = False,
    drop_path_rate: float = 0.0,
    img_size: int | None = None,
) -> nn.Module:
    """timm ``VisionTransformer`` with a class token (defaults: the authors' CIFAR-10 mini-ViT,
    docs/methods/oialr.md#e1-mini-vit-on-cifar-10).

    Args:
        patch_size, embed_dim, depth, num_heads, mlp_ratio, qkv_bias: the ViT's shape.
        drop_path_rate: stochastic depth (0.0 at the authors' HEAD, 0.2 in their "paper update" commit; 6
        #12). img_size: input side (default: the data set's image height).
    """
    from timm.models.vision_transformer import VisionTransformer

    channels, height, width = image_shape(data)
    if height != width:
        raise UserError(f"oialr_vit needs square images, got {height}x{width}")
    network = VisionTransformer(
        img_size=img_size or height,
        patch_size=patch_size,
        in_chans=channels,
        num_classes=data.num_outputs,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        qkv_bias=qkv_bias,
        drop_path_rate=drop_path_rate,
    )
    return _wrap(network, data, (channels, height, width))


@register_model("oialr_vit_b16")
def build_vit_b16(data: DataSplits, drop_path_rate: float = 0.0) -> nn.Module:
    """timm ViT-B/16 (patch 16, 768 wide, 12 blocks, 12 heads; 86.6 M parameters at 224 px and 1000
    classes)."""
    return build_vit(
        data,
        patch_size=16,
        embed_dim=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_path_rate=drop_path_rate,
    )


@register_model("oialr_resnetrs101")
def build_resnetrs101(data: DataSplits, drop_rate: float = 0.25) -> nn.Module:
    """timm ``resnetrs101`` with the authors' dropout before the head
    (docs/methods/oialr.md#e3-resnet-rs-101-on-imagenet); randomly initialised."""
    import timm

    channels, height, width = image_shape(data)
    network = timm.create_model(
        "resnetrs101", pretrained=False, num_classes=data.num_outputs, in_chans=channels, drop_rate=drop_rate
    )
    return _wrap(network, data, (channels, height, width))
