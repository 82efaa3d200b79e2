"""Claim checks (monotone, ordering, at_least, threshold) on hand-made CSVs, and the claim statuses."""

from __future__ import annotations

import pandas as pd
import pytest

from alttrain.verification.checks import evaluate_claim
from test_verify_statuses import published, report_for


def claim(check: dict, **overrides) -> dict:
    base = {
        "id": "fg_claim_test",
        "sentence": "made-up claim for a test",
        "source": "test",
        "scales": ["cpu"],
        "experiment": "study",
        "check": check,
    }
    base.update(overrides)
    return base


def frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(columns))
    return table.assign(dataset="synthetic", scale="cpu")


def status(check: dict, table: pd.DataFrame, scale: str = "cpu", **overrides) -> dict:
    return evaluate_claim(claim(check, **overrides), table, scale)


# k = 2, 4, 16, two seeds each; means 0.1, 0.2, 0.3: increasing in k, not in the text order "16" < "2"
TANGENTS = frame(
    [(2, 0, 0.05), (2, 1, 0.15), (4, 0, 0.2), (4, 1, 0.2), (16, 0, 0.3), (16, 1, 0.3)],
    ("k", "seed", "cosine"),
)


def test_monotone_increasing_uses_seed_means_and_numeric_order():
    result = status({"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"}, TANGENTS)
    assert result["status"] == "pass"
    assert "2:0.1 -> 4:0.2 -> 16:0.3" in result["detail"]


def test_monotone_decreasing_fails_on_an_increasing_series():
    result = status({"kind": "monotone", "x": "k", "y": "cosine", "direction": "decreasing"}, TANGENTS)
    assert result["status"] == "fail"


def test_monotone_violation_and_slack():
    dip = frame([(1, 0.1), (2, 0.3), (4, 0.2)], ("k", "cosine"))  # one step down by 0.1
    check = {"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"}
    assert status(check, dip)["status"] == "fail"
    assert "worst step 2->4" in status(check, dip)["detail"]
    assert status({**check, "slack": 0.1 + 1e-9}, dip)["status"] == "pass"
    assert status({**check, "slack": 0.09}, dip)["status"] == "fail"


def test_monotone_must_hold_in_every_group():
    table = frame([(1, 1, 0.1), (1, 2, 0.2), (2, 1, 0.5), (2, 2, 0.4)], ("n", "k", "cosine"))
    result = status(
        {"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing", "group_by": ["n"]}, table
    )
    assert result["status"] == "fail"
    assert "[n=2]" in result["detail"] and "[n=1]" not in result["detail"]  # only the failing group is shown
    assert [g["ok"] for g in result["groups"]] == [True, False]


def test_monotone_with_one_x_value_is_not_run():
    table = frame([(4, 0.2), (4, 0.3)], ("k", "cosine"))
    result = status({"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"}, table)
    assert result["status"] == "not run" and "fewer than 2" in result["detail"]


ACCURACY = frame([("bp", 95.0), ("frog", 90.0), ("fg", 80.0), ("bp", 97.0)], ("approach", "acc"))


@pytest.mark.parametrize(
    ("order", "higher", "slack", "expected"),
    [
        (["bp", "frog", "fg"], True, 0.0, "pass"),  # means 96 > 90 > 80
        (["bp", "fg", "frog"], True, 0.0, "fail"),
        (["fg", "frog", "bp"], False, 0.0, "pass"),  # lower is better: 80 < 90 < 96
        (["frog", "bp"], True, 6.0, "pass"),  # 90 >= 96 - 6
        (["frog", "bp"], True, 5.9, "fail"),
    ],
)
def test_ordering(order, higher, slack, expected):
    check = {
        "kind": "ordering",
        "by": "approach",
        "metric": "acc",
        "order": order,
        "higher_is_better": higher,
        "slack": slack,
    }
    assert status(check, ACCURACY)["status"] == expected


def test_ordering_skips_absent_levels_and_says_so():
    check = {"kind": "ordering", "by": "approach", "metric": "acc", "order": ["bp", "sum", "fg"]}
    result = status(check, ACCURACY)
    assert result["status"] == "pass" and "absent: sum" in result["detail"]
    only_one = {"kind": "ordering", "by": "approach", "metric": "acc", "order": ["bp", "sum"]}
    assert status(only_one, ACCURACY)["status"] == "not run"


COSINES = frame(
    [(64, "frog", 0.9), (64, "mean", 0.8), (1024, "frog", 0.5), (1024, "mean", 0.45)],
    ("n", "combination", "cosine"),
)


