"""OIALR low-rank layers and controller: conversion, re-diagonalisation, truncation, optimizer state,
schedule."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from torch import nn

from alttrain.lowrank import build_controller
from alttrain.lowrank.controller import OIALRController, OIALROptions, eligible, eligible_layers
from alttrain.lowrank.layers import LowRankFactors, convert_module, is_lowrank, use_factorized
from alttrain.lowrank.linalg import thin_svd, truncation_rank


def _modules():
    torch.manual_seed(0)
    return {
        "linear": (nn.Linear(24, 40), torch.randn(5, 7, 24)),
        "linear_wide": (nn.Linear(40, 24), torch.randn(6, 40)),
        "conv1d": (nn.Conv1d(6, 16, 3, padding=1), torch.randn(4, 6, 20)),
        "conv2d": (nn.Conv2d(3, 12, 3, stride=2, padding=1), torch.randn(2, 3, 16, 16)),
        "conv2d_tall": (nn.Conv2d(40, 8, 1), torch.randn(2, 40, 5, 5)),
    }


@pytest.mark.parametrize("name", list(_modules()))
@pytest.mark.parametrize("mode", ["dense", "factorized", "auto"])
def test_conversion_reproduces_the_layer_output(name, mode):
    module, x = _modules()[name]
    expected = module(x)
    factors = convert_module(module, forward_mode=mode)
    assert is_lowrank(module) and isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d))
    assert "weight" not in dict(module.named_parameters(recurse=False))
    # Sigma is diagonal at conversion, U and V^T have orthonormal columns / rows
    sigma = factors.sigma.detach()
    assert torch.equal(sigma, torch.diag(torch.diagonal(sigma)))
    k = factors.rank
    assert torch.allclose(factors.u.T @ factors.u, torch.eye(k), atol=1e-5)
    assert torch.allclose(factors.vt @ factors.vt.T, torch.eye(k), atol=1e-5)
    assert not factors.u.requires_grad and not factors.vt.requires_grad and factors.sigma.requires_grad
    out = module(x)
    assert torch.allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_attention_packed_projection_conversion_keeps_output():
    torch.manual_seed(1)
    attention = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    x = torch.randn(3, 5, 16)
    expected = attention(x, x, x)[0]
    assert eligible(attention)
    convert_module(attention)
    convert_module(attention.out_proj)
    assert isinstance(attention, nn.MultiheadAttention) and attention.in_proj_weight.shape == (48, 16)
    assert torch.allclose(attention(x, x, x)[0], expected, atol=1e-5)
    attention.train()
    attention(x, x, x)[0].sum().backward()
    assert attention.factors.sigma.grad is not None and attention.out_proj.factors.sigma.grad is not None


def test_factorised_forward_rule():
    # square 64x64: two thin products win for many tokens when k < 64*64/128 = 32
    assert use_factorized("auto", 64, 64, 31, 10_000)
    assert not use_factorized("auto", 64, 64, 33, 10_000)
    assert not use_factorized("dense", 64, 64, 1, 10_000) and use_factorized("factorized", 64, 64, 64, 1)


@pytest.mark.parametrize(
    ("outputs", "inputs", "expected"),
    [((10, 768), None, False), ((3072, 768), None, True)],
)
def test_linear_eligibility_anchors(outputs, inputs, expected):
    assert eligible(nn.Linear(outputs[1], outputs[0])) is expected


def test_conv_eligibility_anchors():
    assert not eligible(nn.Conv1d(7, 512, 3))  # weight 512x7x3: 21 columns < 512 / 10
    assert eligible(nn.Conv1d(512, 7, 3))  # weight 7x512x3: 1536 columns, only "too few columns" skips


def test_truncation_rule_anchors():
    def rank(k_prev, z, min_dim=7, beta=0.15):
        # k_prev values, descending; the first one below beta * max is at index z (None: none below)
        values = torch.linspace(1.0, 0.5, k_prev)
        if z is not None:
            values[z:] = 0.01
        return truncation_rank(values, k_prev, beta, min_dim)

    assert rank(768, None) == 768
    assert rank(768, 100) == 384
    assert rank(768, 500) == 500
    assert rank(20, 8) == 10
    assert rank(20, 12) == 12
    assert rank(10, 3) == 7  # 0.5 * 10 = 5 is not above the floor 7, and 3 < 7
    for k_prev in (2, 5, 9, 40):
        for z in range(k_prev):
            assert 1 <= rank(k_prev, z, min_dim=3) <= k_prev, "ranks never grow"


def test_svd_of_repeated_and_zero_singular_values_has_no_nan():
    for matrix in (
        torch.eye(6),
        torch.zeros(8, 5),
        torch.ones(7, 4),
        torch.diag(torch.tensor([2.0, 2.0, 0.0])),
    ):
        u, s, vh = thin_svd(matrix)
        assert torch.isfinite(u).all() and torch.isfinite(s).all() and torch.isfinite(vh).all()
        assert torch.allclose(u @ torch.diag(s) @ vh, matrix, atol=1e-5)
    layer = nn.Linear(5, 8)
    with torch.no_grad():
        layer.weight.zero_()
    controller = OIALRController(
        layer_model := nn.Sequential(layer),
        None,
        OIALROptions(delay=1, stability_frequency=1, keep_last_layer=False),
    )
    controller.after_step(1)
    factors = layer_model[0].factors
    assert all(torch.isfinite(p).all() for p in factors.parameters())
    with pytest.raises(ValueError):
        thin_svd(torch.tensor([[float("nan"), 1.0], [0.0, 1.0]]))


def _mlp(widths=(12, 16, 16, 10)):
    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=False):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def _train_steps(model, optimizer, steps, controller=None, start=1):
    torch.manual_seed(123)
    for update in range(start, start + steps):
        x, y = torch.randn(32, model[0].in_features), torch.randint(0, 10, (32,))
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if controller is not None:
            controller.after_step(update)


def test_rediagonalisation_keeps_the_function_and_diagonalises_sigma():
    model = _mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    controller = build_controller(
        model,
        {"delay": 1, "stability_frequency": 1000, "fixed_inner_dim": True, "keep_last_layer": False},
        optimizer,
    )
    _train_steps(model, optimizer, 5, controller)  # Sigma moves away from diagonal
    x = torch.randn(9, 12)
    before = model(x).detach()
    sigma = model[0].factors.sigma.detach()
    assert (sigma - torch.diag(torch.diagonal(sigma))).abs().max() > 1e-4
    weight_before = model[0].weight.detach().clone()
    controller._check()
    after_sigma = model[0].factors.sigma.detach()
    diag = torch.diagonal(after_sigma)
    assert torch.equal(after_sigma, torch.diag(diag))
    assert (diag >= 0).all() and (diag[:-1] >= diag[1:]).all()
    rel = (model[0].weight.detach() - weight_before).norm() / weight_before.norm()
    assert rel < 1e-5
    assert torch.allclose(model(x), before, atol=1e-5)


def test_switch_and_truncation_optimizer_state():
    model = _mlp((12, 40, 40, 10))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    controller = build_controller(
        model,
        {"delay": 3, "stability_frequency": 2, "sigma_cutoff_fraction": 0.5, "keep_last_layer": False},
        optimizer,
    )
    _train_steps(model, optimizer, 2, controller)
    step_before = float(optimizer.state[model[0].weight]["step"])
    # the switch happens after update 3; check the state right then by stopping the first check from
    # truncating
    controller.options = OIALROptions(**{**vars(controller.options), "fixed_inner_dim": True})
    _train_steps(model, optimizer, 1, controller, start=3)
    sigma = model[0].factors.sigma
    state = optimizer.state[sigma]
    assert state["exp_avg"].shape == (12, 12) and not state["exp_avg"].any() and not state["exp_avg_sq"].any()
    assert float(state["step"]) == step_before + 1  # Adam's step count is kept through the switch
    assert any(p is sigma for p in optimizer.param_groups[0]["params"])
    assert not any(p is model[0].factors.u for p in optimizer.param_groups[0]["params"])
    # train Sigma, then a truncating check: moments are the old [:k, :k] block
    _train_steps(model, optimizer, 1, controller, start=4)
    controller.options = OIALROptions(**{**vars(controller.options), "fixed_inner_dim": False})
    old = {
        name: (optimizer.state[m.factors.sigma]["exp_avg"].clone(), optimizer.state[m.factors.sigma]["step"])
        for name, m in (("0", model[0]), ("2", model[2]), ("4", model[4]))
    }
    controller._check()
    truncated = False
    for name, m in (("0", model[0]), ("2", model[2]), ("4", model[4])):
        k = m.factors.rank
        state = optimizer.state[m.factors.sigma]
        assert state["exp_avg"].shape == (k, k) == state["exp_avg_sq"].shape == m.factors.sigma.shape
        assert torch.equal(state["exp_avg"], old[name][0][:k, :k])
        assert float(state["step"]) == float(old[name][1])
        truncated |= k < old[name][0].shape[0]
    assert truncated, "beta = 0.5 cuts some rank"
    _train_steps(model, optimizer, 2, controller, start=5)  # the optimizer keeps working on the new shapes


def test_rank_rule_check_by_hand_and_against_the_controller_rule():
    """``oialr_check_rank_rule``'s own reading of the authors' rule (pipelines.oialr.rule_ranks): hand cases,
    round-off counted both ways, and agreement with the controller's truncation_rank on random spectra."""
    import numpy as np

    from alttrain.pipelines.oialr import rule_ranks

    assert rule_ranks(np.array([10.0, 5.0, 2.0, 1.5]), 4, 0.1, 0) == (4, 4)  # none below 1.0: all kept
    assert rule_ranks(np.array([10.0, 5.0, 2.0, 0.5]), 4, 0.1, 0) == (3, 3)  # first below at index 3
    assert rule_ranks(np.array([10.0, 0.5, 0.4, 0.3]), 4, 0.1, 0) == (2, 2)  # index 1: at most half cut
    assert rule_ranks(np.array([10.0, 0.5, 0.4, 0.3]), 4, 0.1, 3) == (3, 3)  # half is not above the floor 3
    assert rule_ranks(np.array([10.0, 5.0, 1.0000001, 0.5]), 4, 0.1, 0) == (2, 3)  # at the cutoff: both ways
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        k = int(torch.randint(2, 40, (1,), generator=generator))
        s = torch.rand(k, generator=generator).sort(descending=True).values
        beta, floor = float(torch.rand(1, generator=generator)), int(torch.randint(0, 5, (1,), generator=generator))
        low, high = rule_ranks(s.double().numpy(), k, beta, floor)
        assert low <= truncation_rank(s, k, beta, floor) <= high


