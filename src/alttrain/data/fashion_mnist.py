"""Fashion-MNIST (Xiao et al. 2017; MIT licence): 60,000 / 10,000 28x28 grey clothing images, IDX format.

Looked for in ``<root>/fashion_mnist``, torchvision's ``<root>/FashionMNIST/raw``, ``<root>``, the search
paths and Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``, an offline route
where it can be installed); downloaded from torchvision's mirror with torchvision's md5 checksums otherwise.

Neither paper uses it; it is a drop-in MNIST-format substitute. Splits follow the MNIST protocols (``fg``:
50,000 / 10,000 seeded validation split + 10,000 test; ``f3``: 60,000 / 10,000). With ``normalize`` the images
are standardised with the mean and standard deviation of all training pixels (computed here, not a published
constant).
"""

from __future__ import annotations

from pathlib import Path

from alttrain.data import DataSplits, register_dataset
from alttrain.data.mnist import build_image_splits, read_idx_set
from alttrain.data.splits import check_choice, limit_splits, normalize_images

DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
FASHION_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
}


@register_dataset("fashion_mnist")
def load_fashion_mnist(
    *, root: Path, search_paths: tuple[Path, ...] = (), protocol: str = "fg", normalize: bool = True,
    flatten: bool = False, val_size: int | None = None, split_seed: int = 0, max_train: int | None = None,
    max_val: int | None = None, max_test: int | None = None, download: bool = True, verify: bool = True,
    expect_full: bool = True,
) -> DataSplits:
    """Fashion-MNIST; options as for ``mnist`` (``normalize`` uses the training pixels' mean and std)."""
    check_choice("fashion_mnist", "protocol", protocol, ("fg", "f3"))
    train_x, train_y, test_x, test_y, files = read_idx_set(
        "fashion_mnist", FASHION_FILES, _MIRRORS, "torchvision 0.29.1 (torchvision/datasets/mnist.py)",
        root=root, search_paths=(*search_paths, DEBIAN_FOLDER), subdirs=("fashion_mnist", "FashionMNIST/raw"),
        download=download, verify=verify, sizes=(60000, 10000) if expect_full else None)
    mean = std = None
    if normalize:
        pixels = train_x.astype("float64") / 255.0
        mean, std = (float(pixels.mean()),), (float(pixels.std()),)
    val_size = (10000 if protocol == "fg" else 0) if val_size is None else val_size
    info = {"protocol": protocol, "normalize": {"mean": mean, "std": std, "from": "training pixels"},
            "files": files, "split_seed": split_seed}
    data = build_image_splits(
        "fashion_mnist", f"Fashion-MNIST ({protocol} protocol)",
        normalize_images(train_x, mean, std, flatten), train_y, normalize_images(test_x, mean, std, flatten),
        test_y, val_size, split_seed, info)
    return limit_splits(data, max_train, max_val, max_test)
