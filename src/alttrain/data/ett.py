"""ETT (Electricity Transformer Temperature, Zhou et al. 2021; CC BY-ND 4.0), station 2: ``ettm2`` (15-minute)
and ``etth2`` (hourly), 7 variables (HUFL, HULL, MUFL, MULL, LUFL, LULL, OT), as windows for the Autoformer.

Source: ``ETTm2.csv`` / ``ETTh2.csv`` of github.com/zhouhaoyi/ETDataset (``ETT-small/``), or a gzipped copy
``<name>.csv.gz``, looked for in ``<root>/ett``, ``<root>`` and the search paths; downloaded from GitHub when
absent (md5 checked). Offline only what a search path holds: ``etth2`` from the ``ETTh2.csv.gz`` vendored in
``resources/`` (found through the default config's ``data.search_paths``; see ``resources/README.md``); ETTm2 has
no offline route.

As the Autoformer code (``Dataset_ETT_minute`` / ``Dataset_ETT_hour``, ``timeenc=1``) builds them:

* borders: 12 / 4 / 4 months of 30 days (ETTh: 8,640 / 2,880 / 2,880 rows; ETTm: x4); validation and test
  windows start ``seq_len`` rows before their border;
* standardisation of every column with the training rows' mean and (ddof=0) std (``info["mean"]``,
  ``["std"]``);
* time features ("timeF"), each in [-0.5, 0.5]: freq ``t`` -> minute/59, hour/23, weekday/6, (day-1)/30, (day
  of year-1)/365, each minus 0.5 (5 features); freq ``h`` -> the last four;
* window i: x_enc = rows [i, i+seq_len), y = rows [i+seq_len, i+seq_len+pred_len), decoder input = the last
  ``label_len`` rows of x_enc followed by ``pred_len`` zeros (what the Autoformer's training loop feeds).

Inputs are the tuple ``(x_enc (N, seq_len, C), x_mark_enc (N, seq_len, F), x_dec (N, label_len+pred_len, C),
x_mark_dec (N, label_len+pred_len, F))`` returned by ``take()``; targets (N, pred_len, C_out), standardised.
The windows are strided views of one array per split (no copies); ``take`` copies the batch only. In the
stored ``split.x`` the third entry holds only the ``label_len`` known decoder rows: ``take`` appends the
zeros.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from alttrain.data import DataSplits, Split, register_dataset
from alttrain.data.download import RemoteFile, fetch, read_bytes, read_csv
from alttrain.data.splits import check_choice
from alttrain.errors import UserError

COLUMNS = ["date", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
_RAW = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
VARIANTS = {
    "ettm2": dict(
        file=RemoteFile("ETTm2.csv", (_RAW + "ETTm2.csv",), md5="7687e47825335860bf58bccb31be0c56",
                        provenance="darts 0.x dataset registry (darts/datasets/__init__.py, ETTm2Dataset)"),
        rows_per_day=96, freq="t", label="ETTm2 (ETDataset, 15-minute)"),
    "etth2": dict(
        file=RemoteFile("ETTh2.csv", (_RAW + "ETTh2.csv",), md5="51a229a3fc13579dd939364fefe9c7ab",
                        sha256="a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
                        provenance="md5: darts dataset registry (ETTh2Dataset); sha256: computed from a copy "
                                   "with that md5"),
        rows_per_day=24, freq="h", label="ETTh2 (ETDataset, hourly)"),
}
TIME_FEATURES = {"t": ["minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"],
                 "h": ["hour_of_day", "day_of_week", "day_of_month", "day_of_year"]}


def time_features(dates: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Autoformer "timeF" features (rows, F) in [-0.5, 0.5] for ``freq`` ``t`` (F = 5) or ``h`` (F = 4)."""
    values = {
        "minute_of_hour": dates.minute / 59.0 - 0.5,
        "hour_of_day": dates.hour / 23.0 - 0.5,
        "day_of_week": dates.dayofweek / 6.0 - 0.5,
        "day_of_month": (dates.day - 1) / 30.0 - 0.5,
        "day_of_year": (dates.dayofyear - 1) / 365.0 - 0.5,
    }
    return np.stack([np.asarray(values[name], dtype=np.float64) for name in TIME_FEATURES[freq]], axis=1)


