"""F3 models (parameter counts, docs/methods/f3.md#models) and the f3 grid and config."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from alttrain.data import DataSplits, Split
from alttrain.errors import UserError
from alttrain.grids import Settings
from alttrain.grids import f3 as grid
from alttrain.models import build_model, count_parameters
from alttrain.workflow import check_config, deep_merge, scale_settings
from conftest import REPO


def shapes(input_shape: tuple[int, ...], outputs: int, task: str = "classification") -> DataSplits:
    x = torch.zeros(2, *input_shape)
    y = torch.zeros(2, dtype=torch.long) if task == "classification" else torch.zeros(2, 1)
    return DataSplits("s", "shapes only", task, outputs, input_shape, train=Split(x, y), test=Split(x, y))


@pytest.mark.parametrize(
    ("input_shape", "outputs", "depth", "width", "count"),
    [
        ((1, 28, 28), 10, 1, 500, 397_510),
        ((1, 28, 28), 10, 2, 500, 648_010),
        ((1, 28, 28), 10, 1, 1000, 795_010),
        ((1, 28, 28), 10, 2, 1000, 1_796_010),
        ((3, 32, 32), 10, 1, 500, 1_541_510),
        ((3, 32, 32), 10, 2, 1000, 4_084_010),
        ((14,), 1, 1, 500, 8_001),
        ((14,), 1, 2, 500, 258_501),
        ((14,), 1, 10, 500, 2_262_501),
        ((12,), 1, 1, 500, 7_001),
    ],
)
def test_fc_parameter_counts(input_shape, outputs, depth, width, count):
    task = "classification" if outputs > 1 else "regression"
    model = build_model({"name": "f3_fc", "depth": depth, "width": width}, shapes(input_shape, outputs, task))
    assert count_parameters(model) == count
    assert len(model.blocks) == depth + 1


def test_fc_output_activation_by_task():
    torch.manual_seed(0)
    x = torch.randn(64, 12) * 10
    classifier = build_model({"name": "f3_fc", "depth": 1, "width": 8}, shapes((12,), 3))
    regressor = build_model({"name": "f3_fc", "depth": 1, "width": 8}, shapes((12,), 1, "regression"))
    assert classifier(x).min() > 0 and classifier(x).max() < 1  # sigmoid
    assert isinstance(regressor.blocks[-1][-1], torch.nn.Linear)  # no output activation
    assert isinstance(classifier.blocks[0][-1], torch.nn.Tanh)


def test_transformer_parameter_count_and_patch_order():
    data = shapes((1, 28, 28), 10)
    model = build_model({"name": "f3_transformer"}, data)
    assert count_parameters(model) == 965_898  # docs/methods/f3.md#derived-checks
    assert len(model.blocks) == 6  # [embedding + block 0], blocks 1-3, head-hidden, head-out
    embed = model.blocks[0][0]
    with torch.no_grad():  # identity embedding exposes the pixel order it produces
        embed.linear = torch.nn.Linear(784, 784)
        embed.linear.weight.copy_(torch.eye(784))
        embed.linear.bias.zero_()
    image = torch.arange(784.0).reshape(1, 1, 28, 28)
    flat = embed(image)[0]
    first_patch = image[0, 0, :7, :7].reshape(-1)  # rows 0-6, columns 0-6, row by row
    second_patch = image[0, 0, :7, 7:14].reshape(-1)
    assert torch.equal(flat[:49], first_patch) and torch.equal(flat[49:98], second_patch)


def config(scale: str) -> dict:
    merged = deep_merge(
        yaml.safe_load((REPO / "config/config.yaml").read_text()),
        scale_settings(scale, REPO),
    )
    merged["scale"] = scale
    return merged


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_grid_is_valid_and_unique(scale):
    cfg = config(scale)
    check_config(cfg, REPO / "config/schema/config.schema.yaml")
    runs = grid.training_runs(cfg["f3"], Settings.from_config(cfg))
    keys = [(r["experiment"], r["run_id"], r["seed"]) for r in runs]
    assert len(keys) == len(set(keys))
    for run in runs:
        assert run["optimizer"]["name"] == "adam" and run["optimizer"]["betas"] == [0.9, 0.999]
        assert run["labels"]["approach"] in grid.APPROACHES
        if run["experiment"] == "classification":
            assert any(v for k, v in run["labels"].items() if k.startswith("in_")), "every run is in a block"


def test_paper_grid_uses_the_authors_settings():
    cfg = config("paper")
    runs = grid.training_runs(cfg["f3"], Settings.from_config(cfg))
    by_key = {(r["experiment"], r["run_id"], r["seed"]): r for r in runs}
    mnist_llo = by_key[("classification", "mnist_fc1-500_llo", 1)]
    assert (
        mnist_llo["optimizer"]["lr"] == 1.5e-2
        and mnist_llo["batch_size"] == 50
        and mnist_llo["epochs"] == 100
    )
    assert {r["seed"] for r in runs if r["experiment"] == "classification"} == set(range(1, 11))
    sgemm = {
        (r["labels"]["depth"], r["labels"]["approach"]): r["optimizer"]["lr"]
        for r in runs
        if r["experiment"] == "sgemm_depth"
    }
    assert sgemm[(1, "bp")] == 1e-2 and sgemm[(2, "f3_delayed_error")] == 1e-5 and sgemm[(10, "bp")] == 1e-4
    wine = [r for r in runs if r["experiment"] == "wine"]
    assert {r["epochs"] for r in wine} == {500} and {r["batch_size"] for r in wine} == {50}
    transformer = [r for r in runs if r["experiment"] == "transformer"]
    assert {r["optimizer"]["lr"] for r in transformer} == {3e-3} and {r["loss"] for r in transformer} == {
        "cross_entropy"
    }


def test_configured_learning_rates_equal_the_published_facts(reference: Path):
    facts = yaml.safe_load((reference / "f3/facts.yaml").read_text())["learning_rates"]["table"]
    for scale in ("smoke", "cpu", "paper"):
        table = config(scale)["f3"]["learning_rates"]
        for row, rates in facts.items():
            assert {m: table[row][m] for m in rates} == rates, (scale, row)


def test_cpu_scale_marks_unavailable_data_as_not_run():
    cfg = config("cpu")
    rows = grid.not_run(cfg["f3"])
    assert {(r["experiment"], r["benchmark"]) for r in rows if not r["topology"]} == {
        ("classification", "cifar10"),
        ("classification", "census"),
        ("sgemm_depth", "sgemm"),
    }
    assert grid.empty_experiments(cfg["f3"], Settings.from_config(cfg)) == ["sgemm_depth"]


def test_bad_f3_values_stop_with_the_key_named():
    cfg = config("cpu")
    broken = copy.deepcopy(cfg)
    broken["f3"]["classification"]["blocks"]["methods"]["feedback_inits"] = ["gaussian"]
    with pytest.raises(UserError, match=r"f3\.classification\.blocks\.methods\.feedback_inits\.0"):
        check_config(broken, REPO / "config/schema/config.schema.yaml")
    broken = copy.deepcopy(cfg)
    broken["f3"]["wine"]["benchmarks"]["wine"]["batch_size"] = 0
    with pytest.raises(UserError, match=r"f3\.wine\.benchmarks\.wine"):
        check_config(broken, REPO / "config/schema/config.schema.yaml")
    with pytest.raises(UserError, match="no published learning rate for depth 5"):
        grid.learning_rate(cfg["f3"], "sgemm", "bp", "sgemm_depth", 5)


def test_grid_constants_match_the_methods():
    from alttrain.methods import feedback

    assert grid.FEEDBACK_INITS == feedback.FEEDBACK_INITS
    assert grid.F3_ERROR_INFOS == feedback.F3_ERROR_INFOS