def test_controller_records_each_truncation_once():
    model = _mlp((12, 40, 30, 10))
    controller = build_controller(model, {"delay": 0, "sigma_cutoff_fraction": 0.5}, None)
    assert json.loads(controller.metrics()["rank_updates"]) == []
    controller._check()
    records = json.loads(controller.metrics()["rank_updates"])
    assert [r["layer"] for r in records] == ["0", "2"]  # a counter of 0 selects every target (keep_last: not "4")
    for record, full in zip(records, (12, 30), strict=True):
        spectrum = [float(v) for v in record["singular_values"].split()]
        assert len(spectrum) == record["rank_before"] == record["full_rank"] == full
        assert spectrum == sorted(spectrum, reverse=True)
        assert record["rank_chosen"] == model[int(record["layer"])].factors.rank and record["beta"] == 0.5
    assert json.loads(controller.metrics()["rank_updates"]) == []  # handed out once


def test_trainable_and_compression_percent_by_hand():
    model = _mlp((12, 40, 30, 10))  # Linear 12->40, 40->30, 30->10
    original = (12 * 40 + 40) + (40 * 30 + 30) + (30 * 10 + 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    controller = build_controller(
        model, {"delay": 0, "fixed_inner_dim": True}, optimizer
    )  # keep_last: 30->10 stays
    sigma_and_bias = (12 * 12 + 40) + (30 * 30 + 30)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == sigma_and_bias + 30 * 10 + 10
    assert math.isclose(100 * trainable / original, 100 * (12 * 12 + 40 + 30 * 30 + 30 + 310) / 2060)
    stored = (40 * 12 + 12 * 12 + 12 * 12 + 40) + (40 * 30 + 30 * 30 + 30 * 30 + 30) + 310
    assert math.isclose(controller.metrics()["compression_pct"], 100 * stored / original)
    assert controller.metrics()["lowrank_layers"] == 2


def test_layer_schedule_processes_the_deepest_layers_first(monkeypatch):
    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(25)])
    controller = OIALRController(model, None, OIALROptions(delay=100, stability_frequency=10))
    assert len(controller.targets) == 24  # keep_last_layer keeps the 25th full rank
    seen: list[list[str]] = []
    monkeypatch.setattr(controller, "_update_layer", lambda name: seen[-1].append(name))
    monkeypatch.setattr(
        controller,
        "_switch",
        lambda: setattr(controller, "phase", "low_rank") or setattr(controller, "next_check", 100),
    )
    for update in range(1, 100 + 10 * 14 + 1):
        if controller.phase == "low_rank" and update == controller.next_check:
            seen.append([])
        elif update == 100:
            seen.append([])
        controller.after_step(update)
    counts = [len(names) for names in seen]
    assert counts[:12] == [2 * i for i in range(1, 13)] and counts[12:] == [24, 24, 24]
    assert seen[0] == controller.targets[-2:]  # the deepest two
    small = OIALRController(
        nn.Sequential(*[nn.Linear(8, 8) for _ in range(6)]),
        None,
        OIALROptions(delay=1, stability_frequency=1),
    )
    small_seen: list[str] = []
    monkeypatch.setattr(small, "_update_layer", small_seen.append)
    small.after_step(1)
    assert small_seen == small.targets  # int((L-1) * 0.1) = 0 selects every layer


