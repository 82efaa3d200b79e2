"""The fg paper's small ViT (docs/methods/fg.md#resnet18-and-vit) as six activity blocks, built from torchvision's
VisionTransformer.

6 encoder layers, 4 heads, hidden 256, MLP 512, patch 4, dropout 0, LayerNorm eps 1e-6, class token, learned
position embedding (std 0.02), zero-initialised head (torchvision's defaults for these settings). Blocks
(``wide_1`` grouping): [patch embedding + class token + position embedding + encoder 1], encoders 2-5,
[encoder 6 + final LayerNorm + class-token head]; tangent dimension 5 * tokens * 256 + classes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alttrain.data import DataSplits
from alttrain.models import BlockSequential, register_model
from alttrain.models.fg_resnet import ToImage, image_shape


class ViTStem(nn.Module):
    """Patch embedding, class token and position embedding (torchvision's ``_process_input`` + encoder)."""

    def __init__(self, vit: nn.Module, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.to_image = ToImage(shape)
        self.conv_proj = vit.conv_proj
        self.class_token = vit.class_token
        self.pos_embedding = vit.encoder.pos_embedding
        self.dropout = vit.encoder.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.conv_proj(self.to_image(x))  # (B, hidden, H/p, W/p)
        tokens = patches.flatten(2).transpose(1, 2)  # (B, patches, hidden)
        cls = self.class_token.expand(tokens.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, tokens], dim=1) + self.pos_embedding)  # (B, 1 + patches, hidden)


class ViTHead(nn.Module):
    """Final LayerNorm and the linear head on the class token."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.ln = vit.encoder.ln
        self.head = vit.heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln(x)[:, 0])


@register_model("fg_vit")
def build_fg_vit(
    data: DataSplits,
    patch_size: int = 4,
    num_layers: int = 6,
    num_heads: int = 4,
    hidden_dim: int = 256,
    mlp_dim: int = 512,
) -> nn.Module:
    """Build the ViT and cut it into blocks; non-RGB inputs get a matching patch embedding."""
    from torchvision.models import VisionTransformer

    shape = image_shape(data.input_shape)
    if shape[1] != shape[2] or shape[1] % patch_size:
        raise ValueError(f"ViT needs square images divisible by the patch size {patch_size}, got {shape}")
    vit = VisionTransformer(
        shape[1], patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes=data.num_outputs
    )
    if shape[0] != 3:
        conv = nn.Conv2d(shape[0], hidden_dim, kernel_size=patch_size, stride=patch_size)
        fan_in = conv.in_channels * patch_size * patch_size
        nn.init.trunc_normal_(conv.weight, std=math.sqrt(1 / fan_in))  # torchvision's patch-embedding init
        nn.init.zeros_(conv.bias)
        vit.conv_proj = conv
    layers = list(vit.encoder.layers)
    if num_layers < 2:
        raise ValueError("the fg ViT grouping needs at least 2 encoder layers")
    return BlockSequential(
        [
            nn.Sequential(ViTStem(vit, shape), layers[0]),
            *layers[1:-1],
            nn.Sequential(layers[-1], ViTHead(vit)),
        ]
    )
