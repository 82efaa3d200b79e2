"""Evaluate published entries and claims on aggregated CSVs (pandas only, no torch).

Entry statuses, in order of precedence: ``not transcribed`` (published value null), ``not run`` (CSV
missing or no matching rows), ``not comparable at this scale`` (the scale is not in ``comparable_scales``, or a
rank rule has too few seeds for its stated false-alarm rate), else ``pass``/``fail`` by the tolerance: the rank
rule of :mod:`.ranks` for single-draw references (``tolerance: {rank: alpha}``), or a fixed difference
(``abs``, ``rel``, ``std``). Every entry counts the seeds that diverged (status ``diverged``, a ``diverged``
flag or a non-finite value): the rank rule ranks them worst; a fixed-difference entry averages the others and
fails as "diverged" when every seed diverged (unless the published value is itself non-finite). A seed
that neither diverged nor has a finite value is a lost result: the entry fails (when some seeds have a value).
Entries have a ``kind``: ``result`` (a reproduced number; the headline counts) or ``configuration`` (a setting
equal to the authors', e.g. a learning rate; counted apart).
Claim statuses: ``not applicable at this scale``, ``not run``, ``pass``, ``fail``. A claim of
``kind: sanity`` holds by construction (it tests the code, not the paper) and is counted apart from the
reproduced claims.
The reproduced value is computed and reported whatever the status, so a reader sees it next to the null.
Claim comparisons (monotone, ordering, at_least) count values equal within float round-off
(:data:`ROUNDOFF`, relative) as ties.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import pandas as pd

from alttrain.results import diverged_mask
from alttrain.verification.ranks import min_values, null_ranks, rank_test

PASS, FAIL = "pass", "fail"
NOT_COMPARABLE, NOT_TRANSCRIBED, NOT_RUN = "not comparable at this scale", "not transcribed", "not run"
NOT_APPLICABLE = "not applicable at this scale"
ENTRY_STATUSES = (PASS, FAIL, NOT_COMPARABLE, NOT_TRANSCRIBED, NOT_RUN)
CLAIM_STATUSES = (PASS, FAIL, NOT_APPLICABLE, NOT_RUN)
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
# relative size of float round-off: values of two methods that are equal in exact arithmetic (frog and mean
# with one tangent, say) differ by ~1e-8 after float32 arithmetic; "at least" must count them as a tie
ROUNDOFF = 1e-6
REDUCERS = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}


class MissingColumn(Exception):
    """A column named by an entry or claim is not in the CSV."""


def key(value: Any) -> str:
    """Canonical text of a label, so YAML ``256`` matches CSV ``256.0`` and ``"256"``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | float | np.integer | np.floating):
        value = float(value)
        if math.isnan(value):
            return "nan"
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    try:  # numeric text ("256", "1e-3") compares as a number
        return (
            key(float(text)) if text.strip().lower() not in ("nan", "inf", "-inf", "true", "false") else text
        )
    except ValueError:
        return text.lower() if text.lower() in ("true", "false") else text