def test_check_steps_follow_delay_and_frequency():
    model = _mlp()
    controller = OIALRController(
        model, None, OIALROptions(delay=4, stability_frequency=3, keep_last_layer=False)
    )
    checks_at = []
    for update in range(1, 15):
        before = controller.checks
        controller.after_step(update)
        if controller.checks > before:
            checks_at.append(update)
        assert (controller.phase == "low_rank") == (update >= 4)
    assert checks_at == [4, 7, 10, 13]


def test_keep_first_and_keep_last_layers():
    model = _mlp((12, 16, 16, 16, 10))
    names = eligible_layers(model)
    assert names == ["0", "2", "4", "6"]
    controller = OIALRController(
        model, None, OIALROptions(delay=0, keep_first_layer=True, keep_last_layer=True)
    )
    assert controller.targets == ["2", "4"]
    assert (
        not is_lowrank(model[0])
        and is_lowrank(model[2])
        and is_lowrank(model[4])
        and not is_lowrank(model[6])
    )


def _resumed(saved, spec, optimizer_class):
    """A fresh MLP, optimizer and controller loaded from ``saved`` = (controller, model, optimizer) state dicts,
    in the order a checkpoint restores them."""
    model = _mlp((12, 40, 40, 10))
    optimizer = optimizer_class(model.parameters(), lr=1e-2)
    controller = build_controller(model, spec, optimizer)
    controller.load_state_dict(saved[0])
    model.load_state_dict(saved[1])
    optimizer.load_state_dict(saved[2])
    return model, optimizer, controller


