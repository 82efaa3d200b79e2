"""Swapping a parameter inside a torch optimizer and reshaping its state
(docs/methods/oialr.md#the-oialr-algorithm, steps 2 and 3).

At the switch to low rank each converted weight's entry in its parameter group is replaced by the new Sigma,
and the moment buffers become zeros k x k (Adam's ``step`` is kept). At a truncation the moments are sliced to
the new [:k, :k] block (neither rotated nor reset; rotation is an optional extension).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

StateTransform = Callable[[str, torch.Tensor], torch.Tensor]


def swap_parameter(
    optimizer: torch.optim.Optimizer | None, old: torch.Tensor, new: torch.Tensor, transform: StateTransform
) -> bool:
    """Put ``new`` where ``old`` is in the optimizer's groups and carry the state over through ``transform``.

    Args:
        optimizer: the optimizer (``None``: nothing to do).
        old, new: the parameter leaving and the one taking its place (same position in its group).
        transform: ``(key, tensor) -> tensor`` applied to every state tensor of the old parameter's shape
            (moments); scalars such as Adam's ``step`` are kept as they are.

    Returns:
        True when ``old`` was found in a parameter group.
    """
    if optimizer is None:
        return False
    found = False
    for group in optimizer.param_groups:
        for i, param in enumerate(group["params"]):
            if param is old:
                group["params"][i] = new
                found = True
    state = optimizer.state.pop(old, None)
    if found and state:
        optimizer.state[new] = {
            key: transform(key, value) if torch.is_tensor(value) and value.shape == old.shape else value
            for key, value in state.items()
        }
    return found


def remove_parameter(optimizer: torch.optim.Optimizer | None, param: torch.Tensor) -> bool:
    """Take ``param`` out of the optimizer's groups and state (it keeps ``requires_grad`` and its value).

    Returns:
        True when ``param`` was in a parameter group.
    """
    if optimizer is None:
        return False
    found = False
    for group in optimizer.param_groups:
        kept = [p for p in group["params"] if p is not param]
        found |= len(kept) != len(group["params"])
        group["params"] = kept
    optimizer.state.pop(param, None)
    return found


def zeros_like_param(new: torch.Tensor) -> StateTransform:
    """State transform of the switch: every moment becomes zeros of ``new``'s shape."""
    return lambda key, value: torch.zeros_like(new, dtype=value.dtype)


def slice_to(rank: int, rotation: tuple[torch.Tensor, torch.Tensor] | None = None) -> StateTransform:
    """State transform of a truncation: the [:rank, :rank] block, optionally rotated first.

    Args:
        rank: the new k.
        rotation: ``(U_sigma, V_sigma^T)`` of the re-diagonalisation Sigma = U_sigma S V_sigma^T. First
        moments
            (``exp_avg``, ``momentum_buffer``) transform exactly like a gradient of Sigma, G -> U_sigma^T G
            V_sigma; second moments (``exp_avg_sq``, ``max_exp_avg_sq``) with the element-wise squared
            rotations, which keeps their expectation for independent entries (an approximation; extension, not
            the authors' behaviour).
    """

    def transform(key: str, value: torch.Tensor) -> torch.Tensor:
        if rotation is not None:
            u_s, vt_s = (t.to(value.dtype) for t in rotation)
            if "sq" in key:
                value = (u_s**2).T @ value @ (vt_s**2).T
            else:
                value = u_s.T @ value @ vt_s.T
        return value[:rank, :rank].contiguous()

    return transform
