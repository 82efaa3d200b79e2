"""fg: grids, configuration schema, learning-rate resources and the published-numbers file."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml

from alttrain.errors import UserError
from alttrain.grids import Settings
from alttrain.grids import fg as fg_grid
from alttrain.workflow import check_config, deep_merge, scale_settings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


def merged(scale: str) -> dict:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    base["scale"] = scale
    return deep_merge(scale_settings(scale, REPO), base)


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_scale_files_validate_and_expand(scale):
    config = merged(scale)
    check_config(config, SCHEMA)
    runs = fg_grid.training_runs(config["fg"], Settings.from_config(config))
    assert runs, scale
    for run in runs:
        approach = run["labels"]["approach"]
        task = run["labels"]["task"]
        table = run["labels"].get("lr_table", "head")
        assert run["optimizer"] == {"name": "sgd", "lr": fg_grid.nn_learning_rate(task, approach, table)}


def test_paper_grid_has_the_specs_run_count():
    config = merged("paper")
    runs = fg_grid.training_runs(config["fg"], Settings.from_config(config))
    assert len(runs) == (3 + 4) * 8 * 3  # docs/methods/fg.md#grid-sizes: 168 network runs
    assert {r["dataset"]["name"] for r in runs} == {"mnist", "cifar10"}
    closed = config["fg"]["closed_form"]
    assert len(closed["dims"]) * len(closed["approaches"]) * len(closed["seeds"]) * 3 == 1320


@pytest.mark.parametrize(
    ("path", "value", "word"),
    [
        (("closed_form", "dims"), [3], "closed_form.dims"),
        (("closed_form", "approaches"), ["frog_3"], "closed_form.approaches"),
        (("custom_angle", "angles"), [10], "custom_angle.angles"),
        (("fc", "widths"), [300], "fc.widths"),
        (("sota", "lr_table"), "latest", "sota.lr_table"),
        (("approx_quality", "method"), "exact", "approx_quality.method"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(path, value, word):
    config = merged("smoke")
    config["fg"][path[0]][path[1]] = value
    with pytest.raises(UserError, match=re.escape(word)):
        check_config(config, SCHEMA)


def test_unknown_key_is_refused():
    config = merged("smoke")
    config["fg"]["closed_form"]["stepsize"] = 0.1
    with pytest.raises(UserError, match="closed_form"):
        check_config(config, SCHEMA)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _authors_id(approach: str, k: str) -> str:
    if approach == "bp":
        return "bp"
    k = int(float(k))
    return ("fg_k1" if k == 1 else f"fg_mean_k{k}") if approach == "fg-mean" else f"frog_k{k}"


def test_learning_rates_equal_the_authors_tables(reference):
    """The project's own copies (resources/fg) hold the authors' values exactly."""
    names = {"sphere": "sphere", "rosenbrock": "rosenbrock", "styblinski-tang": "styblinski_tang"}
    for row in _read(reference / "multitangent" / "lrs_math_with_search_loss.csv"):
        approach = _authors_id(row["gradient_approach"], row["k"])
        assert fg_grid.math_learning_rate(names[row["function"]], int(row["n"]), approach) == float(row["lr"])
    head = {
        (r["model"], r["dataset"], _authors_id(r["gradient_approach"], r["k"])): float(r["lr"])
        for r in _read(reference / "multitangent" / "lrs_sota_nns.csv")
    }
    for row in _read(reference / "multitangent" / "lrs_sota_nns_with_search_loss.csv"):
        approach = _authors_id(row["gradient_approach"], row["k"])
        task = f"{row['model']}_{row['dataset']}"
        assert fg_grid.nn_learning_rate(task, approach, "pre2025") == float(row["lr"])
        assert (
            fg_grid.nn_learning_rate(task, approach, "head") == head[(row["model"], row["dataset"], approach)]
        )
    for row in _read(reference / "multitangent" / "lrs_fc_nns_with_search_loss.csv"):
        task = row["model"].replace("fc_w=", "fc_w")
        assert fg_grid.nn_learning_rate(task, _authors_id(row["gradient_approach"], row["k"])) == float(
            row["lr"]
        )
    for row in _read(reference / "multitangent" / "lrs_math__custom_tangents_with_search_loss.csv"):
        angle = re.search(r"specific_angle_(\d+)", row["optimizer"])
        combination = "mean" if row["gradient_approach"] == "fg-mean" else "orthogonal_projection"
        lr = fg_grid.custom_learning_rate(
            "styblinski_tang", 64, combination, int(row["k"]), float(angle.group(1)) if angle else 90.0
        )
        assert lr == float(row["lr"])


def test_published_file_holds_placeholders_and_references(reference):
    from alttrain.verification.published import load_published

    data = load_published(REPO / "paper" / "published" / "fg.yaml", "fg")
    entries = {e["id"]: e for e in data["entries"]}
    for approach in fg_grid.APPROACHES:
        for width in (256, 1024, 4096):
            assert entries[f"fg_tab_fc_mnist/{approach}/w{width}/test_acc"]["value"] is None
        for task in fg_grid.SOTA_TASKS:
            assert entries[f"fg_tab_sota/{approach}/{task}/test_acc"]["value"] is None
    assert sum(i.startswith("fg_tab_closed_form/") for i in entries) == 264
    names = {"sphere": "sphere", "rosenbrock": "rosenbrock", "styblinski-tang": "styblinski_tang"}
    for row in _read(reference / "multitangent" / "lrs_math_with_search_loss.csv"):
        approach = _authors_id(row["gradient_approach"], row["k"])
        entry = entries[
            f"fg_ref/closed_form/{names[row['function']]}/n{row['n']}/{approach}/search_final_value"
        ]
        assert entry["value"] == float(row["loss"])
        assert entry["metric"] == "final_value_search"
    values = [e["value"] for e in data["entries"] if e["value"] is not None]
    assert all(isinstance(v, float) for v in values)
    assert {c["id"] for c in data["claims"]} >= {
        "fg_claim_more_tangents_higher_cosine",
        "fg_claim_projection_at_least_mean_cosine",
    }
