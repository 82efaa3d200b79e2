"""The lazy and windowed splits on a CUDA device: ``to(device)`` then ``take`` with a device index returns the
same batch as on the CPU, on that device (the training loop moves the index to the device before ``take``)."""

from __future__ import annotations

import pytest
import torch

from alttrain.data import load_dataset

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


def _same_batch(cpu_split, gpu_split, index):
    x_cpu, y_cpu = cpu_split.take(index)
    x_gpu, y_gpu = gpu_split.take(index.to(CUDA))
    parts_cpu = x_cpu if isinstance(x_cpu, tuple) else (x_cpu,)
    parts_gpu = x_gpu if isinstance(x_gpu, tuple) else (x_gpu,)
    for a, b in zip((*parts_cpu, y_cpu), (*parts_gpu, y_gpu), strict=True):
        assert b.device.type == "cuda" and torch.equal(a, b.cpu())


def test_ett_windows_on_cuda(tmp_path):
    from test_data_ett import _write_ett

    _write_ett(tmp_path / "ETTh2.csv", 14400, 60)
    spec = {"name": "etth2", "verify": False, "download": False, "max_windows": 500}
    cpu = load_dataset(spec, root=tmp_path)
    gpu = load_dataset(spec, root=tmp_path).to(CUDA)
    for split in ("train", "val", "test"):
        assert gpu.split(split).y.device.type == "cuda" and len(gpu.split(split)) == 500
        _same_batch(cpu.split(split), gpu.split(split), torch.tensor([0, 7, 499]))


def test_in_memory_and_imagefolder_splits_on_cuda(tmp_path):
    from test_data_imagenet import SPEC, _tree

    cpu = load_dataset({"name": "wine_quality"}, root=tmp_path)
    gpu = load_dataset({"name": "wine_quality"}, root=tmp_path).to(CUDA)
    _same_batch(cpu.train, gpu.train, torch.tensor([1, 2, 3]))
    base = _tree(tmp_path / "in")
    cpu = load_dataset({**SPEC, "path": str(base)}, root=tmp_path)
    gpu = load_dataset({**SPEC, "path": str(base)}, root=tmp_path).to(CUDA)
    _same_batch(cpu.test, gpu.test, torch.tensor([3, 0]))


def test_augmented_cifar_split_on_cuda(tmp_path):
    from test_data_images import _write_cifar

    _write_cifar(tmp_path / "cifar10")
    spec = {"name": "cifar10", "protocol": "oialr", "augment": "oialr", "verify": False, "download": False}
    gpu = load_dataset(spec, root=tmp_path).to(CUDA)
    x, y = gpu.train.take(torch.tensor([0, 1], device=CUDA))
    assert x.device.type == "cuda" and y.device.type == "cuda" and x.shape == (2, 3, 32, 32)
    _same_batch(load_dataset(spec, root=tmp_path).test, gpu.test, torch.tensor([2, 4]))
