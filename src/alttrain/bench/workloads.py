"""Synthetic inputs of the benchmark cases: in-memory tensors of the real data sets' shapes (no downloads)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from alttrain.data import DataSplits, Split


def synthetic_splits(
    input_shape: tuple[int, ...],
    classes: int,
    train_size: int,
    device: torch.device,
    seed: int = 0,
    test_size: int | None = None,
) -> DataSplits:
    """Random Gaussian inputs and uniform labels shaped like a classification data set."""
    gen = torch.Generator().manual_seed(seed)
    test_size = test_size or min(train_size, 256)

    def split(n: int) -> Split:
        return Split(torch.randn((n, *input_shape), generator=gen), torch.randint(0, classes, (n,), generator=gen))

    data = DataSplits(
        name="synthetic",
        description=f"synthetic {input_shape} x {classes} classes",
        task="classification",
        num_outputs=classes,
        input_shape=tuple(input_shape),
        train=split(train_size),
        test=split(test_size),
    )
    return data.to(device)


def estimator_step(model: torch.nn.Module, estimator, x, y, index: torch.Tensor) -> Callable[[], object]:
    """One gradient-estimation step (zero the grads, fill them) as a zero-argument callable.

    The optimizer update is left out: it costs the same for every method and would blur the ratios.
    """

    def step() -> object:
        for p in model.parameters():
            p.grad = None
        return estimator.compute_gradients(x, y, index)

    return step
