"""Split and preprocessing helpers shared by the loaders (seeded splits, subsets, image normalisation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from alttrain.data import DataSplits, Split
from alttrain.errors import UserError


def random_split_indices(n: int, lengths: Sequence[int], seed: int) -> list[torch.Tensor]:
    """The index sets of ``random_split(range(n), lengths, torch.Generator().manual_seed(seed))``.

    The papers' code splits the official training set this way (fg: MNIST 50,000 / 10,000, CIFAR-10
    40,000 / 10,000, generator seed 0), so the same samples land in the same split here.
    """
    if sum(lengths) != n:
        raise UserError(f"split sizes {list(lengths)} must add up to the {n} samples they split")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(order, list(lengths)))


def stratified_indices(labels: np.ndarray, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into parts of ``sizes`` (summing to at most N), keeping class proportions.

    Uses scikit-learn's stratified shuffle (``train_test_split(stratify=...)``) part by part, last part first,
    so the result depends only on ``labels``, ``sizes`` and ``seed``. A size of 0 gives an empty part.
    """
    from sklearn.model_selection import train_test_split

    n = len(labels)
    if sum(sizes) > n or min(sizes) < 0:
        raise UserError(f"split sizes {list(sizes)} need {sum(sizes)} samples; only {n} are available")
    rest = np.arange(n)
    if sum(sizes) < n:  # drop the samples no part needs, keeping the class balance
        rest, _ = train_test_split(rest, train_size=sum(sizes), stratify=labels[rest], random_state=seed)
    parts: list[np.ndarray] = []
    for size in reversed(sizes[1:]):
        if size == 0:
            parts.append(np.array([], dtype=np.int64))
            continue
        rest, part = train_test_split(rest, test_size=size, stratify=labels[rest], random_state=seed)
        parts.append(np.sort(part))
    parts.append(np.sort(rest))
    return parts[::-1]


def subset(split: Split, limit: int | None, seed: int) -> Split:
    """A seeded random subset of at most ``limit`` samples (in their original order); ``None`` keeps all."""
    if limit is None or limit >= len(split):
        return split
    if limit < 1:
        raise UserError(f"a subset size must be at least 1, got {limit}")
    keep = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:limit].sort().values
    if hasattr(split, "select"):  # lazy splits (augmented, image folders) keep their kind
        return split.select(keep.to(split.y.device))
    x, y = split.take(keep.to(split.y.device))
    return Split(x, y)


def limit_splits(data: DataSplits, max_train: int | None, max_val: int | None, max_test: int | None,
                 seed: int = 0) -> DataSplits:
    """Cut every split to at most the given size (seeded random subsets); records the sizes in ``info``."""
    data.train = subset(data.train, max_train, seed)
    data.val = subset(data.val, max_val, seed + 1) if data.val is not None else None
    data.test = subset(data.test, max_test, seed + 2)
    if any(v is not None for v in (max_train, max_val, max_test)):
        data.info["subset"] = {"max_train": max_train, "max_val": max_val, "max_test": max_test, "seed": seed}
        data.description += f" (subset {len(data.train)}/{len(data.val) if data.val else 0}/{len(data.test)})"
    return data


def normalize_images(
    images: np.ndarray, mean: Sequence[float] | None, std: Sequence[float] | None, flatten: bool = False
) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1] (``ToTensor``), then ``(x - mean) / std`` per channel.

    Args:
        images: (N, H, W) grey or (N, H, W, C) colour, values 0..255.
        mean, std: per-channel constants, or ``None`` for no normalisation.
        flatten: return (N, C*H*W) instead of (N, C, H, W).
    """
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0)  # writable copy
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)
    if mean is not None and std is not None:
        channels = x.shape[1]
        m = torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1).expand(1, channels, 1, 1)
        s = torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1).expand(1, channels, 1, 1)
        x.sub_(m).div_(s)
    return x.reshape(len(x), -1) if flatten else x


def check_choice(dataset: str, key: str, value: object, allowed: Sequence[object]) -> None:
    """A :class:`UserError` naming the option and its allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise UserError(f"{dataset}: option {key}={value!r} is not allowed; use one of {list(allowed)}")