def _require(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumn(
            f"column {', '.join(map(repr, missing))} not in the CSV (columns: "
            f"{', '.join(map(str, frame.columns))})"
        )


def select_rows(frame: pd.DataFrame, select: dict[str, Any] | None) -> pd.DataFrame:
    """Rows whose columns equal the ``select`` values (a list value matches any of its items)."""
    select = select or {}
    _require(frame, select)
    mask = pd.Series(True, index=frame.index)
    for column, wanted in select.items():
        wanted_keys = {key(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        values = frame[column]
        # key() once per distinct value, not per row
        matching = [v for v in values.dropna().unique() if key(v) in wanted_keys]
        mask &= values.isin(matching)
    return frame[mask]


def provenance(frame: pd.DataFrame | None) -> dict[str, Any]:
    """Data sets, seeds and scales of the rows a number is computed from."""
    if frame is None or frame.empty:
        return {"datasets": [], "seeds": [], "scales": []}

    def unique(column: str) -> list:
        return sorted({str(v) for v in frame[column].dropna()}) if column in frame.columns else []

    seeds = (
        sorted({int(s) for s in pd.to_numeric(frame["seed"], errors="coerce").dropna()})
        if "seed" in frame.columns
        else []
    )
    return {"datasets": unique("dataset"), "seeds": seeds, "scales": unique("scale")}


def tolerance_of(entry: dict, reproduced_std: float | None) -> float | None:
    """The allowed absolute difference for an entry (None when the published value is missing)."""
    published, rule = entry.get("value"), entry["tolerance"]
    if published is None:
        return None
    if "rank" in rule:
        return None
    if "abs" in rule:
        return float(rule["abs"])
    if "rel" in rule:
        return float(rule["rel"]) * abs(float(published))
    spread = max(float(entry.get("std") or 0.0), float(reproduced_std or 0.0))
    return max(float(rule["std"]) * spread, float(rule.get("abs_floor", 0.0)))


def _rank_fields(entry: dict, rows: pd.DataFrame, values: pd.Series, diverged: pd.Series) -> dict[str, Any]:
    """The rank rule's numbers: the reference's rank among the seeds, band, distribution (gaps to ``gap_to``)."""
    alpha = float(entry["tolerance"]["rank"])
    ranked = values.where(~diverged, np.inf)
    ranked = ranked[np.isfinite(ranked) | diverged]  # a seed without a value that did not diverge is absent
    seeds = None
    if "seed" in rows.columns:  # seed order: the calibration's null pairs cells seed by seed
        order = pd.to_numeric(rows.loc[ranked.index, "seed"], errors="coerce").sort_values(kind="stable")
        ranked, seeds = ranked.loc[order.index], [int(s) for s in order] if order.notna().all() else None
    published = float(entry["value"])
    test = rank_test(ranked.to_numpy(), published, alpha)
    offset = 0.0
    if entry.get("gap_to"):
        _require(rows, [entry["gap_to"]])
        offsets = pd.to_numeric(rows[entry["gap_to"]], errors="coerce").dropna().unique()
        offset = float(offsets[0]) if len(offsets) == 1 else 0.0

    def gap(value: float | None) -> float | None:
        return None if value is None else value - offset

    return {
        "rank": test.below, "rank_ties": test.ties,
        "null_ranks": null_ranks(ranked.to_numpy(), published), "null_seeds": seeds,
        "band": [test.low, test.high], "alpha": test.alpha, "alpha_stated": alpha, "passed": test.passed,
        "gap_offset": offset, "min": gap(test.minimum), "median": gap(test.median), "max": gap(test.maximum),
        "published_gap": published - offset, "reproduced": gap(test.median),
    }


def evaluate_entry(entry: dict, frame: pd.DataFrame | None, scale: str) -> dict[str, Any]:
    """Status, reproduced value and the numbers behind it for one published entry.

    Args:
        entry: a validated entry of a published file.
        frame: the experiment's aggregated CSV, or None when it does not exist.
        scale: the scale of this workflow run (used when the CSV has no ``scale`` column).

    Returns:
        kind, rule (``rank`` or ``difference``), reproduced (per ``reduce`` over the seeds that did not
        diverge; for the rank rule the median over all seeds, diverged ones as +inf), its std, n (seeds with a
        value, diverged ones included), n_diverged, tolerance, difference, status and detail; for the rank
        rule also the reference's rank, ties, band, achieved false-alarm rate, the (below, ties) table of the
        calibration's permutation null (:func:`.ranks.null_ranks`) with its seeds in order, and min/median/max
        over the seeds (as gaps to the column ``gap_to`` if named).
    """
    result: dict[str, Any] = {
        "kind": entry.get("kind", "result"),
        "rule": "rank" if "rank" in entry["tolerance"] else "difference",
        "reproduced": None,
        "reproduced_std": None,
        "n": 0,
        "n_diverged": 0,
        "n_lost": 0,
        "tolerance_abs": None,
        "difference": None,
        "detail": "",
    }
    rows = values = diverged = None
    if frame is None or frame.empty:
        result["detail"] = "CSV not produced at this scale" if frame is None else "CSV has no rows"
    else:
        try:
            rows = select_rows(frame, entry.get("select"))
            _require(rows, [entry["metric"]])
        except MissingColumn as err:
            result["detail"], rows = str(err), None
        if rows is not None and rows.empty:
            result["detail"] = "no CSV rows match select"
        elif rows is not None:
            values = pd.to_numeric(rows[entry["metric"]], errors="coerce").astype(float)
            diverged = diverged_mask(rows, values)
            if result["kind"] == "configuration":  # a setting (learning rate) is the same whether a run diverged
                diverged = diverged & ~np.isfinite(values)
            finite = values[~diverged & np.isfinite(values)]
            result["n_diverged"] = int(diverged.sum())
            result["n"] = int(len(finite) + diverged.sum())
            result["n_lost"] = int(len(rows) - result["n"])
            if result["n"] == 0:
                result["detail"] = f"{entry['metric']} is missing in every selected row"
            elif len(finite):
                result["reproduced"] = float(REDUCERS[entry.get("reduce", "mean")](finite.to_numpy()))
                result["reproduced_std"] = float(finite.std(ddof=1)) if len(finite) > 1 else None
    result.update(provenance(rows))
    data_scale = result["scales"][0] if len(result["scales"]) == 1 else scale
    result["scale"] = data_scale
    published = entry.get("value")
    if published is not None and result["rule"] == "rank" and result["n"]:
        try:
            result.update(_rank_fields(entry, rows, values, diverged))
        except MissingColumn as err:
            result["detail"], result["n"] = str(err), 0
    elif published is not None:
        result["tolerance_abs"] = tolerance_of(entry, result["reproduced_std"])
        if result["reproduced"] is not None:
            result["difference"] = result["reproduced"] - float(published)
    all_diverged = result["n"] > 0 and result["n_diverged"] == result["n"]
    if result["n_diverged"]:
        note = f"{result['n_diverged']}/{result['n']} seeds diverged"
        result["detail"] = "; ".join(filter(None, [note, result["detail"]]))
    if published is None:
        result["status"] = NOT_TRANSCRIBED
    elif result["n"] == 0:
        result["status"] = NOT_RUN
    elif data_scale not in entry["comparable_scales"]:
        result["status"] = NOT_COMPARABLE
        where = f"comparable at: {', '.join(entry['comparable_scales']) or 'no scale'}"
        result["detail"] = "; ".join(filter(None, [where, result["detail"]]))
    elif result["n_lost"]:
        result["status"] = FAIL
        result["detail"] = "; ".join(
            filter(None, [
                f"{result['n_lost']}/{result['n_lost'] + result['n']} seeds have no value and did not diverge "
                "(a lost result)", result["detail"],
            ])
        )
    elif result["rule"] == "rank" and result["passed"] is None:
        result["status"] = NOT_COMPARABLE
        result["detail"] = (
            f"{result['n']} seeds are too few for a two-sided rank test at {100 * result['alpha_stated']:g} % "
            f"(needs >= {min_values(result['alpha_stated'])})"
        )
    elif all_diverged and math.isfinite(float(published)):
        result["status"] = FAIL  # the rank rule agrees: every seed ranks worse than the finite reference
        result["detail"] = f"diverged (all {result['n']} seeds)"
    elif result["rule"] == "rank":
        result["status"] = PASS if result["passed"] else FAIL
    elif all_diverged:
        result["status"] = PASS  # a non-finite published value and every seed diverged
    else:
        # a relative epsilon so that a value exactly on the tolerance bound passes despite float rounding
        bound = result["tolerance_abs"] * (1 + 1e-9) + 1e-12
        result["status"] = PASS if abs(result["difference"]) <= bound else FAIL
    return result


# ---------------------------------------------------------------------------------------------------- claims


def _groups(frame: pd.DataFrame, group_by: list[str] | None):
    """(label, rows) per group; one group labelled ``all`` without group_by."""
    if not group_by:
        yield "all", frame
        return
    _require(frame, group_by)
    for values, rows in frame.groupby([frame[c].map(key) for c in group_by], sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield ", ".join(f"{c}={v}" for c, v in zip(group_by, values, strict=True)), rows


def _reduced_by(rows: pd.DataFrame, by: str, metric: str, how: str, worst: float = math.nan) -> dict[str, float]:
    """metric reduced per level of ``by`` (levels as canonical keys).

    A diverged seed (see :func:`alttrain.results.diverged_mask`) is counted, never dropped: its value becomes
    ``worst`` (+inf or -inf where the check knows which direction is better, else NaN, which makes the
    reduced value NaN and the comparison fail).
    """
    _require(rows, [by, metric])
    values = pd.to_numeric(rows[metric], errors="coerce").astype(float)
    diverged = diverged_mask(rows, values)
    values = values.where(~diverged, worst)
    keep = diverged | np.isfinite(values)  # a NaN that is not a divergence is a missing value
    frame = pd.DataFrame({"level": rows[by].map(key)[keep], "value": values[keep]})
    return {
        lvl: float(REDUCERS[how](grp["value"].to_numpy())) for lvl, grp in frame.groupby("level", sort=False)
    }


def _worst(check: dict) -> float:
    return -math.inf if check.get("higher_is_better", True) else math.inf


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _check_monotone(check: dict, rows: pd.DataFrame) -> tuple[bool | None, str]:
    means = _reduced_by(rows, check["x"], check["y"], check.get("reduce", "mean"))
    if len(means) < 2:
        return None, f"fewer than 2 values of {check['x']}"
    undefined = [level for level, value in means.items() if math.isnan(value)]
    if undefined:  # a diverged seed: no value to order
        return False, f"diverged seeds at {check['x']} = {', '.join(undefined)}"

    def order(level: str):  # numeric x sorts numerically
        try:
            return (0, float(level), level)
        except ValueError:
            return (1, 0.0, level)

    levels = sorted(means, key=order)
    sign = 1.0 if check["direction"] == "increasing" else -1.0
    slack = float(check.get("slack", 0.0))
    # a step counts as a violation only beyond the slack plus float round-off of the two values
    steps = [
        (a, b, sign * (means[b] - means[a]) + slack + _roundoff(means[a], means[b]))
        for a, b in zip(levels, levels[1:], strict=False)
    ]
    worst = min(steps, key=lambda s: s[2])
    series = " -> ".join(f"{lvl}:{_fmt(means[lvl])}" for lvl in levels)
    return worst[2] >= 0, series + (f" (worst step {worst[0]}->{worst[1]})" if worst[2] < 0 else "")


def _roundoff(a: float, b: float) -> float:
    """Differences below this are float round-off (float32 metrics: ~1e-7 relative), i.e. ties."""
    return ROUNDOFF * max(abs(a), abs(b))


def _better(a: float, b: float, higher: bool, margin: float, strict: bool = False) -> bool:
    """a beats b by at least margin (in the direction of improvement); round-off ties count as equal, which
    passes, or with ``strict`` fails (a must be better beyond round-off). Infinite values (diverged seeds
    ranked worst) compare as such."""
    if math.isinf(a) or math.isinf(b):
        return (a > b if higher else a < b) or (a == b and not strict and margin <= 0)
    tie = _roundoff(a, b)
    if strict:
        return a > b + margin + tie if higher else a < b - margin - tie
    return a >= b + margin - tie if higher else a <= b - margin + tie


def _check_ordering(check: dict, rows: pd.DataFrame) -> tuple[bool | None, str]:
    means = _reduced_by(rows, check["by"], check["metric"], check.get("reduce", "mean"), _worst(check))
    present = [key(level) for level in check["order"] if key(level) in means]
    if len(present) < 2:
        return None, f"fewer than 2 of {', '.join(map(key, check['order']))} present"
    higher, slack = check.get("higher_is_better", True), float(check.get("slack", 0.0))
    strict = bool(check.get("strict", False))
    ok = all(
        _better(means[a], means[b], higher, -slack, strict) for a, b in zip(present, present[1:], strict=False)
    )
    missing = [key(level) for level in check["order"] if key(level) not in means]
    text = " > ".join(f"{lvl}:{_fmt(means[lvl])}" for lvl in present)
    return ok, text + (f" (absent: {', '.join(missing)})" if missing else "")


def _check_at_least(check: dict, rows: pd.DataFrame) -> tuple[bool | None, str]:
    means = _reduced_by(rows, check["by"], check["metric"], check.get("reduce", "mean"), _worst(check))
    better, worse = key(check["better"]), key(check["worse"])
    if better not in means or worse not in means:
        return None, f"{better} or {worse} absent"
    ok = _better(
        means[better],
        means[worse],
        check.get("higher_is_better", True),
        float(check.get("margin", 0.0)),
        bool(check.get("strict", False)),
    )
    return ok, f"{better}:{_fmt(means[better])} vs {worse}:{_fmt(means[worse])}"


def _check_threshold(check: dict, rows: pd.DataFrame) -> tuple[bool | None, str]:
    _require(rows, [check["metric"]])
    values = pd.to_numeric(rows[check["metric"]], errors="coerce").astype(float)
    diverged = diverged_mask(rows, values)
    values = values.where(~diverged, math.nan)[diverged | np.isfinite(values)]  # diverged: NaN, fails
    if values.empty:
        return None, f"no value of {check['metric']}"
    reduced = float(REDUCERS[check.get("reduce", "mean")](values.to_numpy()))
    return OPS[check["op"]](reduced, float(check["value"])), f"{_fmt(reduced)} {check['op']} {check['value']}"


CHECKS = {
    "monotone": _check_monotone,
    "ordering": _check_ordering,
    "at_least": _check_at_least,
    "threshold": _check_threshold,
}


def run_check(check: dict, frame: pd.DataFrame) -> tuple[bool | None, list[dict[str, Any]]]:
    """Apply a claim's check to every group; None when no group has the data the check needs."""
    groups = []
    for label, rows in _groups(frame, check.get("group_by")):
        ok, text = CHECKS[check["kind"]](check, rows)
        groups.append({"group": label, "ok": ok, "detail": text})
    evaluated = [g["ok"] for g in groups if g["ok"] is not None]
    return (all(evaluated) if evaluated else None), groups


def evaluate_claim(claim: dict, frame: pd.DataFrame | None, scale: str) -> dict[str, Any]:
    """Status and per-group outcome of one claim.

    Args:
        claim: a validated claim of a published file.
        frame: the experiment's aggregated CSV, or None when it does not exist.
        scale: the scale of this workflow run.
    """
    result: dict[str, Any] = {"kind": claim.get("kind", "claim"), "groups": [], "detail": "", "outcome": None}
    rows = None
    if frame is None or frame.empty:
        result["detail"] = "CSV not produced at this scale" if frame is None else "CSV has no rows"
    else:
        try:
            rows = select_rows(frame, claim.get("select"))
            if rows.empty:
                result["detail"] = "no CSV rows match select"
            else:
                result["outcome"], result["groups"] = run_check(claim["check"], rows)
                failed = [g for g in result["groups"] if g["ok"] is False]
                shown = failed or [g for g in result["groups"] if g["ok"] is not None] or result["groups"]
                result["detail"] = "; ".join(f"[{g['group']}] {g['detail']}" for g in shown[:4])
                if len(shown) > 4:
                    result["detail"] += f"; ... ({len(shown) - 4} more groups)"
        except MissingColumn as err:
            result["detail"], rows = str(err), None
    result.update(provenance(rows))
    result["scale"] = result["scales"][0] if len(result["scales"]) == 1 else scale
    if result["scale"] not in claim["scales"]:
        result["status"] = NOT_APPLICABLE
        would = {None: "not evaluable", True: "pass", False: "fail"}[result["outcome"]]
        result["detail"] = (
            f"applies at {', '.join(claim['scales']) or 'no scale'} (here it would be {would}). "
            + result["detail"]
        )
    elif result["outcome"] is None:
        result["status"] = NOT_RUN
    else:
        result["status"] = PASS if result["outcome"] else FAIL
    return result
