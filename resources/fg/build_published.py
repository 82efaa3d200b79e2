"""Maintenance tool (not run by the workflow): write paper/published/fg.yaml from this folder's CSVs.

Usage: python resources/fg/build_published.py [paper/published/fg.yaml]

Entries: the paper's table cells as null placeholders (ids of docs/methods/fg.md#published-values-and-placeholders), the
authors' reference values (final values of their seed-0 learning-rate-search runs) and the learning rates the
configuration must use. Claims: the abstract's statements (and two derived expectations of
docs/methods/fg.md#claims-and-expected-results) as checks on the aggregated CSVs. Edit the claims or the tolerance rule
here and rerun; the output is deterministic.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APPROACHES = ("bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16")
LABELS = {
    "bp": "BP",
    "fg_k1": "FG k=1",
    "fg_mean_k2": "FG mean k=2",
    "fg_mean_k4": "FG mean k=4",
    "fg_mean_k16": "FG mean k=16",
    "frog_k2": "frog k=2",
    "frog_k4": "frog k=4",
    "frog_k16": "frog k=16",
}
FUNCTIONS = {"sphere": "Sphere", "rosenbrock": "Rosenbrock", "styblinski_tang": "Styblinski-Tang"}
DIMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
WIDTHS = (256, 1024, 4096)
SOTA = {
    "resnet18_mnist": "ResNet18 MNIST",
    "resnet18_cifar10": "ResNet18 CIFAR-10",
    "vit_mnist": "ViT MNIST",
    "vit_cifar10": "ViT CIFAR-10",
}
PAPER = "paper (not transcribed)"
SRC_MATH = (
    "authors' code frog@fdd31d2 lrs/lrs_math.csv, column loss: f(x) at the end of the authors' seed-0 "
    "learning-rate-search run with this step size (early-stopping patience 100)"
)
SRC_CUSTOM = (
    "authors' code frog@fdd31d2 lrs/lrs_math__custom_tangents.csv, column loss: f(x) at the end of the "
    "seed-0 learning-rate-search run (patience 100)"
)
SRC_FC = (
    "authors' code frog@fdd31d2 lrs/lrs_fc_nns.csv, column loss: validation cross-entropy at the end of the "
    "seed-0 200-epoch learning-rate-search run (full MNIST, 50k/10k split)"
)
SRC_SOTA = (
    "authors' code frog@fdd31d2 lrs/lrs_sota_nns.csv, column loss: validation cross-entropy at the end of "
    "the seed-0 50-epoch learning-rate-search run"
)
RANK_ALPHA = 0.1  # stated per-cell false-alarm rate of the rank rule (achieved: 2/21 = 9.5 % with 20 seeds)
TOLERANCE_RULE = (
    "The paper's result tables could not be obtained: every table cell is a null placeholder (status 'not "
    "transcribed') with its id, ready to be filled from the PDF. Accuracies (%) are then compared "
    "within max(2 x std, 0.5 points), std being the larger of the published and the reproduced spread over "
    "seeds; closed-form table means within 3 x std (float rounding 1e-6 as the only floor). The reference "
    "values are the authors' own learning-rate-search results, one seed-0 run each (taken from their code; not "
    "printed in the paper), so each is one draw: it is ranked among our seeds (rank rule, per-cell false-alarm "
    "rate 10 %; with N = 20 seeds the band is ranks 1-19 of 0-20 and the rate achieved 2/21 = 9.5 %; diverged "
    "seeds rank worst; ties within float round-off take any rank), and per function the ranks of all references "
    "are tested for uniformity (Kolmogorov-Smirnov, fails below p = 0.01). Styblinski-Tang is shown as the gap "
    "f - f* (ranks are the same). The search picked each step size as the best of its candidates on this very "
    "run, so a reference may be a little better than a fresh draw (selection bias); the calibration test would "
    "show that as an excess of low ranks. Closed-form references are compared on the value at the search's "
    "stopping rule (patience 100, column final_value_search) at the cpu scale, where the closed-form "
    "experiments run at the authors' settings with 20 seeds (the paper scale runs the paper's 5, too few for the "
    "rank rule: not comparable there); network references only at the paper scale and "
    "only with at least 19 seeds (FC; the ResNet18/ViT searches ran 50 epochs instead of 200 and are shown, not "
    "compared). Learning rates are configuration checks, counted apart from the results: the value each run "
    "used must equal the authors' within 1e-9 relative. Claims use slack only where Monte-Carlo noise of 1,000 "
    "samples could otherwise flip a comparison of nearly equal means; closed-form claims compare medians over "
    "the seeds (final values are heavy-tailed: a seed may stall in the Rosenbrock valley), diverged seeds "
    "counting as worst. Claims that hold by construction (same tangent draws) are sanity checks, counted apart."
)


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _entry(
    id_, artifact, row, column, value, source, experiment, select, metric, scales, tolerance, note=None,
    kind="result", gap_to=None,
):
    entry = {
        "id": id_,
        "version": "v1",
        "artifact": artifact,
        "row": row,
        "column": column,
        "value": value,
        "std": None,
        "source": source,
        "experiment": experiment,
        "select": select,
        "metric": metric,
        "reduce": "mean",
        "comparable_scales": scales,
        "tolerance": tolerance,
    }
    if kind != "result":
        entry["kind"] = kind
    if gap_to:
        entry["gap_to"] = gap_to
    if note:
        entry["note"] = note
    return entry


def paper_placeholders(math_loss: dict) -> list[dict]:
    entries = []
    accuracy = {"std": 2.0, "abs_floor": 0.5}
    for approach in APPROACHES:
        for width in WIDTHS:
            entries.append(
                _entry(
                    f"fg_tab_fc_mnist/{approach}/w{width}/test_acc",
                    "fg_tab_fc_mnist",
                    LABELS[approach],
                    f"w = {width}",
                    None,
                    PAPER,
                    "fc_mnist",
                    {"approach": approach, "width": width},
                    "best_test_acc",
                    ["paper"],
                    accuracy,
                )
            )
    for approach in APPROACHES:
        for task, title in SOTA.items():
            entries.append(
                _entry(
                    f"fg_tab_sota/{approach}/{task}/test_acc",
                    "fg_tab_sota",
                    LABELS[approach],
                    title,
                    None,
                    PAPER,
                    "sota",
                    {"approach": approach, "task": task},
                    "best_test_acc",
                    ["paper"],
                    accuracy,
                )
            )
    for function, title in FUNCTIONS.items():
        for n in DIMS:
            for approach in APPROACHES:
                entries.append(
                    _entry(
                        f"fg_tab_closed_form/{function}/n{n}/{approach}/final_value",
                        "fg_tab_closed_form",
                        f"{title} {LABELS[approach]}",
                        f"n={n}",
                        None,
                        PAPER,
                        f"closed_form_{function}",
                        {"n": n, "approach": approach},
                        "final_value",
                        ["cpu", "paper"],
                        {"std": 3.0, "abs_floor": 1e-6},
                        "only if the paper prints such a table (unknown); mean final value over 5 seeds, "
                        "patience 50",
                    )
                )
    return entries


def references(math_rows, custom_rows, nn_rows) -> list[dict]:
    entries = []
    for row in math_rows:
        function, n, approach, value = (
            row["function"],
            int(row["n"]),
            row["approach"],
            float(row["search_loss"]),
        )
        entries.append(
            _entry(
                f"fg_ref/closed_form/{function}/n{n}/{approach}/search_final_value",
                "fg_tab_lrs_math",
                f"{FUNCTIONS[function]} n={n}",
                approach,
                value,
                SRC_MATH,
                f"closed_form_{function}",
                {"n": n, "approach": approach},
                "final_value_search",
                ["cpu", "paper"],
                {"rank": RANK_ALPHA},
                "authors' single seed-0 run ranked among our seeds (different random tangents)",
                gap_to="f_min",
            )
        )
    for row in custom_rows:
        k, value = int(row["k"]), float(row["search_loss"])
        if row["combination"] == "mean":
            angle = int(float(row["angle"]))
            id_ = f"fg_ref/custom_angle/mean_k{k}/a{angle}/search_final_value"
            select, column = {"combination": "mean", "k": k, "angle": angle}, f"mean k={k}, {angle} degrees"
            note = None
        else:
            id_ = f"fg_ref/custom_angle/frog_k{k}/search_final_value"
            select, column = {"combination": "orthogonal_projection", "k": k}, f"frog k={k}"
            note = (
                "the authors ran the projection with Gaussian tangents; its result does not depend on the "
                "angle (same span), so it is compared with our projection runs of every angle"
            )
        entries.append(
            _entry(
                id_,
                "fg_tab_lrs_custom",
                "Styblinski-Tang n=64",
                column,
                value,
                SRC_CUSTOM,
                "custom_angle_opt",
                select,
                "final_value_search",
                ["cpu", "paper"],
                {"rank": RANK_ALPHA},
                note,
                gap_to="f_min",
            )
        )
    for row in nn_rows:
        task, approach, value = row["task"], row["approach"], float(row["search_loss"])
        if task.startswith("fc_w"):
            width = int(task[4:])
            entries.append(
                _entry(
                    f"fg_ref/fc_mnist/{approach}/w{width}/search_val_loss",
                    "fg_tab_lrs_nn",
                    LABELS[approach],
                    f"FC w={width}",
                    value,
                    SRC_FC,
                    "fc_mnist",
                    {"approach": approach, "width": width},
                    "final_val_loss",
                    ["paper"],
                    {"rank": RANK_ALPHA},
                    "search run: seed 0, early stopping patience 10 with min_delta 1e-6",
                )
            )
        else:
            select = {"approach": approach, "task": task}
            if approach == "bp":
                select["lr_table"] = "pre2025"  # the search loss belongs to the searched backprop rate
            entries.append(
                _entry(
                    f"fg_ref/sota/{approach}/{task}/search_val_loss",
                    "fg_tab_lrs_nn",
                    LABELS[approach],
                    SOTA[task],
                    value,
                    SRC_SOTA,
                    "sota",
                    select,
                    "final_val_loss",
                    [],
                    {"rank": RANK_ALPHA},
                    "shown, not compared: the search ran 50 epochs, the paper's training 200 (bp: only runs "
                    "with lr_table pre2025 use the searched rate)",
                )
            )
    return entries


def learning_rates(math_rows, custom_rows, nn_rows) -> list[dict]:
    entries, exact = [], {"rel": 1e-9}
    scales = ["smoke", "cpu", "paper"]
    source = (
        "authors' code frog@7beb8cb lrs/{} (the paper's appendix learning rates, per the authors' README)"
    )
    for row in math_rows:
        function, n, approach = row["function"], int(row["n"]), row["approach"]
        entries.append(
            _entry(
                f"fg_lr/closed_form/{function}/n{n}/{approach}",
                "fg_tab_lrs_math",
                f"{FUNCTIONS[function]} n={n}",
                approach,
                float(row["lr"]),
                source.format("lrs_math.csv"),
                f"closed_form_{function}",
                {"n": n, "approach": approach},
                "lr",
                scales,
                exact,
                kind="configuration",
            )
        )
    for row in custom_rows:
        k = int(row["k"])
        if row["combination"] == "mean":
            angle = int(float(row["angle"]))
            id_, select = (
                f"fg_lr/custom_angle/mean_k{k}/a{angle}",
                {"combination": "mean", "k": k, "angle": angle},
            )
            column = f"mean k={k}, {angle} degrees"
        else:
            id_, select = f"fg_lr/custom_angle/frog_k{k}", {"combination": "orthogonal_projection", "k": k}
            column = f"frog k={k}"
        entries.append(
            _entry(
                id_,
                "fg_tab_lrs_custom",
                "Styblinski-Tang n=64",
                column,
                float(row["lr"]),
                source.format("lrs_math__custom_tangents.csv"),
                "custom_angle_opt",
                select,
                "lr",
                scales,
                exact,
                kind="configuration",
            )
        )
    for row in nn_rows:
        task, approach = row["task"], row["approach"]
        if task.startswith("fc_w"):
            width = int(task[4:])
            entries.append(
                _entry(
                    f"fg_lr/fc_mnist/{approach}/w{width}",
                    "fg_tab_lrs_nn",
                    LABELS[approach],
                    f"FC w={width}",
                    float(row["lr"]),
                    source.format("lrs_fc_nns.csv"),
                    "fc_mnist",
                    {"approach": approach, "width": width},
                    "lr",
                    scales,
                    exact,
                    kind="configuration",
                )
            )
        else:
            entries.append(
                _entry(
                    f"fg_lr/sota/{approach}/{task}",
                    "fg_tab_lrs_nn",
                    LABELS[approach],
                    SOTA[task],
                    float(row["lr"]),
                    source.format("lrs_sota_nns.csv"),
                    "sota",
                    {"approach": approach, "task": task, "lr_table": "head"},
                    "lr",
                    scales,
                    exact,
                    kind="configuration",
                )
            )
    return entries


def _claim(id_, sentence, source, scales, experiment, check, select=None, note=None, kind="claim"):
    claim = {"id": id_, "sentence": sentence, "source": source, "scales": scales, "experiment": experiment}
    if select:
        claim["select"] = select
    if kind != "claim":
        claim["kind"] = kind
    claim["check"] = check
    if note:
        claim["note"] = note
    return claim


ABSTRACT = "paper abstract"
MORE_TANGENTS = "Increasing the number of tangents improves the approximation quality."
MORE_TANGENTS_OPT = "Increasing the number of tangents improves the optimisation performance."
PROJECTION = "Combining the tangents by orthogonal projection improves on the mean of forward gradients."


def claims() -> list[dict]:
    every = ["smoke", "cpu", "paper"]
    result = [
        _claim(
            "fg_claim_more_tangents_higher_cosine",
            MORE_TANGENTS,
            ABSTRACT,
            every,
            "approx_quality",
            {
                "kind": "monotone",
                "x": "k",
                "y": "cosine_mean",
                "direction": "increasing",
                "group_by": ["n"],
            },
            {"combination": "mean", "normalized": False},
            "per dimension n, the mean of k forward gradients; no slack: the samples of every k share their draws "
            "(prefixes), so the Monte-Carlo noise of a step is far below its smallest increase (5e-4 at n = 2, "
            "1.4e-3 at n = 65536 at the cpu scale; a slack of 0.002 would have passed a decrease there)",
        ),
        _claim(
            "fg_claim_more_tangents_higher_cosine_projection",
            MORE_TANGENTS,
            ABSTRACT,
            every,
            "approx_quality",
            {
                "kind": "monotone",
                "x": "k",
                "y": "cosine_mean",
                "direction": "increasing",
                "group_by": ["n"],
            },
            {"combination": "orthogonal_projection", "normalized": False},
            "sanity check, holds by construction: the samples of every k share their draws (prefixes), so the "
            "span of k tangents contains that of fewer and the projection's cosine cannot fall in any sample",
            kind="sanity",
        ),
        _claim(
            "fg_claim_projection_at_least_mean_cosine",
            PROJECTION,
            ABSTRACT,
            every,
            "approx_quality",
            {
                "kind": "at_least",
                "by": "combination",
                "better": "orthogonal_projection",
                "worse": "mean",
                "metric": "cosine_mean",
                "higher_is_better": True,
                "margin": -1e-6,
                "group_by": ["n", "k"],
            },
            {"normalized": False},
            "sanity check, holds by construction: both combinations use the same tangents and the projection "
            "is the best approximation within their span, which contains the mean (margin -1e-6: with k = 1 "
            "both are the same vector up to float32 rounding). The paper's claim is tested on the optimisation "
            "results (fg_claim_projection_beats_mean_*).",
            kind="sanity",
        ),
    ]
    closed = {
        "sphere": DIMS,
        "styblinski_tang": (128, 256, 512, 1024),
        "rosenbrock": (64, 128, 256, 512, 1024),
    }
    for function, dims in closed.items():
        for family, chain in (
            ("frog", ["frog_k16", "frog_k4", "frog_k2", "fg_k1"]),
            ("mean", ["fg_mean_k16", "fg_mean_k4", "fg_mean_k2", "fg_k1"]),
        ):
            result.append(
                _claim(
                    f"fg_claim_more_tangents_lower_{function}_{family}",
                    MORE_TANGENTS_OPT,
                    ABSTRACT,
                    ["cpu", "paper"],
                    f"closed_form_{function}",
                    {
                        "kind": "ordering",
                        "by": "approach",
                        "metric": "final_value",
                        "order": chain,
                        "higher_is_better": False,
                        "group_by": ["n"],
                        "reduce": "median",
                        **({"slack": 0.5} if function == "rosenbrock" else {}),
                    },
                    {"n": list(dims)},
                    f"final value (median over seeds) never worse with more tangents, per n in {list(dims)} "
                    "(at smaller n of this function the runs end in ties at the minimum or in one of its "
                    "local minima by chance); Rosenbrock slack 0.5: at n = 1024 the runs with k <= 4 barely "
                    "move from 1126 and end within 0.2 of each other (also in the authors' runs)",
                )
            )
    result += [
        _claim(
            "fg_claim_projection_beats_mean_sphere",
            PROJECTION,
            ABSTRACT,
            ["cpu", "paper"],
            "closed_form_sphere",
            {
                "kind": "at_least",
                "by": "combination",
                "better": "orthogonal_projection",
                "worse": "mean",
                "metric": "final_value",
                "higher_is_better": False,
                "margin": 0.0,
                "strict": True,
                "group_by": ["n", "k"],
                "reduce": "median",
            },
            {"k": [2, 4, 16], "n": [256, 512, 1024]},
            "equal k, authors' step sizes, the same tangents for both (paired per seed); strict: the projection "
            "must end lower beyond float round-off, so a projection computed as the mean fails. n >= 256: "
            "at smaller n both reach the minimum 0 (a tie at float32 rounding). On Styblinski-Tang and "
            "Rosenbrock with k much smaller than n the two are about equal "
            "(docs/methods/fg.md#claims-and-expected-results, item 4) and are not checked",
        ),
        _claim(
            "fg_claim_projection_beats_mean_rosenbrock",
            PROJECTION,
            ABSTRACT,
            ["cpu", "paper"],
            "closed_form_rosenbrock",
            {
                "kind": "at_least",
                "by": "approach",
                "better": "frog_k16",
                "worse": "fg_mean_k16",
                "metric": "final_value",
                "higher_is_better": False,
                "margin": 0.0,
                "strict": True,
                "group_by": ["n"],
                "reduce": "median",
            },
            {"n": [8, 16, 32, 64]},
            "k = 16 tangents with k >= n / 4; strict: the projection must end lower beyond float round-off "
            "(a seed that diverged counts as worst). Not n <= 4, where both end at float32 rounding level "
            "(~1e-9, no order), nor n >= 128, where k is much smaller than n and the two are about equal "
            "(docs/methods/fg.md#claims-and-expected-results, item 4)",
        ),
        _claim(
            "fg_claim_more_tangents_better_fc",
            MORE_TANGENTS_OPT,
            ABSTRACT,
            ["paper"],
            "fc_mnist",
            {
                "kind": "ordering",
                "by": "approach",
                "metric": "best_test_acc",
                "order": ["frog_k16", "frog_k4", "frog_k2", "fg_k1"],
                "higher_is_better": True,
                "group_by": ["width"],
                "slack": 0.1,
            },
            None,
            "test accuracy at the best-validation epoch, mean over seeds; slack 0.1 points",
        ),
        _claim(
            "fg_claim_backprop_best_fc",
            "Backpropagation remains the best approach.",
            "docs/methods/fg.md#claims-and-expected-results, item 3",
            ["cpu", "paper"],
            "fc_mnist",
            {
                "kind": "ordering",
                "by": "approach",
                "metric": "best_test_acc",
                "order": ["bp", "frog_k16"],
                "higher_is_better": True,
                "group_by": ["width"],
            },
        ),
        _claim(
            "fg_claim_projection_angle_invariant",
            "With tangents at a fixed angle to the first one, the projection is unaffected by the angle.",
            "docs/methods/fg.md#claims-and-expected-results, item 5 (derived)",
            every,
            "custom_angle_approx",
            {
                "kind": "threshold",
                "metric": "cosine_gap_to_90",
                "reduce": "max",
                "op": "<=",
                "value": 1e-9,
                "group_by": ["k"],
            },
            {"combination": "orthogonal_projection"},
            "sanity check, holds by construction: the same underlying draws for every angle span the same "
            "space, so the projection's cosine must equal the 90-degree one up to rounding",
            kind="sanity",
        ),
        _claim(
            "fg_claim_mean_degrades_small_angles",
            "With tangents at a fixed angle to the first one, the mean degrades for small angles.",
            "docs/methods/fg.md#claims-and-expected-results, item 5 (derived)",
            every,
            "custom_angle_approx",
            {
                "kind": "monotone",
                "x": "angle",
                "y": "cosine_mean",
                "direction": "increasing",
                "group_by": ["k"],
            },
            {"combination": "mean"},
        ),
    ]
    return result


def main(out: Path) -> None:
    math_rows = _rows("lrs_math.csv")
    custom_rows = _rows("lrs_math_custom_tangents.csv")
    nn_rows = _rows("lrs_nn.csv")
    math_loss = {(r["function"], int(r["n"]), r["approach"]): float(r["search_loss"]) for r in math_rows}
    document = {
        "paper": "fg",
        "title": "Beyond Backpropagation: Optimization with Multi-Tangent Forward Gradients",
        "arxiv": "2410.17764",
        "code": "github.com/Helmholtz-AI-Energy/frog@7beb8cb",
        "tolerance_rule": TOLERANCE_RULE,
        "entries": paper_placeholders(math_loss)
        + references(math_rows, custom_rows, nn_rows)
        + learning_rates(math_rows, custom_rows, nn_rows),
        "claims": claims(),
    }
    header = (
        "# Published numbers and claims of the fg paper (arXiv 2410.17764). Generated by "
        "resources/fg/build_published.py from resources/fg/*.csv; edit that script, not this file.\n# Table "
        "values: null placeholders (the paper's tables could not be obtained; ids of\n# "
        "docs/methods/fg.md#published-values-and-placeholders).\n# Values "
        "present: the authors' learning-rate-search results and learning rates (their code).\n"
    )
    out.write_text(
        header
        + yaml.dump(
            document,
            Dumper=_NoAliases,
            sort_keys=False,
            width=120,
            allow_unicode=True,
            default_flow_style=None,
        )
    )


class _NoAliases(yaml.SafeDumper):
    """A YAML dumper that writes shared objects (tolerances) in full instead of as anchors and aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "paper" / "published" / "fg.yaml")
