"""ETT windows for the Autoformer: synthetic CSVs in ETDataset's format, and the vendored real ETTh2 file."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from alttrain.data import load_dataset
from alttrain.errors import UserError

VENDORED_ETTH2 = Path(__file__).resolve().parents[1] / "resources" / "ETTh2.csv.gz"  # see resources/README.md
HEADER = "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"
SMALL = {"verify": False, "download": False}


def _values(rows: int) -> np.ndarray:
    """Row r, column j holds 10 r + j + a small wiggle, so windows can be traced back to their rows."""
    r = np.arange(rows)[:, None]
    return 10.0 * r + np.arange(7) + 0.5 * np.sin(r)


def _write_ett(path: Path, rows: int, minutes: int) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    dates = pd.date_range("2016-07-01", periods=rows, freq=f"{minutes}min").strftime("%Y-%m-%d %H:%M:%S")
    values = _values(rows)
    rows = zip(dates, values, strict=True)
    lines = [HEADER] + [d + "," + ",".join(f"{v:.6f}" for v in row) for d, row in rows]
    path.write_text("\n".join(lines) + "\n")
    return np.round(values, 6)


@pytest.fixture(scope="module")
def etth(tmp_path_factory):
    root = tmp_path_factory.mktemp("etth")
    values = _write_ett(root / "ett" / "ETTh2.csv", 14400, 60)  # exactly the 20 months the split needs
    return root, values


def test_etth_window_counts_contents_and_standardisation(etth):
    root, values = etth
    data = load_dataset({"name": "etth2", "pred_len": 192, **SMALL}, root=root)
    # windows = rows - seq_len - pred_len + 1 with rows 8640 (train) and 2880 + 96 (val, test)
    assert [len(data.train), len(data.val), len(data.test)] == [8353, 2689, 2689]
    mean, std = values[:8640].mean(axis=0), values[:8640].std(axis=0)
    np.testing.assert_allclose(data.info["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(data.info["std"], std, rtol=1e-12)
    (x_enc, x_mark_enc, x_dec, x_mark_dec), y = data.train.take(torch.tensor([0, 100]))
    assert x_enc.shape == (2, 96, 7) and x_mark_enc.shape == (2, 96, 4)
    assert x_dec.shape == (2, 240, 7) and x_mark_dec.shape == (2, 240, 4) and y.shape == (2, 192, 7)
    scaled = (values - mean) / std  # what every window must show, row for row
    np.testing.assert_allclose(x_enc[1].numpy(), scaled[100:196], atol=1e-5)
    np.testing.assert_allclose(y[1].numpy(), scaled[196:388], atol=1e-5)
    np.testing.assert_allclose(x_dec[1, :48].numpy(), scaled[148:196], atol=1e-5)
    assert (x_dec[:, 48:] == 0).all()  # the decoder sees zeros where the forecast goes
    (v_enc, *_), _ = data.val.take(torch.tensor([0]))
    np.testing.assert_allclose(v_enc[0].numpy(), scaled[8640 - 96:8640], atol=1e-5)  # starts seq_len early
    _, t_y = data.test.take(torch.tensor([len(data.test) - 1]))
    np.testing.assert_allclose(t_y[0, -1].numpy(), scaled[14399], atol=1e-5)  # test ends at row 14,400


def test_time_features_follow_the_autoformer_definition(etth):
    root, _ = etth
    data = load_dataset({"name": "etth2", **SMALL}, root=root)
    (_, marks, _, _), _ = data.train.take(torch.tensor([0]))
    stamp = dt.datetime(2016, 7, 1, 5)  # row 5 of the file
    expected = [stamp.hour / 23 - 0.5, stamp.weekday() / 6 - 0.5, (stamp.day - 1) / 30 - 0.5,
                (stamp.timetuple().tm_yday - 1) / 365 - 0.5]
    np.testing.assert_allclose(marks[0, 5].numpy(), expected, atol=1e-6)
    assert marks.min() >= -0.5 and marks.max() <= 0.5
    assert data.info["time_features"] == ["hour_of_day", "day_of_week", "day_of_month", "day_of_year"]


def test_windows_are_views_and_reduced_sets_spread_evenly(etth):
    root, values = etth
    data = load_dataset({"name": "etth2", "max_windows": 100, **SMALL}, root=root)
    assert [len(data.train), len(data.val), len(data.test)] == [100, 100, 100]
    storage = data.train.series.untyped_storage().data_ptr()
    for part in (*data.train.x, data.train.y):
        assert part.untyped_storage().data_ptr() == storage or part.untyped_storage().data_ptr() == \
            data.train.marks.untyped_storage().data_ptr()
    (x_enc, *_), _ = data.train.take(torch.tensor([0, 1, 99]))
    first = x_enc[:, 0, 0].double().numpy() * data.info["std"][0] + data.info["mean"][0]  # 10 r + wiggle
    starts = np.round(first / 10)
    step = 8353 // 100
    assert starts.tolist() == [0, step, 99 * step]
    moved = data.train.to(torch.device("cpu"))
    assert len(moved) == 100 and moved.take(torch.tensor([3]))[0][2].shape == (1, 240, 7)


def test_univariate_feature_modes(etth):
    root, _ = etth
    ms = load_dataset({"name": "etth2", "features": "MS", **SMALL}, root=root)
    (x_enc, _, x_dec, _), y = ms.train.take(torch.tensor([0]))
    assert x_enc.shape[-1] == 7 and x_dec.shape[-1] == 7 and y.shape == (1, 192, 1) and ms.num_outputs == 1
    assert torch.equal(y[0, :, 0], ms.train.take(torch.tensor([0]))[1][0, :, 0])
    s = load_dataset({"name": "etth2", "features": "S", **SMALL}, root=root)
    (x_enc, _, _, _), y = s.train.take(torch.tensor([0]))
    assert x_enc.shape[-1] == 1 and y.shape == (1, 192, 1) and s.info["columns"] == ["OT"]


def test_ettm_window_counts_match_the_oialr_spec(tmp_path):
    _write_ett(tmp_path / "ETTm2.csv", 57600, 15)
    for pred_len, train, val in ((192, 34273, 11329), (720, 33745, 10801)):
        data = load_dataset({"name": "ettm2", "pred_len": pred_len, **SMALL}, root=tmp_path)
        assert [len(data.train), len(data.val), len(data.test)] == [train, val, val]
    (_, marks, _, _), _ = data.train.take(torch.tensor([0]))
    assert marks.shape[-1] == 5
    np.testing.assert_allclose(marks[0, 1, 0].item(), 15 / 59 - 0.5, atol=1e-6)  # row 1 = 00:15


def test_ett_file_faults(tmp_path):
    with pytest.raises(UserError, match="no offline route") as err:
        load_dataset({"name": "ettm2", "download": False}, root=tmp_path)
    assert "raw.githubusercontent.com/zhouhaoyi/ETDataset" in str(err.value)
    path = tmp_path / "ETTh2.csv"
    _write_ett(path, 14400, 60)
    with pytest.raises(UserError) as err:
        load_dataset({"name": "etth2", "download": False}, root=tmp_path)  # verify on: not the official file
    assert "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b" in str(err.value)
    assert hashlib.sha256(path.read_bytes()).hexdigest() in str(err.value)
    text = path.read_text()
    path.write_text(text.replace("OT", "Oil", 1))
    with pytest.raises(UserError, match="header"):
        load_dataset({"name": "etth2", **SMALL}, root=tmp_path)
    lines = text.split("\n")
    lines[5] = lines[5].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(lines))
    with pytest.raises(UserError, match="data rows 4"):
        load_dataset({"name": "etth2", **SMALL}, root=tmp_path)
    path.write_text("\n".join(text.split("\n")[:10000]) + "\n")
    with pytest.raises(UserError, match="needs 14400"):
        load_dataset({"name": "etth2", **SMALL}, root=tmp_path)
    path.unlink()
    (tmp_path / "ETTh2.csv.gz").write_bytes(gzip.compress(text.encode())[:-50])
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_dataset({"name": "etth2", **SMALL}, root=tmp_path)


def test_real_etth2_windows():
    for pred_len, counts in ((192, [8353, 2689, 2689]), (720, [7825, 2161, 2161])):
        data = load_dataset({"name": "etth2", "pred_len": pred_len, "download": False},
                            root=Path("/nonexistent"), search_paths=(VENDORED_ETTH2.parent,))
        assert [len(data.train), len(data.val), len(data.test)] == counts
    assert data.info["files"][0]["verified"] is True
    raw = pd.read_csv(VENDORED_ETTH2)
    np.testing.assert_allclose(data.info["mean"], raw.iloc[:8640, 1:].mean().to_numpy(), rtol=1e-12)
    _, y = data.val.take(torch.tensor([0]))
    expected = (raw.iloc[8640:8640 + 720, 1:].to_numpy() - data.info["mean"]) / data.info["std"]
    np.testing.assert_allclose(y[0].numpy(), expected, atol=1e-5)
