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


def train_test_indices(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices of scikit-learn's ``train_test_split(..., test_size=test_size, random_state=seed)``.

    The F3 code splits Wine Quality and SGEMM this way. Same rule as scikit-learn's ``ShuffleSplit`` (n_test =
    ceil(test_size * n), one permutation of ``np.random.RandomState(seed)``: its first n_test entries are the
    test rows, the rest the training rows), without importing scikit-learn (about 1 s per training job); a test
    compares it with scikit-learn.
    """
    if not 0 < test_size < 1:
        raise UserError(f"test_size must lie strictly between 0 and 1, not {test_size}")
    n_test = int(np.ceil(test_size * n))
    if not 0 < n_test < n:
        raise UserError(f"test_size {test_size} leaves no training or no test rows of {n}")
    order = np.random.RandomState(seed).permutation(n)
    return order[n_test:], order[:n_test]


def stratified_indices(labels: np.ndarray, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into parts of ``sizes`` (summing to at most N), keeping class proportions.

    Each part takes from every class its share of the part's size, rounded by largest remainder (so the part
    has exactly its size and a class gets at most one sample more or less than its exact share); the members
    of each class are shuffled with ``seed`` and dealt to the parts in order. The result depends only on
    ``labels``, ``sizes`` and ``seed``; each part is sorted. A size of 0 gives an empty part.

    why not scikit-learn's ``train_test_split``: importing it costs about 3 s, paid by every training job.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if sum(sizes) > n or min(sizes) < 0:
        raise UserError(f"split sizes {list(sizes)} need {sum(sizes)} samples; only {n} are available")
    classes, inverse = np.unique(labels, return_inverse=True)
    rng = np.random.default_rng(seed)
    members = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    left = np.array([len(m) for m in members])  # per class: samples not yet dealt
    taken = np.zeros(len(classes), dtype=np.int64)
    parts = []
    for size in sizes:
        counts = _largest_remainder(size, left)  # (C,) this part's samples per class
        parts.append(np.sort(np.concatenate(
            [m[t : t + c] for m, t, c in zip(members, taken, counts, strict=True)]
        ).astype(np.int64)))
        taken += counts
        left -= counts
    return parts


def _largest_remainder(total: int, available: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``available`` and at most ``available`` each."""
    if total == 0:
        return np.zeros_like(available)
    share = total * available / available.sum()
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")  # largest remainders first, ties by class order
    counts[order[: total - counts.sum()]] += 1
    return counts


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
