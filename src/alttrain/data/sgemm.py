"""UCI SGEMM GPU kernel performance (Nugteren & Codreanu 2015; CC BY 4.0): 241,600 kernel configurations, 14
parameters, 4 measured run times (ms) each.

Source: ``sgemm_product_dataset.zip`` (holding ``sgemm_product.csv``) or the extracted ``sgemm_product.csv``,
in ``<root>/sgemm``, ``<root>`` or a search path; downloaded from the UCI archive when absent. UCI publishes
no checksum, so the content is checked instead (header, 241,600 complete rows). Not available offline.

Preprocessing as in the F3 code (docs/methods/f3.md#data-sets-and-preprocessing): ``train_test_split(test_size=0.2,
random_state=1)`` on the configuration rows (193,280 / 48,320), then each of the 4 runs becomes its own sample (the 4
repeats of a configuration stay in one split; samples ordered run-major like ``pandas.melt``) -> 773,120 train / 193,280
test, no validation split; the 14 features and the run time standardised with the code's hard-coded constants
(``standardize: paper``); no log transform. Targets float32 (N, 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import RemoteFile, fetch, read_bytes, read_csv, read_zip_member
from alttrain.data.splits import check_choice, limit_splits, train_test_indices
from alttrain.errors import UserError

FEATURES = ["MWG", "NWG", "KWG", "MDIMC", "NDIMC", "MDIMA", "NDIMB", "KWI", "VWM", "VWN", "STRM", "STRN",
            "SA", "SB"]
RUNS = ["Run1 (ms)", "Run2 (ms)", "Run3 (ms)", "Run4 (ms)"]
ROWS = 241600
ARCHIVE = RemoteFile(
    "sgemm_product_dataset.zip",
    ("https://archive.ics.uci.edu/static/public/440/sgemm+gpu+kernel+performance.zip",
     "https://archive.ics.uci.edu/ml/machine-learning-databases/00440/sgemm_product_dataset.zip"))
# F3 code constants: 14 feature means/stds, then the run time's (copied from the authors' code;
# docs/methods/f3.md#data-sets-and-preprocessing).
MEAN = [80.45099338, 80.33145695, 25.52218543, 13.93956954, 13.93000828, 17.37127483, 17.38451987, 4.9973303,
        2.45177463, 2.45005174, 0.49980339, 0.50042943, 0.49984478, 0.50050186, 217.8314705220405]
STD = [42.47476047, 42.45861397, 7.85386979, 7.88287486, 7.86731171, 9.3888511, 9.39787133, 3.00000657,
       1.95446444, 1.9563342, 0.50000125, 0.50000111, 0.50000127, 0.50000104, 369.30339822069976]
OFFLINE = ("SGEMM is not available offline (no registry ships it): run on a machine with internet access "
           "once, or copy the UCI file here by hand.")


def read_sgemm(
    root: Path, search_paths: tuple[Path, ...], download: bool, verify: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """The CSV as a float64 array (241,600, 18) and the source facts."""
    path, facts = fetch(ARCHIVE, dataset="sgemm", root=root, search_paths=search_paths, subdirs=("sgemm",),
                        allow_download=download, check=verify,
                        other_names=("sgemm_product.csv", "sgemm_product.csv.gz"), offline_hint=OFFLINE)
    if path.suffix == ".zip":
        member, content = read_zip_member(path, lambda n: n.endswith("sgemm_product.csv"))
        source = f"{path}:{member}"
    else:
        content, source = read_bytes(path), str(path)
    frame = read_csv(content, source, FEATURES + RUNS, numeric=FEATURES + RUNS)
    return frame.to_numpy(np.float64), facts


@register_dataset("sgemm")
def load_sgemm(
    *, root: Path, search_paths: tuple[Path, ...] = (), standardize: str = "paper", test_size: float = 0.2,
    split_seed: int = 1, max_train: int | None = None, max_test: int | None = None, download: bool = True,
    verify: bool = True, expect_full: bool = True,
) -> DataSplits:
    """SGEMM run-time regression (14 inputs, one run time per sample).

    Args:
        standardize: ``paper`` (the F3 code's constants), ``train`` (the melted training split's means and
            ddof=1 standard deviations) or ``none``.
        test_size, split_seed: ``train_test_split`` on configuration rows; F3: 0.2 and 1.
        max_train, max_test: seeded random subsets of the melted samples, for small runs.
        download: download the UCI archive when absent; verify: reserved (UCI publishes no checksum).
        expect_full: require 241,600 rows (off only for hand-made test files).
    """
    check_choice("sgemm", "standardize", standardize, ("paper", "train", "none"))
    table, facts = read_sgemm(root, search_paths, download, verify)
    if expect_full and len(table) != ROWS:
        raise UserError(f"sgemm: {facts['file']} has {len(table)} rows, expected {ROWS}; replace it with the "
                        "original UCI file")
    train, test = train_test_indices(len(table), test_size, split_seed)  # = sklearn's train_test_split
    rows_train, rows_test = table[train], table[test]

    def melt(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # (R, 18) -> features (4R, 14), times (4R, 1): all configurations with Run1, then with Run2, ...
        return np.tile(rows[:, :14], (4, 1)), rows[:, 14:].T.reshape(-1, 1)

    (x_train, y_train), (x_test, y_test) = melt(rows_train), melt(rows_test)
    if standardize == "paper":
        mean, std = np.array(MEAN), np.array(STD)
    elif standardize == "train":
        both = np.hstack([x_train, y_train])
        mean, std = both.mean(axis=0), both.std(axis=0, ddof=1)
    else:
        mean, std = np.zeros(15), np.ones(15)

    def as_split(x: np.ndarray, y: np.ndarray) -> Split:
        x = torch.from_numpy((x - mean[:14]) / std[:14]).float()
        return Split(x, torch.from_numpy((y - mean[14]) / std[14]).float())

    data = DataSplits(
        name="sgemm", description="SGEMM GPU kernel performance (UCI)", task="regression", num_outputs=1,
        input_shape=(14,), train=as_split(x_train, y_train), test=as_split(x_test, y_test),
        info={"standardize": standardize, "mean": mean.tolist(), "std": std.tolist(), "features": FEATURES,
              "rows": {"train": len(rows_train), "test": len(rows_test)}, "files": [facts],
              "split": {"test_size": test_size, "random_state": split_seed}},
    )
    return limit_splits(data, max_train, None, max_test)