def test_resume_rebuilds_low_rank_layers_and_optimizer_state():
    spec = {"delay": 2, "stability_frequency": 2, "sigma_cutoff_fraction": 0.6, "keep_last_layer": False}
    model = _mlp((12, 40, 40, 10))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    controller = build_controller(model, spec, optimizer)
    _train_steps(model, optimizer, 5, controller)
    # a deep copy, as a checkpoint file is (optimizer.state_dict() returns the live state tensors)
    saved = copy.deepcopy((controller.state_dict(), model.state_dict(), optimizer.state_dict()))
    assert any(k < 12 for k in saved[0]["ranks"].values()), "the run truncated before the checkpoint"
    resumed_model, resumed_optimizer, resumed = _resumed(saved, spec, torch.optim.AdamW)
    _train_steps(model, optimizer, 4, controller, start=6)
    _train_steps(resumed_model, resumed_optimizer, 4, resumed, start=6)
    x = torch.randn(7, 12)
    assert torch.allclose(model(x), resumed_model(x), atol=1e-6)
    assert resumed.ranks == controller.ranks


def test_reinit_shapes_false_zeroes_the_tail():
    model = _mlp((12, 40, 10))
    controller = OIALRController(
        model,
        None,
        OIALROptions(
            delay=1,
            stability_frequency=1,
            sigma_cutoff_fraction=0.9,
            reinit_shapes=False,
            keep_last_layer=False,
        ),
    )
    controller.after_step(1)
    factors = model[0].factors
    k = controller.ranks["0"]
    assert factors.rank == 12 and k < 12
    assert not factors.sigma[k:].any() and not factors.sigma[:, k:].any()