def borders(rows_per_day: int, seq_len: int) -> list[tuple[int, int]]:
    """(start, end) rows of train / val / test: 12 / 4 / 4 months of 30 days; val/test start seq_len early."""
    month = 30 * rows_per_day
    ends = [12 * month, 16 * month, 20 * month]
    return [(0, ends[0]), (ends[0] - seq_len, ends[1]), (ends[1] - seq_len, ends[2])]


def _windows(series: torch.Tensor, offset: int, length: int, count: int, step: int) -> torch.Tensor:
    """View (count, length, C) of windows ``series[offset + k*step : offset + k*step + length]``; no copy."""
    return series[offset:].unfold(0, length, 1)[::step][:count].transpose(1, 2)


class WindowSplit(Split):
    """Sliding windows over one split's rows; ``take`` builds the Autoformer inputs for a batch."""

    def __init__(self, series: torch.Tensor, marks: torch.Tensor, seq_len: int, label_len: int, pred_len: int,
                 targets: slice, max_windows: int | None = None) -> None:
        total = len(series) - seq_len - pred_len + 1
        if total < 1:
            raise UserError(f"ETT split of {len(series)} rows is too short for seq_len {seq_len} + pred_len "
                            f"{pred_len}")
        count = total if max_windows is None else min(total, max_windows)
        step = max(1, total // count)  # spread a reduced set of windows evenly over the split
        self.series, self.marks, self.targets, self.max_windows = series, marks, targets, max_windows
        self.seq_len, self.label_len, self.pred_len, self.step = seq_len, label_len, pred_len, step
        x = (_windows(series, 0, seq_len, count, step),  # (N, seq_len, C)
             _windows(marks, 0, seq_len, count, step),  # (N, seq_len, F)
             _windows(series, seq_len - label_len, label_len, count, step),  # (N, label_len, C): known rows
             _windows(marks, seq_len - label_len, label_len + pred_len, count, step))  # (N, label+pred, F)
        y = _windows(series[:, targets], seq_len, pred_len, count, step)  # (N, pred_len, C_out)
        super().__init__(x, y)

    def take(self, index: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        enc, mark_enc, known, mark_dec = self.x
        future = known.new_zeros(len(index), self.pred_len, known.shape[2])  # the decoder sees zeros ahead
        x_dec = torch.cat([known[index], future], dim=1)  # (B, label_len + pred_len, C)
        return (enc[index], mark_enc[index], x_dec, mark_dec[index]), self.y[index]

    def to(self, device: torch.device) -> WindowSplit:
        return WindowSplit(self.series.to(device), self.marks.to(device), self.seq_len, self.label_len,
                           self.pred_len, self.targets, self.max_windows)


def read_ett(name: str, root: Path, search_paths: tuple[Path, ...], download: bool, verify: bool
             ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ETT CSV as a frame (dates parsed, 7 numeric columns) and the source facts."""
    remote: RemoteFile = VARIANTS[name]["file"]
    path, facts = fetch(remote, dataset=name, root=root, search_paths=search_paths, subdirs=("ett",),
                        allow_download=download, check=verify, other_names=(remote.name + ".gz",),
                        offline_hint="ETTm2 has no offline route." if name == "ettm2" else "")
    frame = read_csv(read_bytes(path), str(path), COLUMNS, numeric=COLUMNS[1:])
    dates = pd.to_datetime(frame["date"], errors="coerce", format="%Y-%m-%d %H:%M:%S")
    if dates.isna().any():
        raise UserError(f"{path}: dates in rows {np.flatnonzero(dates.isna())[:5].tolist()} are not "
                        "'YYYY-MM-DD HH:MM:SS'; replace the file with the original")
    frame["date"] = dates
    return frame, facts


def load_ett(
    name: str, *, root: Path, search_paths: tuple[Path, ...], seq_len: int, label_len: int, pred_len: int,
    features: str, freq: str | None, max_windows: int | None, download: bool, verify: bool,
) -> DataSplits:
    """Shared loader of ``ettm2`` / ``etth2`` (see the module docstring)."""
    check_choice(name, "features", features, ("M", "S", "MS"))
    variant = VARIANTS[name]
    freq = freq or variant["freq"]
    check_choice(name, "freq", freq, tuple(TIME_FEATURES))
    if not 0 <= label_len <= seq_len or pred_len < 1:
        raise UserError(f"{name}: need 0 <= label_len ({label_len}) <= seq_len ({seq_len}) and pred_len >= 1")
    frame, facts = read_ett(name, root, search_paths, download, verify)
    parts = borders(variant["rows_per_day"], seq_len)
    if len(frame) < parts[2][1]:
        raise UserError(f"{facts['file']} has {len(frame)} rows; the standard ETT split needs {parts[2][1]}")
    columns = COLUMNS[1:] if features in ("M", "MS") else ["OT"]
    values = frame[columns].to_numpy(np.float64)  # (rows, C)
    train_rows = values[parts[0][0]:parts[0][1]]
    mean, std = train_rows.mean(axis=0), train_rows.std(axis=0)  # sklearn StandardScaler: ddof = 0
    series = torch.from_numpy((values - mean) / std).float()
    marks = torch.from_numpy(time_features(pd.DatetimeIndex(frame["date"]), freq)).float()
    targets = slice(-1, None) if features == "MS" else slice(None)
    splits = [WindowSplit(series[a:b], marks[a:b], seq_len, label_len, pred_len, targets, max_windows)
              for a, b in parts]
    return DataSplits(
        name=name, description=f"{variant['label']}, {seq_len} -> {pred_len} steps", task="regression",
        num_outputs=len(columns) if features != "MS" else 1, input_shape=(seq_len, len(columns)),
        train=splits[0], val=splits[1], test=splits[2],
        info={"mean": mean.tolist(), "std": std.tolist(), "columns": columns, "features": features,
              "freq": freq, "time_features": TIME_FEATURES[freq], "borders": parts, "seq_len": seq_len,
              "label_len": label_len, "pred_len": pred_len, "windows": [len(s) for s in splits],
              "max_windows": max_windows,
              "files": [facts]},
    )


def _register(name: str) -> None:
    def loader(
        *, root: Path, search_paths: tuple[Path, ...] = (), seq_len: int = 96, label_len: int = 48,
        pred_len: int = 192, features: str = "M", freq: str | None = None, max_windows: int | None = None,
        download: bool = True, verify: bool = True,
    ) -> DataSplits:
        return load_ett(name, root=root, search_paths=search_paths, seq_len=seq_len, label_len=label_len,
                        pred_len=pred_len, features=features, freq=freq, max_windows=max_windows,
                        download=download, verify=verify)

    loader.__name__ = f"load_{name}"
    loader.__doc__ = f"""{VARIANTS[name]['label']} Autoformer windows.

    Args:
        seq_len, label_len, pred_len: encoder length, known decoder rows, horizon (OIALR: 96, 48, 192 or 720).
        features: ``M`` (7 -> 7), ``S`` (OT -> OT) or ``MS`` (7 -> OT).
        freq: time-feature frequency (default ``{VARIANTS[name]['freq']}``).
        max_windows: at most this many windows per split, evenly spread (small CPU runs); ``None`` = all.
        download: download the CSV when absent; verify: check its checksum.
    """
    register_dataset(name)(loader)


for _name in VARIANTS:
    _register(_name)
