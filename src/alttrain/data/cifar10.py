"""CIFAR-10 (Krizhevsky 2009): 50,000 train / 10,000 test 32x32 colour images, 10 classes.

Source: the official "python version" tarball ``cifar-10-python.tar.gz`` (md5 and per-batch md5s as listed by
torchvision), looked for in ``<root>/cifar10``, ``<root>`` and the search paths (or its extracted folder
``cifar-10-batches-py/``), downloaded from www.cs.toronto.edu when absent. Not available offline.

Why pickle, and why it is safe here: the official batches are Python pickles (a dict with ``data``, a uint8
array (10000, 3072), and ``labels``); there is no other official format. They are read with a restricted
unpickler that can only rebuild numpy arrays, dtypes, dicts, lists, strings and numbers; any other global (the
way a malicious pickle runs code) is refused. The files are in addition md5-checked before they are read.

Protocols (option ``protocol``):

* ``fg`` (default): 40,000 train / 10,000 validation (``random_split`` order, generator seed ``split_seed`` 0)
  / 10,000 test; ``Normalize(mean=(125.3, 123.0, 113.9)/255, std=(63.0, 62.1, 66.7)/255)``; no augmentation.
* ``f3``: official 50,000 / 10,000, no validation, same normalisation, no augmentation (use ``flatten: true``
  for the F3 fully connected nets).
* ``oialr``: official 50,000 train / 10,000 test (the authors evaluate on it as their validation set);
  ``Normalize(mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010))``. With ``augment: oialr`` the
  train split applies the authors' timm training transform per sample in ``take()`` (RandomResizedCrop 32
  scale 0.8-1.0 random interpolation, flip, RandAugment rand-m9-mstd0.5-inc1, RandomErasing 0.25 pixel mode):
  slow but faithful; off by default. The evaluation transform (resize 32 + centre crop 32) is the identity on
  32x32.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import RemoteFile, candidate_folders, digests, fetch, locate
from alttrain.data.mnist import build_image_splits
from alttrain.data.splits import check_choice, limit_splits, normalize_images
from alttrain.errors import UserError

ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    md5="c58f30108f718f92721af3b95e74349a", provenance="torchvision 0.29.1 (torchvision/datasets/cifar.py)")
FOLDER = "cifar-10-batches-py"
BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
}
NORMALIZATION = {
    "fg": ((125.3 / 255, 123.0 / 255, 113.9 / 255), (63.0 / 255, 62.1 / 255, 66.7 / 255)),
    "f3": ((125.3 / 255, 123.0 / 255, 113.9 / 255), (63.0 / 255, 62.1 / 255, 66.7 / 255)),
    "oialr": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
}


def _latin1(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, limited to latin-1."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"encoding {encoding!r} is not allowed in a CIFAR batch")
    return text.encode("latin1")


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and plain containers only."""

    ALLOWED = {
        # numpy.core is the module name written by the numpy that made the official (Python 2) files
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def read_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 of one pickled CIFAR batch."""
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise UserError(f"{source} is not a valid CIFAR-10 batch ({err}); the file is refused. Delete it and "
                        "download the official archive again.") from err
    data, labels = batch.get(b"data") if isinstance(batch, dict) else None, None
    if data is not None:
        labels = batch.get(b"labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 \
            or labels is None or len(labels) != len(data):
        raise UserError(f"{source} does not hold CIFAR-10 'data' (N, 3072) uint8 and N 'labels'; refused.")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # rows are R, G, B planes -> (N, H, W, C)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def read_cifar10(
    root: Path, search_paths: tuple[Path, ...], download: bool, verify: bool
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The raw bytes of the six batches (from the extracted folder if present, else from the tarball)."""
    folders = candidate_folders(root, search_paths, ("cifar10",))
    extracted = locate((f"{FOLDER}/test_batch",), folders)
    if extracted is not None:
        folder = extracted.parent
        raw = {}
        for name, md5 in BATCH_MD5.items():
            path = folder / name
            if not path.is_file():
                raise UserError(f"cifar10: {path} is missing from the extracted folder {folder}; delete the "
                                f"folder or restore the file from {ARCHIVE.urls[0]}")
            found = digests(path)["md5"] if verify else md5
            if found != md5:
                raise UserError(f"cifar10: checksum mismatch for {path}: expected md5 {md5}, got {found}. "
                                "The file is refused; extract the official archive again.")
            raw[name] = path.read_bytes()
        return raw, {"file": str(folder), "verified": verify}
    path, facts = fetch(ARCHIVE, dataset="cifar10", root=root, search_paths=search_paths,
                        subdirs=("cifar10",), allow_download=download, check=verify)
    raw = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for name in BATCH_MD5:
                member = archive.extractfile(f"{FOLDER}/{name}")
                if member is None:
                    raise KeyError(name)
                raw[name] = member.read()
    except KeyError as err:
        raise UserError(f"{path} has no member {FOLDER}/{err.args[0]}: it is not the official CIFAR-10 "
                        "python archive. Delete it and download it again.") from err
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise UserError(f"{path} is truncated or corrupt ({type(err).__name__}: {err}). The file is refused: "
                        "delete it and download it again.") from err
    return raw, facts


class AugmentedSplit(Split):
    """A training split that keeps the raw uint8 images (``x``: (N, 32, 32, 3), on the CPU) and applies a
    random PIL/timm transform to each sample in :meth:`take`; the batch goes to the index's device."""

    def __init__(self, images: torch.Tensor, y: torch.Tensor, transform: Any) -> None:
        super().__init__(images, y)
        self.transform = transform

    def take(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        rows = index.cpu()
        batch = torch.stack([self.transform(Image.fromarray(self.x[i].numpy())) for i in rows.tolist()])
        return batch.to(index.device), self.y[index]

    def to(self, device: torch.device) -> AugmentedSplit:
        return AugmentedSplit(self.x, self.y.to(device), self.transform)

    def select(self, index: torch.Tensor) -> AugmentedSplit:
        """The samples ``index`` as a split of the same kind."""
        return AugmentedSplit(self.x[index.cpu()], self.y[index], self.transform)


def oialr_train_transform(mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """The OIALR CIFAR-10 training transform (timm ``create_transform``; timm is imported only here)."""
    from timm.data import create_transform

    return create_transform(
        input_size=32, is_training=True, scale=(0.8, 1.0), interpolation="random", hflip=0.5,
        auto_augment="rand-m9-mstd0.5-inc1", mean=mean, std=std, re_prob=0.25, re_mode="pixel", re_count=1)


@register_dataset("cifar10")
def load_cifar10(
    *, root: Path, search_paths: tuple[Path, ...] = (), protocol: str = "fg", normalize: bool = True,
    flatten: bool = False, augment: str = "none", val_size: int | None = None, split_seed: int = 0,
    max_train: int | None = None, max_val: int | None = None, max_test: int | None = None,
    download: bool = True, verify: bool = True,
) -> DataSplits:
    """CIFAR-10 (see the module docstring for the protocols).

    Args:
        protocol: ``fg``, ``f3`` or ``oialr``.
        normalize: the protocol's per-channel ``Normalize`` after scaling to [0, 1]; else only [0, 1].
        flatten: inputs (N, 3072) instead of (N, 3, 32, 32).
        augment: ``none`` or ``oialr`` (the OIALR timm training transform, per sample in ``take``).
        val_size: validation images taken from the training set (default 10,000 for fg, else 0).
        split_seed: seed of the validation split.
        max_train, max_val, max_test: seeded random subsets for small runs.
        download: download the archive when absent; verify: check md5 checksums.
    """
    check_choice("cifar10", "protocol", protocol, tuple(NORMALIZATION))
    check_choice("cifar10", "augment", augment, ("none", "oialr"))
    if augment == "oialr" and flatten:
        raise UserError("cifar10: augment: oialr works on images; it cannot be combined with flatten: true")
    raw, facts = read_cifar10(root, search_paths, download, verify)
    parts = [read_batch(raw[f"data_batch_{i}"], f"data_batch_{i}") for i in range(1, 6)]
    train_images = np.concatenate([p[0] for p in parts])
    train_labels = np.concatenate([p[1] for p in parts])
    test_images, test_labels = read_batch(raw["test_batch"], "test_batch")
    mean, std = NORMALIZATION[protocol] if normalize else (None, None)
    val_size = (10000 if protocol == "fg" else 0) if val_size is None else val_size
    info = {"protocol": protocol, "normalize": {"mean": mean, "std": std}, "augment": augment,
            "files": [facts], "split_seed": split_seed}
    if augment == "none":
        train_x = normalize_images(train_images, mean, std, flatten)
    else:
        train_x = torch.from_numpy(train_images)  # raw (N, 32, 32, 3) uint8; the transform runs in take()
    data = build_image_splits(
        "cifar10", f"CIFAR-10 ({protocol} protocol)", train_x, train_labels,
        normalize_images(test_images, mean, std, flatten), test_labels, val_size, split_seed, info)
    if augment != "none":
        if data.val is not None:  # validation images are evaluated like test images: normalised only
            data.val = Split(normalize_images(data.val.x.numpy(), mean, std), data.val.y)
        data.train = AugmentedSplit(data.train.x, data.train.y, oialr_train_transform(mean or (0.0,) * 3,
                                                                                      std or (1.0,) * 3))
        data.input_shape = (3, 32, 32)
    return limit_splits(data, max_train, max_val, max_test)