def test_bf16_quirk_and_rotated_moments_keep_the_function_close():
    for options in ({"bf16_rotation_quirk": True}, {"rotate_moments": True}):
        model = _mlp()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        controller = build_controller(
            model,
            {
                "delay": 1,
                "stability_frequency": 1000,
                "fixed_inner_dim": True,
                "keep_last_layer": False,
                **options,
            },
            optimizer,
        )
        _train_steps(model, optimizer, 3, controller)
        x = torch.randn(5, 12)
        before = model(x).detach()
        controller._check()
        tol = 5e-2 if "bf16_rotation_quirk" in options else 1e-5  # bf16 keeps about 3 significant digits
        assert torch.allclose(model(x), before, atol=tol)
        _train_steps(model, optimizer, 2, controller, start=4)


def test_count_forward_calls_acts_before_the_forward_of_call_d():
    model = _mlp()
    controller = build_controller(
        model,
        {"delay": 3, "stability_frequency": 5, "count_forward_calls": True, "keep_last_layer": False},
        None,
    )
    model(torch.randn(2, 12))
    model(torch.randn(2, 12))
    assert controller.phase == "full_rank"
    model.eval()
    model(torch.randn(2, 12))  # evaluation forwards are not counted
    assert controller.phase == "full_rank"
    model.train()
    model(torch.randn(2, 12))  # call 3: converted before computing
    assert controller.phase == "low_rank" and controller.checks == 1


def test_unknown_options_are_user_errors():
    from alttrain.errors import UserError

    with pytest.raises(UserError, match="unknown lowrank option"):
        build_controller(_mlp(), {"delay": 1, "sigma_cutoff": 0.1}, None)
    with pytest.raises(UserError, match="unknown lowrank mode"):
        build_controller(_mlp(), {"mode": "magic"}, None)
    with pytest.raises(UserError, match="distinct positive"):
        build_controller(_mlp(), {"mode": "stability", "series": [{"every": 2}, {"every": 2}]}, None)


def test_factors_from_weight_respect_init_ratio():
    weight = torch.randn(20, 8)
    factors = LowRankFactors.from_weight(weight, init_ratio=0.5)
    assert factors.rank == 4
    _, s, _ = torch.linalg.svd(weight, full_matrices=False)
    assert torch.allclose(torch.linalg.matrix_norm(factors.weight() - weight, ord=2), s[4], rtol=1e-4)


@pytest.mark.parametrize("method", __import__("alttrain.methods", fromlist=["list_methods"]).list_methods())
def test_every_estimator_trains_sigma_after_the_switch(method):
    from alttrain.data import load_dataset
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.models import build_model

    data = load_dataset({"name": "digits"})
    torch.manual_seed(0)
    model = build_model({"name": "mlp", "hidden": [32, 32]}, data)
    loss = Loss("cross_entropy", 10)
    estimator = create_method(method, model, loss, data, torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    controller = build_controller(
        model, {"delay": 1, "stability_frequency": 100, "keep_last_layer": False}, optimizer
    )
    index = torch.arange(16)
    x, y = data.train.take(index)
    estimator.compute_gradients(x, y, index)
    had_grad = {n for n, p in model.named_parameters() if p.grad is not None and n.endswith("weight")}
    optimizer.step()
    controller.after_step(1)
    optimizer.zero_grad(set_to_none=True)
    estimator.compute_gradients(x, y, index)
    for name in had_grad:
        layer = name.rsplit(".", 1)[0]
        sigma = model.get_submodule(layer).factors.sigma
        assert sigma.grad is not None and torch.isfinite(sigma.grad).all(), (method, layer)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if n.endswith("sigma")}
    optimizer.step()
    moved = [n for n, p in model.named_parameters() if n in before and not torch.equal(p, before[n])]
    assert len(moved) == len([n for n in had_grad])


