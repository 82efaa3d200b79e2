"""Metrics against hand computations: gradient alignment and gap reduction
(docs/methods/f3.md#derived-checks)."""

import math

import pytest
import torch

from alttrain.metrics import alignment_by_parameter, gap_reduction, gradient_alignment


def test_alignment_of_parallel_and_orthogonal_vectors():
    g = torch.tensor([3.0, 4.0])
    assert gradient_alignment(2 * g, g) == pytest.approx({"cosine": 1.0, "norm_ratio": 2.0})
    assert gradient_alignment(-g, g) == pytest.approx({"cosine": -1.0, "norm_ratio": 1.0})
    assert gradient_alignment(torch.tensor([-4.0, 3.0]), g) == pytest.approx({"cosine": 0.0, "norm_ratio": 1.0})


def test_alignment_hand_computed_angle():
    # (1, 0) against (1, 1): cos 45 degrees, norm ratio 1/sqrt(2)
    result = gradient_alignment(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))
    assert result["cosine"] == pytest.approx(1 / math.sqrt(2))
    assert result["norm_ratio"] == pytest.approx(1 / math.sqrt(2))


def test_alignment_zero_true_gradient_is_nan_not_error():
    result = gradient_alignment(torch.ones(3), torch.zeros(3))
    assert math.isnan(result["cosine"]) and math.isnan(result["norm_ratio"])


def test_global_alignment_concatenates_parameters():
    est = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([0.0])}
    true = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([1.0])}
    global_align, per_param = alignment_by_parameter(est, true)
    assert global_align["cosine"] == pytest.approx(1 / math.sqrt(2))
    assert per_param["a"]["cosine"] == pytest.approx(1.0)
    assert per_param["b"]["norm_ratio"] == pytest.approx(0.0)


def test_gap_reduction_anchors():
    assert gap_reduction(97.0, 95.0, 98.0, higher_is_better=True) == pytest.approx(2 / 3)
    assert gap_reduction(0.116, 0.50, 0.10, higher_is_better=False) == pytest.approx(0.96)
    assert math.isnan(gap_reduction(1.0, 2.0, 2.0, higher_is_better=True))