@pytest.mark.parametrize(
    ("margin", "expected"),
    [
        (0.0, "pass"),
        (0.05, "pass"),  # 0.9 - 0.8 = 0.1 and 0.5 - 0.45 = 0.05: both >= 0.05
        (0.06, "fail"),  # the n = 1024 group misses it
        (-0.2, "pass"),  # a negative margin tolerates a deficit
    ],
)
def test_at_least(margin, expected):
    check = {
        "kind": "at_least",
        "by": "combination",
        "better": "frog",
        "worse": "mean",
        "metric": "cosine",
        "margin": margin,
        "group_by": ["n"],
    }
    assert status(check, COSINES)["status"] == expected


def test_at_least_needs_both_levels():
    check = {"kind": "at_least", "by": "combination", "better": "frog", "worse": "sum", "metric": "cosine"}
    assert status(check, COSINES)["status"] == "not run"


def test_at_least_lower_is_better_passes_when_smaller():
    table = frame([("f3", 0.4), ("drtp", 0.6)], ("approach", "mse"))
    check = {
        "kind": "at_least",
        "by": "approach",
        "better": "f3",
        "worse": "drtp",
        "metric": "mse",
        "higher_is_better": False,
        "margin": 0.15,
    }
    assert status(check, table)["status"] == "pass"  # 0.4 <= 0.6 - 0.15
    assert status({**check, "margin": 0.25}, table)["status"] == "fail"


@pytest.mark.parametrize(
    ("reduce", "op", "value", "expected"),
    [
        ("min", "<=", 50.0, "pass"),  # min(30, 60) = 30
        ("mean", ">", 50.0, "fail"),  # mean = 45
        ("max", ">=", 60.0, "pass"),
        ("mean", "==", 45.0, "pass"),
        ("median", "<", 45.0, "fail"),
    ],
)
def test_threshold(reduce, op, value, expected):
    table = frame([(30.0,), (60.0,)], ("trainable_pct",))
    check = {"kind": "threshold", "metric": "trainable_pct", "reduce": reduce, "op": op, "value": value}
    assert status(check, table)["status"] == expected


def test_threshold_per_group():
    table = frame([("a", 10.0), ("b", 70.0)], ("model", "trainable_pct"))
    check = {"kind": "threshold", "metric": "trainable_pct", "op": "<", "value": 50.0, "group_by": ["model"]}
    result = status(check, table)
    assert result["status"] == "fail" and "[model=b]" in result["detail"]


CHECK = {"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"}


def test_not_applicable_at_this_scale_still_tells_the_outcome():
    result = status(CHECK, TANGENTS, scales=["paper"])
    assert result["status"] == "not applicable at this scale"
    assert "would be pass" in result["detail"]


@pytest.mark.parametrize(
    ("table", "overrides", "detail"),
    [
        (None, {}, "CSV not produced"),
        (TANGENTS, {"select": {"k": 3}}, "no CSV rows match"),
        (TANGENTS.drop(columns="cosine"), {}, "'cosine'"),
        (TANGENTS, {"group_by": ["n"]}, "'n'"),
    ],
)
def test_claim_not_run(table, overrides, detail):
    check = {**CHECK, **{k: v for k, v in overrides.items() if k == "group_by"}}
    result = evaluate_claim(
        claim(check, **{k: v for k, v in overrides.items() if k != "group_by"}), table, "cpu"
    )
    assert result["status"] == "not run" and detail in result["detail"]


def test_claims_in_a_report(tmp_path):
    claims = [
        claim(CHECK, id="c_pass"),
        claim({**CHECK, "direction": "decreasing"}, id="c_fail"),
        claim(CHECK, id="c_na", scales=["paper"]),
        claim(CHECK, id="c_nr", experiment="absent"),
    ]
    report = report_for(tmp_path, published([], claims), {"study": TANGENTS})
    assert {c["id"]: c["status"] for c in report["claims"]} == {
        "c_pass": "pass",
        "c_fail": "fail",
        "c_na": "not applicable at this scale",
        "c_nr": "not run",
    }
    assert report["claims"][0]["datasets"] == ["synthetic"] and report["claims"][0]["seeds"] == [0, 1]


def test_round_off_ties_count_as_equal_but_real_deficits_do_not():
    # frog and mean with one tangent are the same estimate; float32 arithmetic leaves ~1e-8 relative noise
    tie = frame([("frog", 0.21772779500111938), ("mean", 0.2177277965657413)], ("combination", "cosine"))
    check = {"kind": "at_least", "by": "combination", "better": "frog", "worse": "mean", "metric": "cosine"}
    assert status(check, tie)["status"] == "pass"
    deficit = frame([("frog", 0.2176), ("mean", 0.2177)], ("combination", "cosine"))
    assert status(check, deficit)["status"] == "fail"
    flat = frame([(1, 0.2177277965657413), (2, 0.21772779500111938)], ("k", "cosine"))
    monotone = {"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"}
    assert status(monotone, flat)["status"] == "pass"
