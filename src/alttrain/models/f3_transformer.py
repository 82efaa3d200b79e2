"""The v2 Transformer proof of concept of the f3 paper (docs/methods/f3.md#transformer-v2), as blocks for
feedback methods.

Each image is cut into ``patch`` x ``patch`` patches, flattened patch by patch and embedded by one Linear
layer into a ``hidden_dim`` vector. A transformer block views that vector as ``tokens`` tokens of
``hidden_dim / tokens`` dims, applies pre-norm residual multi-head attention and a pre-norm residual MLP (tanh
instead of GELU), and flattens back. No position embedding, no class token. The head is Linear + tanh, then
Linear to the class logits.

Blocks (the feedback connectors sit after every block but the last): [embedding + transformer block 0],
transformer blocks 1 .. depth-2, head-hidden, head-out. With the defaults (depth 5, 512 = 16 x 32) that is six
blocks and five connectors of width 512; about 965,898 parameters on MNIST
(docs/methods/f3.md#derived-checks).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alttrain.data import DataSplits
from alttrain.errors import UserError
from alttrain.models import BlockSequential, register_model


class PatchEmbedding(nn.Module):
    """(B, ...) image with side*side pixels -> (B, hidden_dim): pixels reordered patch by patch, one
    Linear."""

    def __init__(self, side: int, patch: int, hidden_dim: int) -> None:
        super().__init__()
        self.side, self.patch = side, patch
        self.linear = nn.Linear(side * side, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, p = x.shape[0], self.side // self.patch, self.patch
        x = x.reshape(b, n, p, n, p)  # (B, rows of patches, row in patch, cols of patches, col in patch)
        x = x.permute(0, 1, 3, 2, 4).reshape(b, -1)  # (B, n*n patches x p*p pixels), patch by patch
        return self.linear(x)


class Attention(nn.Module):
    """Pre-norm multi-head self-attention over (B, T, D) tokens; qkv without bias, as in vit-pytorch."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.out = nn.Linear(heads * dim_head, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, t, 3, self.heads, -1)  # (B, T, 3, H, dh)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, dh)
        weights = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)  # (B, H, T, T)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, -1))  # (B, T, D)


class TransformerBlock(nn.Module):
    """(B, hidden_dim) -> (B, tokens, dim) -> residual attention, residual tanh MLP -> (B, hidden_dim)."""

    def __init__(self, tokens: int, dim: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self.attention = Attention(dim, heads, dim_head)
        self.mlp = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, mlp_dim), nn.Tanh(), nn.Linear(mlp_dim, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), self.tokens, self.dim)
        x = x + self.attention(x)
        x = x + self.mlp(x)
        return x.reshape(len(x), -1)


@register_model("f3_transformer")
def build_f3_transformer(
    data: DataSplits,
    depth: int = 5,
    hidden_dim: int = 512,
    tokens: int = 16,
    heads: int = 8,
    dim_head: int = 64,
    mlp_dim: int = 128,
    patch: int = 7,
) -> nn.Module:
    """The authors' Transformer (defaults = their defaults) for square single-channel images.

    Args:
        data: the data set (square single-channel images, e.g. MNIST 28x28 or digits 8x8; C classes).
        depth: depth - 1 transformer blocks (at least 2, so that there is one).
        hidden_dim: width of every block's output (= tokens x token dimension).
        tokens: number of tokens a block splits its input vector into.
        heads, dim_head: attention heads and their dimension.
        mlp_dim: hidden width of the MLP in each transformer block.
        patch: side of the square image patches (must divide the image side).
    """
    pixels = math.prod(data.input_shape)
    side = math.isqrt(pixels)
    if side * side != pixels or side % patch:
        raise UserError(
            f"f3_transformer needs square single-channel images whose side is a multiple of patch "
            f"{patch}; got input shape {data.input_shape}"
        )
    if depth < 2 or hidden_dim % tokens:
        raise UserError(
            f"f3_transformer needs depth >= 2 and hidden_dim divisible by tokens; got depth={depth}, "
            f"hidden_dim={hidden_dim}, tokens={tokens}"
        )
    dim = hidden_dim // tokens

    def block() -> TransformerBlock:
        return TransformerBlock(tokens, dim, heads, dim_head, mlp_dim)

    blocks: list[nn.Module] = [nn.Sequential(PatchEmbedding(side, patch, hidden_dim), block())]
    blocks += [block() for _ in range(depth - 2)]
    blocks += [
        nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Tanh()),
        nn.Linear(hidden_dim, data.num_outputs),
    ]
    return BlockSequential(blocks)
