"""The rank rule for single-draw references, the rank-calibration test, diverged seeds, and results kept apart
from configuration and sanity checks (verification issue: calibrated comparisons)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alttrain.verification.checks import evaluate_claim, evaluate_entry
from alttrain.verification.ranks import band, calibration, min_values, null_ranks, rank_test, statistic
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


def test_null_ranks_are_the_rank_test_of_each_pooled_value_against_the_others():
    rng = np.random.default_rng(3)
    for _ in range(200):
        values = rng.choice([0.0, 1e-12, 1.0, 1.0 + 1e-8, 2.0, np.nan, np.inf], size=8)
        reference = float(rng.choice([0.0, 1.0, 5.0, np.nan]))
        pooled = np.r_[values, reference]
        table = null_ranks(values, reference)
        for j in range(len(pooled)):
            result = rank_test(np.delete(pooled, j), pooled[j], 0.1)
            assert table[j] == [result.below, result.ties]


def test_calibration_statistic_by_hand():
    # N = 3: reference A below all (interval [0, 1/4]), reference B 1 below and 2 ties (interval [1/4, 1]).
    # Mean CDF at the knots 0, 1/4, 1/2, 3/4, 1: (0 + 0) / 2, (1 + 0) / 2, (1 + 1/3) / 2, (1 + 2/3) / 2, 1;
    # minus u: 0, 1/4, 1/6, 1/12, 0.
    assert statistic([0, 1], [0, 2], [3, 3]) == pytest.approx(0.25)
    # no ties: the KS distance of the rank histogram from uniform (N = 4, ranks 0, 0, 4: at u = 1/5, 2/3 - 1/5)
    assert statistic([0, 0, 4], [0, 0, 0], [4, 4, 4]) == pytest.approx(2 / 3 - 1 / 5)
    # two N at once, the knots of both count: N = 1, interval [0, 1/2]; N = 2, interval [2/3, 1]; the largest
    # distance is at u = 2/3: (1 + 0) / 2 - 2/3
    assert statistic([0, 2], [0, 0], [1, 2]) == pytest.approx(2 / 3 - 1 / 2)


def test_calibration_p_value_by_hand():
    # N = 1, both references below our one value: D = |1 - 1/2| at u = 1/2. Null: each reference at either
    # position, D = 1/2 when both take the same one (probability 1/2), else 0; so p = 1/2.
    tables = [null_ranks([1.0], 0.0), null_ranks([3.0], 2.0)]
    result = calibration(tables, draws=20000)
    assert result.statistic == pytest.approx(0.5)
    assert abs(result.p_value - 0.5) < 4 * math.sqrt(0.25 / 20000)
    assert result.mc_error == pytest.approx(math.sqrt(0.01 * 0.99 / 20000))


def _cells(rng, m, n=20, shift=0.0, atom=0.0):
    """m cells: the reference (column 0, shifted by -shift: better) and n values from one distribution; with
    probability ``atom`` a value sits exactly at the minimum -5 (a tie shared by runs that reach it)."""
    values = rng.standard_normal((m, n + 1))
    values[:, 0] -= shift
    values = np.where(rng.random((m, n + 1)) < atom, -5.0, values)
    return [null_ranks(row[1:], row[0]) for row in values], values


@pytest.mark.parametrize("atom", [0.0, 0.6])
def test_calibration_false_alarm_rate_under_h0(atom):
    """References from our distribution (with and without heavy ties): p < 0.01 in about 1 % of data sets."""
    rng = np.random.default_rng(11)
    trials = 400
    alarms = sum(calibration(_cells(rng, 90, atom=atom)[0], draws=500, seed=k).p_value < 0.01 for k in range(trials))
    # a valid test alarms at rate <= 1 %: expected <= 4, binomial sd 2; 12 is 4 sd above
    assert alarms <= 12


def test_calibration_detects_a_small_bias_no_single_cell_shows():
    """Every reference 0.6 sd better than a fresh draw: a cell fails at rate about 14 % instead of 9.5 %, too
    little for any cell to show, but the calibration over 90 references flags it in most data sets."""
    rng = np.random.default_rng(12)
    trials, flagged, cell_failures = 60, 0, 0
    for k in range(trials):
        tables, values = _cells(rng, 90, shift=0.6)
        flagged += calibration(tables, draws=500, seed=k).p_value < 0.01
        cell_failures += sum(not rank_test(row[1:], row[0], 0.1).passed for row in values)
    assert cell_failures / (trials * 90) < 0.2
    assert flagged / trials >= 0.85  # measured power about 0.98


def test_calibration_keeps_its_power_with_heavy_ties():
    """Half the values at the minimum (ties), the rest of every reference 1 sd better: the null built from each
    cell's pooled values flags it in 73 of these 100 data sets (a null that keeps the observed tie width and
    places it anywhere is valid here but flags only 15)."""
    rng = np.random.default_rng(12)
    trials = 100
    flagged = sum(
        calibration(_cells(rng, 90, shift=1.0, atom=0.5)[0], draws=500, seed=k).p_value < 0.01 for k in range(trials)
    )
    assert flagged / trials >= 0.6


def test_calibration_with_correlated_cells_draws_one_seed_per_block():
    """Cells sharing a seed's random numbers are correlated: 9 blocks (dimensions) of 10 cells, each value = its
    seed's effect in that block plus a little noise; the reference is the authors' seed, with its own effects.
    Under H0 the shared draw per block keeps the false-alarm rate near 1 %; independent draws per cell alarm far
    more often (the spread of D is then understated)."""
    rng = np.random.default_rng(14)
    trials, shared, independent = 300, 0, 0
    blocks = [i // 10 for i in range(90)]
    for k in range(trials):
        seed_effect = rng.standard_normal((9, 21))[blocks]  # column 0: the authors' seed
        values = seed_effect + 0.3 * rng.standard_normal((90, 21))
        tables = [null_ranks(row[1:], row[0]) for row in values]
        shared += calibration(tables, blocks=blocks, draws=500, seed=k).p_value < 0.01
        independent += calibration(tables, draws=500, seed=k).p_value < 0.01
    assert shared <= 10  # expected <= 3, binomial sd 1.7
    assert independent >= 60


def test_calibration_rejects_a_block_with_two_seed_lists():
    with pytest.raises(ValueError, match="mixes N = 1 and N = 2"):
        calibration([null_ranks([1.0], 0.0), null_ranks([1.0, 2.0], 0.0)], blocks=["a", "a"], draws=10)


def test_calibration_is_deterministic_and_its_seed_moves_p_only_by_monte_carlo_error():
    """Tie-heavy data (60 % of runs at the minimum): no random tie-breaking, so the same data give the same p,
    and another simulation seed moves p by no more than the Monte Carlo error."""
    rng = np.random.default_rng(13)
    tables, _ = _cells(rng, 90, shift=0.4, atom=0.6)
    first = calibration(tables)
    assert calibration(tables) == first
    p_values = np.array([calibration(tables, seed=seed).p_value for seed in range(5)])
    error = math.sqrt(first.p_value * (1 - first.p_value) / first.draws)
    assert 0.001 < first.p_value < 0.999 and np.all(np.abs(p_values - first.p_value) < 5 * error)


# ---------------------------------------------------------------------------------------- entries, claims

ENTRY = {
    "id": "fg_ref/x/n4/frog_k2/search_final_value", "version": "v1", "artifact": "fg_tab_lrs_math",
    "row": "r", "column": "c", "value": 10.5, "source": "authors' code", "experiment": "closed_form_sphere",
    "select": {"n": 4}, "metric": "final_value_search", "comparable_scales": ["cpu"],
    "tolerance": {"rank": 0.1}, "gap_to": "f_min",
}


def seeds(values, f_min=-2.0, diverged=None, n=4) -> pd.DataFrame:
    frame = pd.DataFrame({"n": n, "seed": range(len(values)), "final_value_search": values, "f_min": f_min})
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
        # one dimension each: separate blocks of the null (report.CALIBRATION_INDEPENDENT_BY)
        entry = {**ENTRY, "id": f"ref{i}", "value": reference, "select": {"n": i}}
        entries.append({**entry, "paper": "fg", **evaluate_entry(entry, seeds(values, n=i), "cpu")})
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
    assert "calibration closed_form_sphere/final_value_search: p =" in render_summary(report)
    # the cells of one dimension share a seed's tangents: one block, whose null has only 21 outcomes
    same_n = [{**e, "select": {"n": 4}} for e in entries[:40]]
    assert calibrations(same_n)[0]["p_value"] > 0.04  # 1/21 = 0.048 up to Monte Carlo error


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