def test_halve_every_epoch_follows_the_autoformer_type1_rule():
    """The Autoformer code calls adjust_learning_rate(optimizer, epoch + 1) after each 0-based epoch with
    lr = lr0 * 0.5 ** ((epoch - 1) // 1): epochs 1 and 2 (1-based) run at lr0, halving starts at epoch 3."""
    from alttrain.schedules import Schedule

    lr0, steps_per_epoch, epochs = 0.1, 3, 6
    expected, lr = [], lr0  # the authors' loop, written out
    for epoch in range(epochs):
        expected += [lr] * steps_per_epoch
        lr = lr0 * 0.5 ** ((epoch + 1 - 1) // 1)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr0)
    schedule = Schedule(optimizer, {"name": "halve_every_epoch"}, steps_per_epoch)
    seen = []
    for update in range(epochs * steps_per_epoch):
        schedule.before_update(update)
        seen.append(schedule.current_lr())
    assert seen == pytest.approx(expected, rel=0, abs=1e-15)
    assert seen[: 2 * steps_per_epoch] == [lr0] * (2 * steps_per_epoch)


def test_reinit_shapes_false_keeps_the_rank_many_steps_after_a_cut():
    """With ``reinit_shapes: false`` the authors zero U[:, k:], V^T[k:] and Sigma's tail, so the tail stays inert:
    the weight's numerical rank is still <= k after many Adam steps (Adam's old moments keep moving Sigma's
    tail)."""
    model = _mlp((64, 64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    spec = {"delay": 5, "stability_frequency": 10**6, "sigma_cutoff_fraction": 0.5, "reinit_shapes": False,
            "keep_last_layer": False}
    controller = build_controller(model, spec, optimizer)
    _train_steps(model, optimizer, 5, controller)
    k = controller.ranks["0"]
    assert model[0].factors.rank == 64 and k == 32  # at most a 50 % cut per check
    _train_steps(model, optimizer, 60, controller, start=6)
    weight = model[0].weight.detach()
    assert int(torch.linalg.matrix_rank(weight)) <= k
    u, vt = model[0].factors.u, model[0].factors.vt
    assert not u[:, k:].any() and not vt[k:].any()


@pytest.mark.parametrize(("s", "expected"), [(0, [1, 2, 3, 4, 5, 6, 7]), (1, [1, 2, 3, 4, 5, 6, 7]),
                                             (2, [1, 3, 5, 7]), (3, [1, 4, 7])])
def test_stable_update_delay_skips_s_minus_one_checks(monkeypatch, s, expected):
    """The authors set stable_delay = s after a layer's update and decrement it in the same check's last loop,
    so an updated layer sits out s - 1 checks (s = 1 skips none)."""
    controller = OIALRController(
        nn.Sequential(*[nn.Linear(8, 8) for _ in range(4)]), None,
        OIALROptions(delay=1, stability_frequency=1, stable_update_delay=s),
    )
    updated: list[int] = []
    monkeypatch.setattr(controller, "_update_layer",
                        lambda name: updated.append(controller.checks) if name == controller.targets[0] else None)
    for update in range(1, 8):
        controller.after_step(update)
    assert controller.checks == 7 and updated == expected


def test_delay_zero_converts_at_once_and_never_checks_like_the_authors():
    """The authors' first check is at call count == delay; with delay 0 the counter (incremented before the
    comparison) never equals it, so the ranks stay full. full_rank_warmup false with delay d checks at d, d + nu."""
    model = _mlp()
    controller = build_controller(model, {"delay": 0, "stability_frequency": 2, "sigma_cutoff_fraction": 0.9,
                                          "keep_last_layer": False}, None)
    assert controller.phase == "low_rank"
    for update in range(1, 11):
        controller.after_step(update)
    assert controller.checks == 0 and controller.ranks == {"0": 12, "2": 16, "4": 10}
    model = _mlp()
    controller = build_controller(model, {"delay": 3, "stability_frequency": 2, "full_rank_warmup": False,
                                          "keep_last_layer": False}, None)
    assert controller.phase == "low_rank"
    checks = []
    for update in range(1, 10):
        controller.after_step(update)
        checks.append(controller.checks)
    assert checks == [0, 0, 1, 1, 2, 2, 3, 3, 4]


def test_attention_with_separate_qkv_projections_is_refused():
    """The authors convert separate q/k/v projections (kdim or vdim != embed_dim); this artifact does not, and
    says so instead of silently training them full rank."""
    from alttrain.errors import UserError

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(16, 4, kdim=8, vdim=8, batch_first=True)

    with pytest.raises(UserError, match="attention.*separate q/k/v"):
        build_controller(Cross(), {"delay": 1}, None)


@pytest.mark.parametrize("frozen", [False, True])
def test_freeze_converted_biases_reproduces_the_authors_untrained_biases(frozen):
    """The authors give a converted layer a new bias Parameter that never enters the optimizer: it keeps its
    value after the switch but still counts as trainable. Default: biases keep training (the method's intent)."""
    model = _mlp((12, 40, 40, 10))  # 0 and 2 converted, 4 kept full rank (keep_last_layer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    controller = build_controller(model, {"delay": 2, "stability_frequency": 3, "sigma_cutoff_fraction": 0.3,
                                          "freeze_converted_biases": frozen}, optimizer)
    _train_steps(model, optimizer, 2, controller)
    at_switch = {name: model.get_submodule(name).bias.detach().clone() for name in ("0", "2", "4")}
    _train_steps(model, optimizer, 6, controller, start=3)
    moved = {name: not torch.equal(model.get_submodule(name).bias, value) for name, value in at_switch.items()}
    assert moved == {"0": not frozen, "2": not frozen, "4": True}
    assert all(model.get_submodule(name).bias.requires_grad for name in at_switch)  # counted as trainable
    assert controller.ranks["2"] < 40  # a cut (a swap of Sigma in the optimizer) happened after the switch


def test_freeze_converted_biases_survives_a_resume():
    spec = {"delay": 2, "stability_frequency": 2, "sigma_cutoff_fraction": 0.6, "keep_last_layer": False,
            "freeze_converted_biases": True}
    model = _mlp((12, 40, 40, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    controller = build_controller(model, spec, optimizer)
    _train_steps(model, optimizer, 5, controller)
    saved = copy.deepcopy((controller.state_dict(), model.state_dict(), optimizer.state_dict()))
    resumed_model, resumed_optimizer, resumed = _resumed(saved, spec, torch.optim.Adam)
    _train_steps(model, optimizer, 4, controller, start=6)
    _train_steps(resumed_model, resumed_optimizer, 4, resumed, start=6)
    x = torch.randn(7, 12)
    assert torch.allclose(model(x), resumed_model(x), atol=1e-6)
    assert torch.equal(resumed_model[0].bias, saved[1]["0.bias"])


# ---------------------------------------------------------------- SVD path on degenerate spectra (finite)


DEGENERATE_MATRICES = {
    "zero": lambda: torch.zeros(12, 8),
    "identity (all singular values repeated)": lambda: torch.eye(12, 8),
    "rank one": lambda: torch.outer(torch.arange(1.0, 13.0), torch.ones(8)),
    "repeated pairs": lambda: torch.diag(torch.tensor([3.0, 3.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])),
    "tiny": lambda: 1e-30 * torch.eye(12, 8),
}


@pytest.mark.parametrize("case", list(DEGENERATE_MATRICES))
def test_low_rank_svd_and_truncation_are_finite_on_degenerate_spectra(case):
    from alttrain.lowrank import linalg

    matrix = DEGENERATE_MATRICES[case]()
    u, s, vh = linalg.thin_svd(matrix)
    for factor in (u, s, vh):
        assert torch.isfinite(factor).all(), f"{case}: non-finite SVD factor"
    torch.testing.assert_close(u @ torch.diag(s) @ vh, matrix, atol=1e-5, rtol=1e-5)
    k = linalg.truncation_rank(s, len(s), beta=0.1, min_dim=1)
    assert 1 <= k <= len(s)
    q = linalg.polar_factor(matrix)
    assert torch.isfinite(q).all()
