"""ImageNet loader on a tiny ImageFolder tree of real image files (lazy decoding, layout errors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alttrain.data import load_dataset
from alttrain.errors import UserError


def _image(path: Path, value: int, size=(48, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)


def _tree(base: Path) -> Path:
    for split, count in (("train", 3), ("val", 2)):
        for label, name in enumerate(("n01440764", "n01443537")):
            for i in range(count):
                _image(base / split / name / f"img{i}.JPEG", 40 * label + 10 * i)
    return base


SPEC = {"name": "imagenet", "augment": "none", "image_size": 32, "eval_size": 32, "crop_pct": 1.0,
        "workers": 2}


def test_imagefolder_is_loaded_lazily(tmp_path):
    base = _tree(tmp_path / "in")
    data = load_dataset({**SPEC, "path": str(base)}, root=tmp_path)
    assert data.num_outputs == 2 and data.val is None
    assert (len(data.train), len(data.test)) == (6, 4) and data.train.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.train.x.tolist() == list(range(6))  # sample numbers: nothing is decoded yet
    x, y = data.train.take(torch.tensor([4, 0]))
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [1, 0]
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    expected = (torch.full((3,), 50 / 255) - mean) / std  # train image 1 of class 1 has value 40 + 10
    assert torch.allclose(x[0, :, 10, 10], expected, atol=1e-4)
    small = load_dataset({**SPEC, "path": str(base), "max_per_class": 1}, root=tmp_path)
    assert (len(small.train), len(small.test)) == (2, 2)


def test_default_location_and_training_transforms(tmp_path):
    _tree(tmp_path / "data" / "imagenet")
    data = load_dataset({**SPEC, "augment": "basic"}, root=tmp_path / "data")
    x, _ = data.train.take(torch.tensor([0, 1, 2]))
    assert x.shape == (3, 3, 32, 32)
    oialr = load_dataset({**SPEC, "augment": "oialr", "workers": 1}, root=tmp_path / "data")
    x, _ = oialr.train.take(torch.tensor([5]))
    assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32


def test_layout_errors_name_the_folder_and_the_expected_layout(tmp_path):
    with pytest.raises(UserError, match="no ImageNet folder configured"):
        load_dataset(SPEC, root=tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        load_dataset({**SPEC, "path": str(tmp_path / "absent")}, root=tmp_path)
    base = _tree(tmp_path / "in")
    (base / "val" / "n01443537").rename(base / "val" / "n09999999")
    with pytest.raises(UserError, match=r"train/ \(missing \['n01443537'\], extra \['n09999999'\]"):
        load_dataset({**SPEC, "path": str(base)}, root=tmp_path)
    flat = tmp_path / "flat"
    _image(flat / "train" / "n01440764" / "a.JPEG", 0)
    _image(flat / "val" / "ILSVRC2012_val_00000001.JPEG", 0)
    with pytest.raises(UserError, match="no class folders") as err:
        load_dataset({**SPEC, "path": str(flat)}, root=tmp_path)
    assert str(flat / "val") in str(err.value) and "<path>/val/<class>/<image>" in str(err.value)
    (flat / "val" / "n01440764").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        load_dataset({**SPEC, "path": str(flat)}, root=tmp_path)


def test_unreadable_image_is_reported_when_taken(tmp_path):
    base = _tree(tmp_path / "in")
    (base / "train" / "n01440764" / "img0.JPEG").write_bytes(b"not an image")
    data = load_dataset({**SPEC, "path": str(base)}, root=tmp_path)
    with pytest.raises(UserError, match="img0.JPEG"):
        data.train.take(torch.tensor([0]))
