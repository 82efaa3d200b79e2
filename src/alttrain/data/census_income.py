"""UCI Census Income / Adult (Becker & Kohavi 1996; CC BY 4.0): 32,561 train / 16,281 test people, 14
attributes, label income ``<=50K`` / ``>50K``.

Source: ``adult.data`` and ``adult.test`` (UCI's original files: no header, ``, ``-separated; ``adult.test``
starts with a ``|1x3 Cross validator`` line and its labels end in ``.``), in ``<root>/census_income``,
``<root>`` or a search path; downloaded from the UCI archive when absent. UCI publishes no checksum, so the
content is checked (15 fields per row, no missing field, the official row counts). Not available offline.

Preprocessing as in the F3 code (docs/methods/f3.md#data-sets-and-preprocessing): official split (no validation), the 6
numeric columns as they are (no standardisation, e.g. fnlwgt ~ 1e5), the 8 categorical columns replaced by pandas
category codes **computed per file** (``encoding: per_file``, the authors' behaviour: a category missing from one file
shifts that file's codes); ``encoding: shared`` uses the training file's categories for both files (a documented fix).
The label is 1 for ``>50K`` (with or without the trailing ``.``), else 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import RemoteFile, check_complete, fetch, read_bytes, read_csv
from alttrain.data.splits import check_choice, limit_splits
from alttrain.errors import UserError

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CATEGORICAL = [c for c in COLUMNS[:-1] if c not in NUMERIC]
BASE_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
FILES = {"train": ("adult.data", 32561), "test": ("adult.test", 16281)}
OFFLINE = ("Census Income is not available offline (no registry ships the full files): run on a machine with "
           "internet access once, or copy adult.data and adult.test here by hand.")


def read_adult(path: Path) -> pd.DataFrame:
    """One UCI Adult file as a frame with :data:`COLUMNS` (values stripped, the ``|...`` line skipped)."""
    frame = read_csv(read_bytes(path), str(path), [str(i) for i in range(15)], numeric=[],
                     header=None, names=[str(i) for i in range(15)], skipinitialspace=True, comment="|",
                     dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = COLUMNS
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    check_complete(frame, str(path))
    labels = frame["income"].str.rstrip(".")
    if not labels.isin(["<=50K", ">50K"]).all():
        raise UserError(f"{path}: the income column must hold only <=50K / >50K; replace the file with UCI's")
    return frame


@register_dataset("census_income")
def load_census_income(
    *, root: Path, search_paths: tuple[Path, ...] = (), encoding: str = "per_file", standardize: bool = False,
    max_train: int | None = None, max_test: int | None = None, download: bool = True, verify: bool = True,
    expect_full: bool = True,
) -> DataSplits:
    """Census Income classification (14 inputs, 2 classes).

    Args:
        encoding: ``per_file`` (F3 code: category codes computed per file) or ``shared`` (training file's).
        standardize: standardise the 14 inputs with the training split's mean and std (F3: no).
        max_train, max_test: seeded random subsets for small runs.
        download: download the UCI files when absent; verify: reserved (UCI publishes no checksum).
        expect_full: require UCI's row counts (off only for hand-made test files).
    """
    check_choice("census_income", "encoding", encoding, ("per_file", "shared"))
    frames, facts = {}, []
    for part, (name, rows) in FILES.items():
        path, info = fetch(RemoteFile(name, (BASE_URL + name,)), dataset="census_income", root=root,
                           search_paths=search_paths, subdirs=("census_income",), allow_download=download,
                           check=verify, offline_hint=OFFLINE)
        frames[part] = read_adult(path)
        facts.append(info)
        if expect_full and len(frames[part]) != rows:
            raise UserError(f"census_income: {path} has {len(frames[part])} rows, expected {rows}; "
                            "replace it with UCI's file")
    tensors = {}
    for part, frame in frames.items():
        features = frame[COLUMNS[:-1]].copy()
        for column in CATEGORICAL:
            categories = None if encoding == "per_file" else sorted(frames["train"][column].unique())
            codes = pd.Categorical(features[column], categories=categories).codes
            if (codes < 0).any():
                unseen = sorted(set(features[column][codes < 0]))
                raise UserError(f"census_income: test categories {unseen} of {column} are not in adult.data; "
                                "use encoding: per_file")
            features[column] = codes
        x = torch.from_numpy(features.to_numpy(np.float32))
        y = torch.from_numpy((frame["income"].str.rstrip(".") == ">50K").to_numpy(np.int64))
        tensors[part] = (x, y)
    mean = std = None
    if standardize:
        mean, std = tensors["train"][0].mean(0), tensors["train"][0].std(0)
        tensors = {k: ((x - mean) / std, y) for k, (x, y) in tensors.items()}
    data = DataSplits(
        name="census_income", description="Census Income (UCI Adult)", task="classification", num_outputs=2,
        input_shape=(14,), train=Split(*tensors["train"]), test=Split(*tensors["test"]),
        info={"encoding": encoding, "features": COLUMNS[:-1], "files": facts,
              "standardize": None if mean is None else {"mean": mean.tolist(), "std": std.tolist()}},
    )
    return limit_splits(data, max_train, None, max_test)
