"""UCI loaders: Wine Quality (F3 unit-test anchors on the vendored data), SGEMM (split and melt on a synthetic
file of the real shape) and Census Income (small files in UCI's format)."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from sklearn.model_selection import train_test_split

from alttrain.data import load_dataset
from alttrain.data import wine_quality as wq
from alttrain.data.download import resources_dir
from alttrain.errors import UserError

FACTS = Path(__file__).resolve().parent / "reference" / "f3" / "facts.yaml"  # provenance: tests/reference/README.md
VENDORED = resources_dir() / "winequality.csv.gz"
FEATURES = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
            "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "pH", "sulphates", "alcohol"]


def _vendored_frame() -> pd.DataFrame:
    frame = pd.read_csv(VENDORED)
    frame["color"] = (frame["color"] == "white").astype(int)
    return frame


def _f3_split():
    """The F3 preprocessing written out independently: red then white, sklearn split 0.2 / random_state 1."""
    frame = _vendored_frame()
    x, y = frame[[*FEATURES, "color"]].to_numpy(float), frame["quality"].to_numpy(float)
    return train_test_split(x, y, test_size=0.2, random_state=1)


def test_module_constants_are_the_published_facts():
    wine = yaml.safe_load(FACTS.read_text())["datasets"]["wine_quality"]
    assert wq.FEATURE_MEAN == wine["feature_mean"] and wq.FEATURE_STD == wine["feature_std"]
    assert (wq.TARGET_MEAN, wq.TARGET_STD) == (wine["target_mean"], wine["target_std"])


def test_wine_constants_are_the_training_split_statistics_with_ddof_1():
    frame = _vendored_frame()
    assert (frame["color"].iloc[:1599] == 0).all() and (frame["color"].iloc[1599:] == 1).all()
    x_train, x_test, y_train, _ = _f3_split()
    assert (len(x_train), len(x_test)) == (5197, 1300)
    np.testing.assert_allclose(x_train.mean(axis=0), wq.FEATURE_MEAN, rtol=1e-12)
    np.testing.assert_allclose(x_train.std(axis=0, ddof=1), wq.FEATURE_STD, rtol=1e-12)
    assert y_train.mean() == pytest.approx(wq.TARGET_MEAN, rel=1e-12)
    assert y_train.std(ddof=1) == pytest.approx(wq.TARGET_STD, rel=1e-12)
    # ddof = 0 does not reproduce them: total sulfur dioxide differs by ~5e-3
    difference = np.abs(x_train.std(axis=0, ddof=0) - wq.FEATURE_STD)
    assert difference.max() > 1e-3 and np.argmax(difference) == FEATURES.index("total_sulfur_dioxide")


def test_wine_loader_standardises_like_the_f3_code(tmp_path):
    data = load_dataset({"name": "wine_quality"}, root=tmp_path)  # no search path: the vendored copy
    assert data.info["files"][0]["verified"] is True
    assert (len(data.train), len(data.test)) == (5197, 1300) and data.val is None
    assert data.train.x.shape == (5197, 12) and data.train.y.shape == (5197, 1)
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.float32
    x = data.train.x.double()
    assert x.mean(0).abs().max().item() < 1e-6 and (x.std(0) - 1).abs().max().item() < 1e-6
    assert abs(data.train.y.double().mean().item()) < 1e-6
    _, x_test, _, y_test = _f3_split()
    expected = (x_test - np.array(wq.FEATURE_MEAN)) / np.array(wq.FEATURE_STD)
    np.testing.assert_allclose(data.test.x.numpy(), expected, atol=1e-5)
    expected_y = (y_test - wq.TARGET_MEAN) / wq.TARGET_STD
    np.testing.assert_allclose(data.test.y.numpy()[:, 0], expected_y, atol=1e-5)
    train_stats = load_dataset({"name": "wine_quality", "standardize": "train"}, root=tmp_path)
    assert torch.allclose(train_stats.test.x, data.test.x, atol=1e-5)


def _uci_csv(frame: pd.DataFrame) -> bytes:
    out = frame[[*FEATURES, "quality"]].rename(columns=lambda c: c.replace("_", " "))
    return out.to_csv(sep=";", index=False).encode()


def test_wine_from_the_uci_archive_format(tmp_path):
    frame = pd.read_csv(VENDORED)
    folder = tmp_path / "wine_quality"
    folder.mkdir()
    with zipfile.ZipFile(folder / "wine+quality.zip", "w") as archive:
        archive.writestr("winequality-red.csv", _uci_csv(frame[frame.color == "red"]))
        archive.writestr("winequality-white.csv", _uci_csv(frame[frame.color == "white"]))
    data = load_dataset({"name": "wine_quality", "verify": False}, root=tmp_path)
    vendored = load_dataset({"name": "wine_quality"}, root=tmp_path / "elsewhere")
    assert torch.allclose(data.train.x, vendored.train.x) and torch.allclose(data.test.y, vendored.test.y)
    with pytest.raises(UserError, match=wq.UCI_ZIP.sha256):
        load_dataset({"name": "wine_quality"}, root=tmp_path)


def test_wine_file_faults(tmp_path):
    text = gzip.decompress(VENDORED.read_bytes()).decode()
    (tmp_path / "winequality.csv").write_text(text.replace("7.4,0.7,0.0", "7.4,0.7,", 1))
    with pytest.raises(UserError, match="checksum mismatch"):
        load_dataset({"name": "wine_quality"}, root=tmp_path)
    with pytest.raises(UserError, match="1 row"):
        load_dataset({"name": "wine_quality", "verify": False}, root=tmp_path)
    (tmp_path / "winequality.csv").write_text(text.replace("fixed_acidity", "acidity", 1))
    with pytest.raises(UserError, match="header"):
        load_dataset({"name": "wine_quality", "verify": False}, root=tmp_path)


# ----------------------------------------------------------------------------------------------- SGEMM

RUNS = ["Run1 (ms)", "Run2 (ms)", "Run3 (ms)", "Run4 (ms)"]
SGEMM_FEATURES = ["MWG", "NWG", "KWG", "MDIMC", "NDIMC", "MDIMA", "NDIMB", "KWI", "VWM", "VWN", "STRM",
                  "STRN", "SA", "SB"]


@pytest.fixture(scope="module")
def sgemm_root(tmp_path_factory) -> Path:
    """A zip with a 241,600-row ``sgemm_product.csv``: row r has MWG = r and run k takes 10 r + k ms."""
    root = tmp_path_factory.mktemp("sgemm")
    rows = np.arange(241600)
    table = np.zeros((len(rows), 18))
    table[:, 0] = rows
    table[:, 1:14] = 16
    table[:, 14:] = rows[:, None] * 10 + np.arange(1, 5)
    buffer = io.StringIO()
    buffer.write(",".join(SGEMM_FEATURES + RUNS) + "\n")
    np.savetxt(buffer, table, fmt="%d", delimiter=",")
    (root / "sgemm").mkdir()
    with zipfile.ZipFile(root / "sgemm" / "sgemm_product_dataset.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sgemm_product.csv", buffer.getvalue())
    return root


def test_sgemm_splits_configurations_then_melts_the_runs(sgemm_root):
    data = load_dataset({"name": "sgemm", "standardize": "none"}, root=sgemm_root)
    assert (len(data.train), len(data.test)) == (773120, 193280)
    assert data.train.x.shape == (773120, 14) and data.train.y.shape == (773120, 1)
    train_rows, test_rows = train_test_split(np.arange(241600), test_size=0.2, random_state=1)
    y = data.train.y[:, 0].double().numpy()
    row_of_sample, run_of_sample = np.floor(y / 10).astype(int), np.round(y % 10).astype(int)
    assert np.array_equal(row_of_sample[:193280], train_rows)  # run-major: Run1 of every row first
    assert (run_of_sample[:193280] == 1).all() and (run_of_sample[-193280:] == 4).all()
    assert np.array_equal(data.train.x[:, 0].double().numpy(), row_of_sample)  # features follow their runs
    assert set(np.floor(data.test.y[:, 0].double().numpy() / 10).astype(int)) == set(test_rows)


def test_sgemm_paper_standardisation_uses_the_hard_coded_constants(sgemm_root):
    from alttrain.data.sgemm import MEAN, STD

    data = load_dataset({"name": "sgemm", "max_train": 1000, "max_test": 10}, root=sgemm_root)
    assert (len(data.train), len(data.test)) == (1000, 10)
    raw = load_dataset({"name": "sgemm", "standardize": "none", "max_train": 1000, "max_test": 10},
                       root=sgemm_root)
    assert torch.allclose(data.train.x[:, 2], (raw.train.x[:, 2] - MEAN[2]) / STD[2], atol=1e-5)
    assert torch.allclose(data.train.y, (raw.train.y - MEAN[14]) / STD[14], rtol=1e-5)


def test_sgemm_offline_and_short_file_messages(tmp_path):
    with pytest.raises(UserError, match="not available offline") as err:
        load_dataset({"name": "sgemm", "download": False}, root=tmp_path)
    assert "sgemm_product_dataset.zip" in str(err.value) and "archive.ics.uci.edu" in str(err.value)
    (tmp_path / "sgemm_product.csv").write_text(",".join(SGEMM_FEATURES + RUNS) + "\n" + ",".join(["1"] * 18))
    with pytest.raises(UserError, match="1 rows, expected 241600"):
        load_dataset({"name": "sgemm", "download": False}, root=tmp_path)


# ----------------------------------------------------------------------------------------------- Census

ADULT_TRAIN = """39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K
50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, United-States, <=50K
38, Private, 215646, HS-grad, 9, Divorced, Handlers-cleaners, Not-in-family, White, Male, 0, 0, 40, ?, >50K
"""  # noqa: E501
ADULT_TEST = """|1x3 Cross validator
25, Private, 226802, HS-grad, 9, Never-married, Adm-clerical, Not-in-family, White, Male, 0, 0, 40, United-States, <=50K.
38, State-gov, 89814, HS-grad, 9, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 50, United-States, >50K.
"""  # noqa: E501


def _write_adult(folder: Path, train: str = ADULT_TRAIN, test: str = ADULT_TEST) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adult.data").write_text(train + "\n")
    (folder / "adult.test").write_text(test)


def test_census_income_per_file_codes_and_labels(tmp_path):
    _write_adult(tmp_path / "census_income")
    spec = {"name": "census_income", "download": False, "expect_full": False}
    data = load_dataset(spec, root=tmp_path)
    assert (len(data.train), len(data.test)) == (3, 2) and data.input_shape == (14,)
    assert data.train.y.tolist() == [0, 0, 1] and data.test.y.tolist() == [0, 1]
    workclass = 1  # column index in UCI order
    # per-file codes: train {Private 0, Self-emp-not-inc 1, State-gov 2}, test {Private 0, State-gov 1}
    assert data.train.x[:, workclass].tolist() == [2, 1, 0] and data.test.x[:, workclass].tolist() == [0, 1]
    assert data.train.x[0, 2].item() == 77516 and data.test.x[1, 12].item() == 50  # numeric columns untouched
    shared = load_dataset({**spec, "encoding": "shared"}, root=tmp_path)
    assert shared.test.x[:, workclass].tolist() == [0, 2]
    _write_adult(tmp_path / "census_income", test=ADULT_TEST.replace("HS-grad", "11th", 1))
    with pytest.raises(UserError, match=r"\['11th'\] of education"):
        load_dataset({**spec, "encoding": "shared"}, root=tmp_path)


def test_census_income_faults(tmp_path):
    with pytest.raises(UserError, match="not available offline") as err:
        load_dataset({"name": "census_income", "download": False}, root=tmp_path)
    assert "adult.data" in str(err.value)
    _write_adult(tmp_path / "census_income", train=ADULT_TRAIN.replace(", 2174, 0, 40", ", 2174, 0", 1))
    with pytest.raises(UserError, match="missing or non-numeric") as err:
        load_dataset({"name": "census_income", "download": False, "expect_full": False}, root=tmp_path)
    assert "adult.data" in str(err.value)
    _write_adult(tmp_path / "census_income")
    with pytest.raises(UserError, match="3 rows, expected 32561"):
        load_dataset({"name": "census_income", "download": False}, root=tmp_path)
