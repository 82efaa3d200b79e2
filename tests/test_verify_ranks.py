"""The rank rule for single-draw references, the rank-calibration test, diverged seeds, and results kept apart
from configuration and sanity checks (verification issue: calibrated comparisons)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alttrain.verification.checks import evaluate_claim, evaluate_entry
from alttrain.verification.ranks import band, calibration, min_values, randomized_rank, rank_test
from alttrain.verification.report import calibrations, counts, render_summary

# ------------------------------------------------------------------------------------------------ the band


@pytest.mark.parametrize(
    ("n", "alpha", "expected"),
    [
        (20, 0.1, (1, 19, 2 / 21)),  # the cpu scale: the smallest two-sided level with 20 seeds is 9.5 %
        (20, 0.05, (0, 20, 0.0)),  # 5 % is not achievable with 20 seeds: nothing can fail
        (199, 0.01, (1, 198, 0.01)),
        (41, 0.1, (2, 39, 4 / 42)),
    ],
)
def test_band_and_achieved_level(n, alpha, expected):
    low, high, achieved = band(n, alpha)
    assert (low, high) == expected[:2] and achieved == pytest.approx(expected[2])


def test_min_values_is_the_smallest_n_with_a_band():
    for alpha in (0.1, 0.05, 0.01):
        need = min_values(alpha)
        assert band(need, alpha)[0] == 1 and band(need - 1, alpha)[0] == 0


def test_false_alarm_rate_under_h0_matches_the_stated_level():
    """Reference and 20 seeds from one continuous distribution: the cell fails at rate 2/21."""
    rng = np.random.default_rng(0)
    trials = 20000
    draws = rng.standard_normal((trials, 21))
    failed = sum(not rank_test(row[1:], row[0], 0.1).passed for row in draws)
    se = math.sqrt(2 / 21 * 19 / 21 / trials)
    assert abs(failed / trials - 2 / 21) < 4 * se


# -------------------------------------------------------------------------------------- ranks, ties, diverged

VALUES = np.arange(1.0, 21.0)  # 1..20


@pytest.mark.parametrize(
    ("values", "reference", "below", "ties", "passed"),
    [
        (VALUES, 0.5, 0, 0, False),  # better than every seed
        (VALUES, 10.5, 10, 0, True),
        (VALUES, 25.0, 20, 0, False),  # worse than every seed
        (VALUES, 1.5, 1, 0, True),  # rank 1 is inside [1, 19]
        (np.r_[VALUES[:17], [np.nan, np.inf, np.nan]], 100.0, 17, 0, True),  # diverged seeds rank worst
        (np.full(20, np.nan), 3.0, 0, 0, False),  # all diverged, finite reference
        (np.full(20, np.nan), np.nan, 0, 20, True),  # the reference diverged too: ties
        (np.zeros(20), 0.0, 0, 20, True),  # all at the minimum: ties, any rank
        (np.zeros(20), 1e-12, 0, 20, True),  # float round-off of a converged run is a tie
        (np.zeros(20), 1e-6, 20, 0, False),  # not round-off: worse than every seed
        (np.r_[np.zeros(19), [5.0]], 0.0, 0, 19, True),
    ],
)
def test_rank_test_by_hand(values, reference, below, ties, passed):
    result = rank_test(values, reference, 0.1)
    assert (result.below, result.ties, result.passed) == (below, ties, passed)
    assert result.n == 20 and result.diverged == int(np.sum(~np.isfinite(values)))


def test_randomized_rank_is_reproducible_and_breaks_ties_uniformly():
    assert randomized_rank(3, 5, 20, "some/id") == randomized_rank(3, 5, 20, "some/id")
    ranks = [randomized_rank(0, 20, 20, f"id{i}")[0] for i in range(21000)]
    counts_ = np.bincount(ranks, minlength=21)
    assert counts_.min() > 850 and counts_.max() < 1150  # 1000 expected each; sd about 31
    pits = [randomized_rank(4, 0, 20, f"x{i}")[1] for i in range(200)]
    assert all(4 / 21 <= u < 5 / 21 for u in pits)


def test_calibration_ks_statistic_by_hand_and_its_power():
    statistic, _ = calibration([0.1, 0.2, 0.9])
    # D = max over sorted u_i of i/n - u_i and u_i - (i-1)/n: 2/3 - 0.2 = 0.4667
    assert statistic == pytest.approx(2 / 3 - 0.2)
    uniform = (np.arange(100) + 0.5) / 100
    assert calibration(uniform)[1] > 0.99
    assert calibration(uniform * 0.7)[1] < 1e-6  # every reference a little too good


# ---------------------------------------------------------------------------------------- entries, claims

ENTRY = {
    "id": "fg_ref/x/n4/frog_k2/search_final_value", "version": "v1", "artifact": "fg_tab_lrs_math",
    "row": "r", "column": "c", "value": 10.5, "source": "authors' code", "experiment": "closed_form_sphere",
    "select": {"n": 4}, "metric": "final_value_search", "comparable_scales": ["cpu"],
    "tolerance": {"rank": 0.1}, "gap_to": "f_min",
}


def seeds(values, f_min=-2.0, diverged=None) -> pd.DataFrame:
    frame = pd.DataFrame({"n": 4, "seed": range(len(values)), "final_value_search": values, "f_min": f_min})
    frame["diverged"] = diverged if diverged is not None else [not math.isfinite(v) for v in values]
    return frame.assign(scale="cpu", dataset="closed-form")


def test_rank_entry_pass_fail_gap_and_distribution():
    result = evaluate_entry(ENTRY, seeds(VALUES), "cpu")
    assert result["status"] == "pass" and result["rank"] == 10 and result["band"] == [1, 19]
    assert result["published_gap"] == 12.5 and result["min"] == 3.0 and result["max"] == 22.0
    assert result["median"] == 12.5 and result["n"] == 20 and result["n_diverged"] == 0
    low = evaluate_entry({**ENTRY, "value": 0.5}, seeds(VALUES), "cpu")
    assert low["status"] == "fail" and low["rank"] == 0


def test_rank_entry_counts_diverged_seeds_and_fails_when_all_diverged():
    some = evaluate_entry({**ENTRY, "value": 30.0}, seeds(np.r_[VALUES[:18], [np.nan, np.nan]]), "cpu")
    assert some["n"] == 20 and some["n_diverged"] == 2 and some["status"] == "pass"  # rank 18
    assert "2/20 seeds diverged" in some["detail"] and some["median"] == 12.5  # (10 + 11) / 2 + 2
    every = evaluate_entry(ENTRY, seeds([np.nan] * 20), "cpu")
    assert every["status"] == "fail" and every["detail"].startswith("diverged (all 20 seeds)")


def test_rank_entry_with_too_few_seeds_is_not_comparable():
    result = evaluate_entry(ENTRY, seeds(VALUES[:5]), "cpu")
    assert result["status"] == "not comparable at this scale" and "needs >= 19" in result["detail"]


def test_difference_entry_fails_as_diverged_and_counts_partial_divergence():
    entry = {**ENTRY, "tolerance": {"abs": 1.0}, "value": 2.0}
    entry.pop("gap_to")
    every = evaluate_entry(entry, seeds([np.nan, np.nan]), "cpu")
    assert every["status"] == "fail" and every["detail"] == "diverged (all 2 seeds)"
    some = evaluate_entry(entry, seeds([2.5, np.nan]), "cpu")
    assert some["status"] == "pass" and some["n"] == 2 and "1/2 seeds diverged" in some["detail"]


def _claim(check, **extra):
    return {"id": "c", "sentence": "s", "source": "x", "scales": ["cpu"], "experiment": "e", "check": check,
            **extra}


def test_strict_claim_fails_on_a_tie_and_diverged_seeds_count_as_worst():
    frame = pd.DataFrame({"approach": ["frog", "frog", "mean", "mean"], "v": [1.0, 1.0, 1.0, 1.0]})
    check = {"kind": "at_least", "by": "approach", "better": "frog", "worse": "mean", "metric": "v",
             "higher_is_better": False}
    assert evaluate_claim(_claim(check), frame, "cpu")["status"] == "pass"
    assert evaluate_claim(_claim({**check, "strict": True}), frame, "cpu")["status"] == "fail"
    diverged = frame.assign(v=[1.0, 1.0, np.nan, np.nan], status=["completed"] * 2 + ["diverged"] * 2)
    assert evaluate_claim(_claim({**check, "strict": True}), diverged, "cpu")["status"] == "pass"
    frog_diverged = frame.assign(v=[np.nan, np.nan, 1.0, 1.0], status=["diverged"] * 2 + ["completed"] * 2)
    assert evaluate_claim(_claim(check), frog_diverged, "cpu")["status"] == "fail"


def test_headline_counts_only_results_and_calibration_flags_a_small_bias():
    rng = np.random.default_rng(1)
    entries, claims = [], []
    for i in range(40):
        values = rng.standard_normal(20)
        # each reference a little better than a fresh draw: never a cell failure, but a skewed rank histogram
        reference = float(np.sort(values)[rng.integers(1, 5)]) - 1e-3
        result = evaluate_entry({**ENTRY, "id": f"ref{i}", "value": reference}, seeds(values), "cpu")
        entries.append({**ENTRY, "id": f"ref{i}", "paper": "fg", **result})
    entries.append({**ENTRY, "id": "lr", "paper": "fg", "kind": "configuration", "status": "pass"})
    claims.append({"paper": "fg", "id": "s", "kind": "sanity", "status": "pass", "check": {}})
    report = {"scale": "cpu", "papers": {"fg": {}}, "entries": entries, "claims": claims}
    report["calibration"] = calibrations(entries)
    report["counts"] = counts(report)
    tally = report["counts"]["fg"]
    assert sum(tally["entries"].values()) == 40 and tally["configuration"]["pass"] == 1
    assert sum(tally["claims"].values()) == 0 and tally["sanity"]["pass"] == 1
    assert all(e["status"] == "pass" for e in entries[:40])  # no single cell shows the bias
    (record,) = report["calibration"]
    assert record["status"] == "fail" and record["p_value"] < 0.01 and record["references"] == 40
    assert "calibration closed_form_sphere/final_value_search: KS p =" in render_summary(report)


def test_a_seed_without_value_that_did_not_diverge_is_a_lost_result():
    frame = seeds(VALUES, diverged=[False] * 20)
    frame.loc[3, "final_value_search"] = np.nan  # NaN, but no divergence recorded
    result = evaluate_entry(ENTRY, frame, "cpu")
    assert result["status"] == "fail" and result["n_lost"] == 1
    assert "1/20 seeds have no value and did not diverge" in result["detail"]


def test_a_configuration_entry_reads_its_setting_also_from_diverged_runs():
    entry = {**ENTRY, "kind": "configuration", "metric": "lr", "value": 0.5, "tolerance": {"rel": 1e-9}}
    entry.pop("gap_to")
    frame = seeds([np.nan] * 3).assign(lr=0.5)  # every seed diverged, at the configured step size
    result = evaluate_entry(entry, frame, "cpu")
    assert result["status"] == "pass" and result["n_diverged"] == 0
