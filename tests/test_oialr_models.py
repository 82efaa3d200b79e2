"""oialr models: the mini-ViT's conversion counts, Autoformer shapes and eligibility
(docs/methods/oialr.md#derived-checks)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from alttrain.data import DataSplits, Split
from alttrain.lowrank import build_controller
from alttrain.lowrank.controller import eligible_layers
from alttrain.lowrank.layers import is_lowrank
from alttrain.models import build_model


def _image_data(shape=(3, 32, 32), classes=10) -> DataSplits:
    x, y = torch.zeros(2, *shape), torch.zeros(2, dtype=torch.long)
    return DataSplits("fake", "fake images", "classification", classes, shape, Split(x, y), Split(x, y))


def test_minivit_trainable_percent_right_after_the_switch_matches_the_spec():
    with torch.device("meta"):  # shapes only: no memory, no SVD
        model = build_model({"name": "oialr_vit"}, _image_data())
    assert sum(p.numel() for p in model.parameters()) == 42_684_682
    names = eligible_layers(model)
    assert len(names) == 25 and "head" not in names  # the 10 x 768 head is ineligible
    controller = build_controller(model, {"delay": 2500, "stability_frequency": 500}, None)
    assert controller.targets == names[:-1] and names[-1] == "blocks.5.mlp.fc2"  # kept full rank
    # the switch with k = min(m, n) for every target, as a resume rebuilds it (no SVD on the meta device)
    full_ranks = {}
    for name in controller.targets:
        weight = model.get_submodule(name).weight
        full_ranks[name] = min(weight.shape[0], math.prod(weight.shape[1:]))
    converted = sum(model.get_submodule(n).weight.numel() for n in controller.targets)
    assert converted == 40_255_488
    controller.load_state_dict(
        {
            "phase": "low_rank",
            "count": 2500,
            "next_check": 3000,
            "counter": 2,
            "checks": 1,
            "stable_delay": dict.fromkeys(controller.targets, 0),
            "ranks": full_ranks,
            "shapes": full_ranks,
        }
    )
    assert all(is_lowrank(model.get_submodule(n)) for n in controller.targets)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 16_032_010
    assert round(100 * trainable / 42_684_682, 2) == 37.56
    assert sum(p.numel() for p in model.parameters()) == 69_890_314
    assert round(controller.metrics()["compression_pct"], 1) == 163.7


def _ett_like(pred_len=24, seq_len=32, label_len=16, channels=7, marks=4, n=3) -> DataSplits:
    x = (
        torch.randn(n, seq_len, channels),
        torch.rand(n, seq_len, marks) - 0.5,
        torch.randn(n, label_len + pred_len, channels),
        torch.rand(n, label_len + pred_len, marks) - 0.5,
    )
    y = torch.randn(n, pred_len, channels)
    return DataSplits(
        "ett", "fake ETT", "regression", channels, (seq_len, channels), Split(x, y), Split(x, y)
    )


def test_autoformer_output_shape_and_gradients():
    torch.manual_seed(0)
    data = _ett_like()
    model = build_model(
        {"name": "oialr_autoformer", "d_model": 16, "n_heads": 2, "d_ff": 32, "moving_avg": 5}, data
    )
    x, y = data.train.take(torch.arange(3))
    out = model(*x)
    assert out.shape == y.shape == (3, 24, 7)
    nn.functional.mse_loss(out, y).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert model(*x).shape == (3, 24, 7)  # the per-sample delay aggregation of evaluation


def test_autoformer_eligibility_at_the_paper_width():
    with torch.device("meta"):
        model = build_model(
            {"name": "oialr_autoformer"}, _ett_like(pred_len=192, seq_len=96, label_len=48, marks=5)
        )
    names = eligible_layers(model)
    assert "decoder.0.trend_projection" in names  # Conv1d 7 x 512 x 3: 1536 columns pass the conv rule
    assert "enc_embedding.value" not in names  # Conv1d 512 x 7 x 3: 21 columns < 51.2
    assert "projection" not in names and "enc_embedding.time" not in names  # 512 -> 7 and 5 -> 512 Linear
    per_encoder = [
        "attention.query_projection",
        "attention.key_projection",
        "attention.value_projection",
        "attention.out_projection",
        "feed_forward.conv1",
        "feed_forward.conv2",
    ]
    assert all(f"encoder.{i}.{n}" in names for i in range(2) for n in per_encoder)
    assert len(names) == 2 * 6 + 11  # decoder: 2 x 4 projections, 2 convs, trend projection


@pytest.mark.parametrize(
    "spec",
    [{"name": "oialr_vit", "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2, "mlp_ratio": 2.0}],
)
def test_vit_accepts_flat_square_images(spec):
    data = _image_data(shape=(784,))
    model = build_model(spec, data)
    assert model(torch.randn(4, 784)).shape == (4, 10)


@pytest.mark.parametrize(
    ("spec", "shape", "eligible_count"),
    [
        # counts of docs/methods/oialr.md#e3-resnet-rs-101-on-imagenet and #e2-vit-b16-on-imagenet
        ({"name": "oialr_resnetrs101"}, (3, 64, 64), 174),  # 173 low-rank layers, the fc head kept
        ({"name": "oialr_vit_b16"}, (3, 224, 224), 50),  # 49 low-rank layers, the head kept
    ],
)
def test_imagenet_models_convert_and_still_run(spec, shape, eligible_count):
    with torch.device("meta"):
        model = build_model(spec, _image_data(shape, classes=1000))
        names = eligible_layers(model)
        assert len(names) == eligible_count and names[-1] in ("fc", "head")
        controller = build_controller(model, {"delay": 200, "stability_frequency": 100}, None)
        ranks = {}
        for name in controller.targets:
            weight = model.get_submodule(name).weight
            ranks[name] = min(weight.shape[0], math.prod(weight.shape[1:]))
        controller.load_state_dict(
            {
                "phase": "low_rank",
                "count": 200,
                "next_check": 300,
                "counter": 0,
                "checks": 1,
                "stable_delay": dict.fromkeys(ranks, 0),
                "ranks": ranks,
                "shapes": ranks,
            }
        )
        assert model(torch.empty(2, *shape)).shape == (2, 1000)  # shapes of every low-rank forward agree
