"""Entry statuses (pass, fail, not comparable, not transcribed, not run) on hand-made CSVs.

Expected values are computed by hand from the made-up CSV below (mean of 89 and 91 = 90, sample std sqrt(2)).
The helpers here are shared by the other tests/test_verify_*.py files.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alttrain.verification.checks import evaluate_entry
from alttrain.verification.report import CsvStore, build_report
from conftest import REPO

PAPERS = ("fg", "oialr", "f3")
ARXIV = {"fg": "2410.17764", "oialr": "2401.08505", "f3": "2304.13372"}


def published(entries=(), claims=(), paper: str = "fg") -> dict:
    """A complete published-numbers file (made-up test content)."""
    return {
        "paper": paper,
        "title": "Test paper",
        "arxiv": ARXIV[paper],
        "code": "none",
        "tolerance_rule": "test tolerances",
        "entries": list(entries),
        "claims": list(claims),
    }


def entry(**overrides) -> dict:
    """An entry reading ``acc`` of approach bp from ``fc.csv`` (values are made up for the tests)."""
    base = {
        "id": "fg_tab_x/bp/w256/test_acc",
        "version": "v1",
        "artifact": "fg_tab_x",
        "row": "bp",
        "column": "w256",
        "value": 90.5,
        "std": None,
        "source": "made-up test value",
        "experiment": "fc",
        "select": {"approach": "bp"},
        "metric": "acc",
        "comparable_scales": ["cpu"],
        "tolerance": {"abs": 1.0},
    }
    base.update(overrides)
    return base


def fc_frame(scale: str = "cpu") -> pd.DataFrame:
    """bp: 89 and 91 (seeds 0, 1); fg: 70 and 80; width 256 everywhere."""
    return pd.DataFrame(
        {
            "approach": ["bp", "bp", "fg", "fg"],
            "width": [256] * 4,
            "acc": [89.0, 91.0, 70.0, 80.0],
            "seed": [0, 1, 0, 1],
            "dataset": ["mnist5k"] * 4,
            "scale": [scale] * 4,
        }
    )


def write_case(tmp_path: Path, data: dict, frames: dict[str, pd.DataFrame]) -> tuple[Path, Path]:
    """Write the published file and the CSVs; return (published file, metrics dir)."""
    pub = tmp_path / "published" / f"{data['paper']}.yaml"
    pub.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the C emitter: the real files are long
    pub.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False))
    metrics = tmp_path / "metrics"
    for name, frame in frames.items():
        path = metrics / data["paper"] / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return pub, metrics


def report_for(tmp_path: Path, data: dict, frames: dict[str, pd.DataFrame], scale: str = "cpu") -> dict:
    """build_report on a hand-made case (no experiment catalog, no figure modules)."""
    pub, metrics = write_case(tmp_path, data, frames)
    return build_report(
        scale, [data["paper"]], {data["paper"]: pub}, CsvStore(metrics), known=None, with_artifacts=False
    )


def one(entry_dict: dict, frame: pd.DataFrame | None = None, scale: str = "cpu") -> dict:
    return evaluate_entry(entry_dict, fc_frame() if frame is None else frame, scale)


def test_pass_within_abs_tolerance_and_reproduced_value_is_the_seed_mean():
    result = one(entry(value=90.5))
    assert result["status"] == "pass"
    assert result["reproduced"] == pytest.approx(90.0)
    assert result["reproduced_std"] == pytest.approx(math.sqrt(2.0))
    assert result["n"] == 2 and result["seeds"] == [0, 1] and result["datasets"] == ["mnist5k"]
    assert result["difference"] == pytest.approx(-0.5)


def test_fail_outside_abs_tolerance():
    result = one(entry(value=92.0))
    assert result["status"] == "fail"
    assert result["difference"] == pytest.approx(-2.0)


def test_tolerance_bound_is_inclusive():
    assert one(entry(value=91.0))["status"] == "pass"  # |90 - 91| = 1 = tolerance


@pytest.mark.parametrize(
    ("rule", "value", "status", "size"),
    [
        ({"rel": 0.1}, 100.0, "pass", 10.0),  # |90 - 100| = 10 <= 0.1 * 100
        ({"rel": 0.05}, 100.0, "fail", 5.0),
        ({"std": 2.0}, 93.0, "fail", 2 * math.sqrt(2)),  # 3 > 2.83
        ({"std": 2.2}, 93.0, "pass", 2.2 * math.sqrt(2)),  # 3 <= 3.11
        ({"std": 1.0, "abs_floor": 5.0}, 94.0, "pass", 5.0),  # the floor wins over 1.41
    ],
)
def test_relative_and_std_tolerances(rule, value, status, size):
    result = one(entry(value=value, tolerance=rule))
    assert result["tolerance_abs"] == pytest.approx(size)
    assert result["status"] == status


def test_std_tolerance_uses_the_larger_of_published_and_reproduced_std():
    result = one(entry(value=93.5, std=2.0, tolerance={"std": 2.0}))  # 2 * max(2.0, 1.41) = 4 >= 3.5
    assert result["tolerance_abs"] == pytest.approx(4.0)
    assert result["status"] == "pass"


def test_not_comparable_at_this_scale_keeps_the_reproduced_value():
    result = one(entry(value=90.0, comparable_scales=["paper"]))
    assert result["status"] == "not comparable at this scale"
    assert result["reproduced"] == pytest.approx(90.0)


def test_the_data_scale_decides_comparability():
    result = evaluate_entry(entry(value=90.0, comparable_scales=["paper"]), fc_frame(scale="paper"), "cpu")
    assert result["scale"] == "paper" and result["status"] == "pass"


def test_not_transcribed_wins_and_still_reports_the_reproduction():
    result = one(entry(value=None))
    assert result["status"] == "not transcribed"
    assert result["reproduced"] == pytest.approx(90.0)
    assert result["tolerance_abs"] is None


@pytest.mark.parametrize(
    ("overrides", "frame", "detail"),
    [
        ({}, None, "CSV not produced"),
        ({"select": {"approach": "frog"}}, fc_frame(), "no CSV rows match"),
        ({"metric": "top1"}, fc_frame(), "'top1'"),
        ({"select": {"optimizer": "sgd"}}, fc_frame(), "'optimizer'"),
        ({}, fc_frame().assign(acc=float("nan")), "missing in every selected row"),
        ({}, pd.DataFrame(), "no rows"),
    ],
)
def test_not_run_says_why(overrides, frame, detail):
    result = evaluate_entry(entry(**overrides), frame, "cpu")
    assert result["status"] == "not run"
    assert detail in result["detail"]


@pytest.mark.parametrize(
    ("reduce", "expected"), [("mean", 90.0), ("median", 90.0), ("min", 89.0), ("max", 91.0)]
)
def test_reductions(reduce, expected):
    assert one(entry(reduce=reduce))["reproduced"] == pytest.approx(expected)


def test_select_matches_numbers_given_as_text_and_lists():
    assert one(entry(select={"approach": "bp", "width": "256"}))["n"] == 2
    both = one(entry(select={"approach": ["bp", "fg"]}))
    assert both["n"] == 4 and both["reproduced"] == pytest.approx((89 + 91 + 70 + 80) / 4)


def test_each_status_in_one_report(tmp_path):
    entries = [
        entry(id="e_pass", value=90.2),
        entry(id="e_fail", value=50.0),
        entry(id="e_nc", comparable_scales=["paper"]),
        entry(id="e_nt", value=None),
        entry(id="e_nr", experiment="missing"),
    ]
    report = report_for(tmp_path, published(entries), {"fc": fc_frame()})
    statuses = {e["id"]: e["status"] for e in report["entries"]}
    assert statuses == {
        "e_pass": "pass",
        "e_fail": "fail",
        "e_nc": "not comparable at this scale",
        "e_nt": "not transcribed",
        "e_nr": "not run",
    }
    assert report["counts"]["fg"]["entries"] == {
        "pass": 1,
        "fail": 1,
        "not comparable at this scale": 1,
        "not transcribed": 1,
        "not run": 1,
    }
    assert all(e["scale"] == "cpu" for e in report["entries"])


def _null_entry(data: dict) -> dict | None:
    for item in data.get("entries") or []:
        if item["value"] is None and item["comparable_scales"]:
            return item
    return None


@pytest.mark.parametrize("paper", PAPERS)
def test_filling_a_null_in_a_copy_of_the_real_file_is_all_it_takes(tmp_path, paper):
    """Fill a not-transcribed value of the real published file with a made-up number: it is compared."""
    text = (REPO / "paper" / "published" / f"{paper}.yaml").read_text()
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    target = _null_entry(data or {})
    if target is None:
        pytest.skip(f"paper/published/{paper}.yaml has no null entry with a comparable scale (yet)")
    scale = target["comparable_scales"][0]
    select = {k: (v[0] if isinstance(v, list) else v) for k, v in (target.get("select") or {}).items()}
    frame = pd.DataFrame(
        [
            {**select, target["metric"]: value, "seed": seed, "dataset": "made-up", "scale": scale}
            for seed, value in enumerate((0.25, 0.75))
        ]
    )
    reproduced = (
        0.5
        if target.get("reduce", "mean") in ("mean", "median")
        else {"min": 0.25, "max": 0.75}[target["reduce"]]
    )
    for made_up, expected in ((reproduced, "pass"), (reproduced + 1e6, "fail")):
        filled = copy.deepcopy(data)
        next(e for e in filled["entries"] if e["id"] == target["id"])["value"] = made_up
        report = report_for(tmp_path / expected, filled, {target["experiment"]: frame}, scale=scale)
        row = next(e for e in report["entries"] if e["id"] == target["id"])
        assert row["reproduced"] == pytest.approx(reproduced)
        assert row["status"] == expected, row


def test_with_a_csv_list_a_leftover_csv_of_another_run_is_not_read(tmp_path):
    _, metrics = write_case(tmp_path, published(), {"fc": fc_frame(), "old": fc_frame(scale="paper")})
    store = CsvStore(metrics, [metrics / "fg" / "fc.csv"])
    assert store.frame("fg", "fc") is not None and store.frame("fg", "old") is None
    assert CsvStore(metrics).frame("fg", "old") is not None  # without a list: whatever is there
    assert store.read() == [str(metrics / "fg" / "fc.csv")]


def test_artifact_provenance_counts_only_the_experiments_it_draws(tmp_path):
    """A figure of one experiment states that experiment's data set and seeds, not those of its CSV's others."""
    from alttrain.verification.report import _artifacts

    curves = pd.DataFrame({
        "experiment": ["e1_vit", "e4_autoformer_192", "e4_autoformer_720"],
        "dataset": ["images A", "series B", "series C"],
        "seed": [0, 5, 7],
        "epoch": [1, 1, 1],
    })
    (tmp_path / "oialr").mkdir()
    curves.to_csv(tmp_path / "oialr" / "collected_curves.csv", index=False)
    found = _artifacts("cpu", ["oialr"], CsvStore(tmp_path), [], tmp_path / "figures")
    assert (found["oialr_fig_autoformer_192"]["datasets"], found["oialr_fig_autoformer_192"]["seeds"]) == (
        ["series B"], [5])
    assert (found["oialr_fig_cifar_top1_perc"]["datasets"], found["oialr_fig_cifar_top1_perc"]["seeds"]) == (
        ["images A"], [0])
    assert found["oialr_fig_imagenet_top1_perc_vit"]["datasets"] == []  # not run: no rows of e2_vit_b16
