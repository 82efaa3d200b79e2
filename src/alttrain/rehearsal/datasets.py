"""The real shapes of the papers' data sets: per-sample input and target shapes, classes, split sizes.

The rehearsal trains on synthetic tensors of these shapes (:mod:`alttrain.data.synthetic`) and the cost model
takes the split sizes (steps per epoch, evaluation passes) from here. Each entry states its source: the
loader module's documented protocol (``alttrain/data/<name>.py``) or the paper spec it follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alttrain.errors import UserError


@dataclass(frozen=True)
class DataShape:
    """Per-sample shapes and split sizes of one data set configuration.

    Attributes:
        label: human name of the real data set.
        task: ``classification`` or ``regression``.
        num_outputs: classes, or regression outputs.
        train_inputs: per-sample shape of each input tensor of a training batch (one entry per tensor).
        eval_inputs: the same for evaluation batches (ImageNet evaluates at another crop size).
        target: per-sample target shape (``()`` for class labels).
        sizes: samples per split (``val`` absent when the protocol has none).
        source: where the sizes come from.
    """

    label: str
    task: str
    num_outputs: int
    train_inputs: tuple[tuple[int, ...], ...]
    eval_inputs: tuple[tuple[int, ...], ...]
    target: tuple[int, ...]
    sizes: dict[str, int]
    source: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of the first training input (``DataSplits.input_shape``)."""
        return self.train_inputs[0]


def _images(label, shape, sizes, source, classes=10, eval_shape=None) -> DataShape:
    return DataShape(label, "classification", classes, (shape,), ((eval_shape or shape),), (), sizes, source)


def _mnist(protocol: str = "fg", flatten: bool = False, **_: Any) -> DataShape:
    shape = (784,) if flatten else (1, 28, 28)
    sizes = {"train": 50000, "val": 10000, "test": 10000} if protocol == "fg" else {"train": 60000, "test": 10000}
    return _images(f"MNIST ({protocol} protocol)", shape, sizes, "alttrain/data/mnist.py protocols")


def _cifar10(protocol: str = "fg", flatten: bool = False, **_: Any) -> DataShape:
    shape = (3072,) if flatten else (3, 32, 32)
    sizes = {"train": 40000, "val": 10000, "test": 10000} if protocol == "fg" else {"train": 50000, "test": 10000}
    return _images(f"CIFAR-10 ({protocol} protocol)", shape, sizes, "alttrain/data/cifar10.py protocols")


def _imagenet(image_size: int = 224, eval_size: int = 224, **_: Any) -> DataShape:
    return _images("ImageNet-2012", (3, image_size, image_size), {"train": 1281167, "test": 50000},
                   "ILSVRC-2012 train / val image counts", classes=1000, eval_shape=(3, eval_size, eval_size))


def _ettm2(seq_len: int = 96, label_len: int = 48, pred_len: int = 192, features: str = "M", **_: Any
           ) -> DataShape:
    """Autoformer windows over ETTm2 (15-minute rows, 12/4/4 months of 30 days; alttrain/data/ett.py)."""
    month = 30 * 96
    rows = {"train": 12 * month, "val": 4 * month + seq_len, "test": 4 * month + seq_len}
    channels, marks = (7 if features in ("M", "MS") else 1), 5
    sizes = {split: n - seq_len - pred_len + 1 for split, n in rows.items()}
    inputs = ((seq_len, channels), (seq_len, marks), (label_len + pred_len, channels),
              (label_len + pred_len, marks))
    outputs = 1 if features == "MS" else channels
    return DataShape(f"ETTm2 windows {seq_len} -> {pred_len}", "regression", outputs, inputs, inputs,
                     (pred_len, outputs), sizes, "alttrain/data/ett.py borders (Autoformer split)")


def _tabular(label, features, task, outputs, sizes, source):
    def shape(**_: Any) -> DataShape:
        target = () if task == "classification" else (outputs,)
        return DataShape(label, task, outputs, ((features,),), ((features,),), target, sizes, source)

    return shape


SHAPES = {
    "mnist": _mnist,
    "cifar10": _cifar10,
    "imagenet": _imagenet,
    "ettm2": _ettm2,
    "census_income": _tabular("Census Income (UCI Adult)", 14, "classification", 2,
                              {"train": 32561, "test": 16281}, "UCI adult.data / adult.test row counts"),
    "sgemm": _tabular("SGEMM GPU kernel performance (UCI)", 14, "regression", 1,
                      {"train": 773120, "test": 193280}, "f3 spec: 241,600 rows, 80/20 split, 4 runs melted"),
    "wine_quality": _tabular("Wine Quality (UCI, red + white)", 12, "regression", 1,
                             {"train": 5197, "test": 1300}, "alttrain/data/wine_quality.py (80/20 split)"),
}


def data_shape(spec: dict[str, Any]) -> DataShape:
    """The real shapes of the data set a run config's ``dataset`` entry describes."""
    options = {k: v for k, v in spec.items() if k != "name"}
    if spec["name"] not in SHAPES:
        raise UserError(f"rehearsal: no recorded shapes for data set {spec['name']!r}; known: "
                        f"{', '.join(SHAPES)} (add it to alttrain/rehearsal/datasets.py)")
    return SHAPES[spec["name"]](**options)
