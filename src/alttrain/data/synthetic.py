"""Synthetic tensors of a real data set's shapes, for the paper-scale rehearsal (``alttrain.rehearsal``).

``{"name": "synthetic", "like": {<a real dataset entry>}, "sizes": {"train": 4, "test": 2}}`` gives
splits of the real per-sample shapes, class count and task (:mod:`alttrain.rehearsal.datasets`), filled with
standard-normal inputs and uniformly drawn labels (seeded). Every caption calls them "synthetic". They are
not data: a run on them only proves that the job starts and measures its cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from alttrain.data import DataSplits, Split, register_dataset


def _split(count: int, inputs, target, task: str, outputs: int, generator: torch.Generator) -> Split:
    parts = tuple(torch.randn((count, *shape), generator=generator) for shape in inputs)
    if task == "classification":
        y = torch.randint(0, outputs, (count, *target), generator=generator)
    else:
        y = torch.randn((count, *target), generator=generator)
    return Split(parts if len(parts) > 1 else parts[0], y)


@register_dataset("synthetic")
def load_synthetic(
    *, root: Path, search_paths: tuple[Path, ...] = (), like: dict[str, Any], sizes: dict[str, int],
    seed: int = 0,
) -> DataSplits:
    """Splits shaped like the data set ``like`` with ``sizes`` samples per split (``val`` optional).

    Args:
        like: the real run config's ``dataset`` entry (its shapes come from :mod:`alttrain.rehearsal.datasets`).
        sizes: samples per split, e.g. ``{"train": 4, "test": 2}``; a ``val`` entry adds a validation split.
        seed: seed of the synthetic values.
    """
    from alttrain.rehearsal.datasets import data_shape

    shape = data_shape(like)
    generator = torch.Generator().manual_seed(seed)

    def split(name: str) -> Split:
        inputs = shape.train_inputs if name == "train" else shape.eval_inputs
        return _split(sizes[name], inputs, shape.target, shape.task, shape.num_outputs, generator)

    return DataSplits(
        name="synthetic", description=f"synthetic tensors shaped like {shape.label}", task=shape.task,
        num_outputs=shape.num_outputs, input_shape=shape.input_shape, train=split("train"),
        test=split("test"), val=split("val") if "val" in sizes else None,
        info={"synthetic": True, "like": like, "real_sizes": shape.sizes},
    )
