"""scikit-learn's 8x8 handwritten digits (1,797 images; BSD-3), a tiny real data set for smoke tests."""

from __future__ import annotations

from pathlib import Path

import torch

from alttrain.data import DataSplits, Split, register_dataset


@register_dataset("digits")
def load_digits(
    *, root: Path, search_paths: tuple[Path, ...] = (), val_fraction: float = 0.1, test_fraction: float = 0.2,
    split_seed: int = 0,
) -> DataSplits:
    """Digits scaled to [0, 1], shuffled once with ``split_seed`` and cut into train / val / test."""
    from sklearn.datasets import load_digits as sk_load

    bunch = sk_load()
    x = torch.tensor(bunch.data, dtype=torch.float32) / 16.0  # (1797, 64), pixel values 0..16
    y = torch.tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
    n_test = int(len(y) * test_fraction)
    n_val = int(len(y) * val_fraction)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return DataSplits(
        name="digits",
        description="sklearn digits 8x8 (1,797 images)",
        task="classification",
        num_outputs=10,
        input_shape=(64,),
        train=Split(x[train], y[train]),
        val=Split(x[val], y[val]),
        test=Split(x[test], y[test]),
    )
