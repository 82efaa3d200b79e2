"""ImageNet-2012 (ILSVRC; licence: ImageNet terms of access) from a folder the user provides.

Layout (torchvision "ImageFolder"): ``<path>/train/<class>/<image>`` and ``<path>/val/<class>/<image>`` with
the same class folders (e.g. the 1,000 WordNet ids); the class index is the position of the folder name in
sorted order. ``path`` comes from the dataset option ``path`` (the config's ``data.imagenet``), else
``imagenet/`` below the data root or a search path. ImageNet cannot be downloaded automatically (registration
needed).

Images are decoded lazily: the split holds the file list and labels, and ``take(index)`` reads, transforms and
stacks just that batch (on the index's device), so the training loop is the same as for in-memory data sets.
ImageNet's public validation set is the test split here (``val`` is ``None``), as in the OIALR runs.

Transforms (docs/methods/oialr.md#e2-vit-b16-on-imagenet and #e3-resnet-rs-101-on-imagenet, timm ``create_transform``):

* evaluation: resize the short side to ``eval_size / crop_pct`` (bicubic), centre crop ``eval_size``, ImageNet
  mean/std normalisation (crop_pct 0.9, 224);
* training, ``augment: oialr``: RandomResizedCrop(``image_size``, scale 0.08-1, random interpolation), flip,
  RandAugment ``rand-m15-mstd0.5-inc1``, RandomErasing 0.25 (pixel mode); ``augment: basic``:
  RandomResizedCrop + flip only; ``augment: none``: the evaluation transform.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import candidate_folders
from alttrain.data.splits import check_choice
from alttrain.errors import UserError

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
EXTENSIONS = (".jpeg", ".jpg", ".png", ".ppm", ".bmp", ".webp")
LAYOUT = "<path>/train/<class>/<image> and <path>/val/<class>/<image> (torchvision ImageFolder layout)"


class ImageFolderSplit(Split):
    """A split whose images stay on disk; ``x`` holds sample numbers, ``take`` decodes the batch."""

    def __init__(self, paths: list[str], y: torch.Tensor, transform: Any, workers: int = 4) -> None:
        super().__init__(torch.arange(len(paths)), y)
        self.paths, self.transform, self.workers = paths, transform, workers

    def _load(self, i: int) -> torch.Tensor:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.paths[i]) as image:
                return self.transform(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as err:
            raise UserError(f"imagenet: cannot read {self.paths[i]} ({err}); replace or delete it") from err

    def take(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = index.cpu().tolist()
        if self.workers > 1 and len(rows) > 1:  # PIL decodes outside the GIL, so threads overlap the work
            with ThreadPoolExecutor(self.workers) as pool:
                images = list(pool.map(self._load, rows))
        else:
            images = [self._load(i) for i in rows]
        return torch.stack(images).to(index.device), self.y[index]  # (B, 3, H, W)

    def to(self, device: torch.device) -> ImageFolderSplit:
        return ImageFolderSplit(self.paths, self.y.to(device), self.transform, self.workers)

    def select(self, index: torch.Tensor) -> ImageFolderSplit:
        """The samples ``index`` as a split of the same kind."""
        keep = index.cpu().tolist()
        return ImageFolderSplit([self.paths[i] for i in keep], self.y[index], self.transform, self.workers)


def scan(
    folder: Path, classes: list[str] | None, max_per_class: int | None
) -> tuple[list[str], list[str], list[int]]:
    """Classes, image paths and labels of one ImageFolder split; layout faults are a :class:`UserError`."""
    if not folder.is_dir():
        raise UserError(f"imagenet: {folder} does not exist; expected {LAYOUT}")
    found = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    if not found:
        raise UserError(f"imagenet: {folder} has no class folders; expected {LAYOUT}. (The official "
                        "validation archive is flat: sort its images into one folder per class first.)")
    if classes is not None and found != classes:
        missing, extra = sorted(set(classes) - set(found)), sorted(set(found) - set(classes))
        raise UserError(f"imagenet: the class folders of {folder} differ from train/ (missing {missing[:5]}, "
                        f"extra {extra[:5]}); both splits need the same classes")
    paths, labels = [], []
    for label, name in enumerate(found):
        images = sorted(e.path for e in os.scandir(folder / name) if e.name.lower().endswith(EXTENSIONS))
        if not images:
            raise UserError(f"imagenet: class folder {folder / name} holds no images "
                            f"({', '.join(EXTENSIONS)})")
        images = images[:max_per_class] if max_per_class else images
        paths += images
        labels += [label] * len(images)
    return found, paths, labels


def transforms(augment: str, image_size: int, eval_size: int, crop_pct: float) -> tuple[Any, Any]:
    """(train, eval) per-image transforms (PIL image -> float tensor (3, H, W))."""
    from torchvision import transforms as T

    normalize = [T.ToTensor(), T.Normalize(MEAN, STD)]
    evaluate = T.Compose([T.Resize(int(eval_size / crop_pct), interpolation=T.InterpolationMode.BICUBIC),
                          T.CenterCrop(eval_size), *normalize])
    if augment == "none":
        return evaluate, evaluate
    if augment == "basic":
        return T.Compose([T.RandomResizedCrop(image_size), T.RandomHorizontalFlip(), *normalize]), evaluate
    from timm.data import create_transform

    train = create_transform(
        input_size=image_size, is_training=True, scale=(0.08, 1.0), interpolation="random", hflip=0.5,
        auto_augment="rand-m15-mstd0.5-inc1", mean=MEAN, std=STD, re_prob=0.25, re_mode="pixel", re_count=1)
    return train, evaluate


@register_dataset("imagenet")
def load_imagenet(
    *, root: Path, search_paths: tuple[Path, ...] = (), path: str | None = None, augment: str = "oialr",
    image_size: int = 224, eval_size: int = 224, crop_pct: float = 0.9, max_per_class: int | None = None,
    workers: int = 4,
) -> DataSplits:
    """ImageNet from an ImageFolder tree (lazy loading).

    Args:
        path: the folder holding ``train/`` and ``val/``; default: ``imagenet/`` below root or a search path.
        augment: ``oialr`` (timm RandAugment m15 recipe), ``basic`` or ``none``.
        image_size: training crop (OIALR: 224 for ViT-B/16, 160 for ResNet-RS).
        eval_size, crop_pct: evaluation crop and resize ratio (OIALR: 224, 0.9).
        max_per_class: first images (sorted by name) per class, for small runs.
        workers: decoding threads per batch.
    """
    check_choice("imagenet", "augment", augment, ("oialr", "basic", "none"))
    if path is None:
        candidates = [f / "imagenet" for f in candidate_folders(root, search_paths)]
        base = next((c for c in candidates if c.is_dir()), None)
        if base is None:
            raise UserError("imagenet: no ImageNet folder configured. Set the config's data.imagenet (or the "
                            f"dataset option path) to a folder with {LAYOUT}; looked in "
                            f"{', '.join(map(str, candidates))}")
    else:
        base = Path(path).expanduser()
        if not base.is_dir():
            raise UserError(f"imagenet: the configured path {base} does not exist; expected {LAYOUT}")
    classes, train_paths, train_labels = scan(base / "train", None, max_per_class)
    _, val_paths, val_labels = scan(base / "val", classes, max_per_class)
    train_tf, eval_tf = transforms(augment, image_size, eval_size, crop_pct)
    return DataSplits(
        name="imagenet", description=f"ImageNet-2012 ({len(classes)} classes)", task="classification",
        num_outputs=len(classes), input_shape=(3, image_size, image_size),
        train=ImageFolderSplit(train_paths, torch.tensor(train_labels), train_tf, workers),
        test=ImageFolderSplit(val_paths, torch.tensor(val_labels), eval_tf, workers),
        info={"path": str(base), "classes": len(classes), "augment": augment, "image_size": image_size,
              "eval_size": eval_size, "crop_pct": crop_pct, "max_per_class": max_per_class,
              "sizes": {"train": len(train_paths), "test": len(val_paths)}},
    )
