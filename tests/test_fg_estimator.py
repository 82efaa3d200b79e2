"""fg: the forward-gradient estimator on networks (weight / activity perturbation, simulated / true forward
mode).
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from alttrain.data import DataSplits, Split, load_dataset
from alttrain.losses import Loss
from alttrain.methods import create_method, list_methods
from alttrain.methods import fg_perturbation as fp
from alttrain.models import build_model

warnings.filterwarnings("ignore", category=FutureWarning)
LOSS = Loss("cross_entropy", 10)
MODELS = {
    "fg_fc": {"name": "fg_fc", "width": 32},
    "fg_resnet18": {"name": "fg_resnet18"},
    "fg_vit": {"name": "fg_vit"},
}


@pytest.fixture(scope="module")
def digits() -> DataSplits:
    return load_dataset({"name": "digits"})  # 8x8 images: a 1-channel image input for ResNet18 / ViT


def _batch(data: DataSplits, size: int = 16):
    return data.train.take(torch.arange(size))


def _estimator(model, data, **options):
    return create_method("fg", model, LOSS, data, torch.Generator().manual_seed(1), **options)


def _grads(model) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def _tangent_dim(model, x) -> int:
    _, outputs = fp.block_forward(model.blocks, x)
    return sum(o[0].numel() for o in outputs)


def test_fg_is_registered():
    assert "fg" in list_methods()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_weight_jvp_equals_gradient_dot_tangent(name, digits):
    """torch.func.jvp (vmapped over k) == grad . v for every model, ResNet18's BatchNorm in train mode."""
    torch.manual_seed(0)
    model = build_model(MODELS[name], digits).train()
    if name == "fg_vit":  # its head is zero-initialised; a random head makes every parameter matter
        torch.nn.init.normal_(model.blocks[-1][-1].head.head.weight, std=0.1)
    x, y = _batch(digits)
    params = [p for p in model.parameters()]
    loss = LOSS(model(x), y)
    grads = torch.autograd.grad(loss, params)
    flat = torch.cat([g.reshape(-1) for g in grads])
    tangents = torch.randn(2, flat.numel(), generator=torch.Generator().manual_seed(2))
    primal, jvps = fp.forward_weight_jvps(model, LOSS, x, y, tangents)
    assert torch.allclose(jvps, tangents @ flat, rtol=1e-3, atol=1e-4 * float(flat.norm()))
    assert primal.shape == () and torch.allclose(primal, loss.detach(), rtol=1e-5)  # the same pass's loss


@pytest.mark.parametrize("name", ["fg_fc", "fg_vit"])
@pytest.mark.parametrize("how", ["mean", "orthogonal_projection"])
def test_forward_and_simulated_activity_modes_agree(name, how, digits):
    """Same tangents -> same estimate in true forward mode (vmapped jvp) and simulated mode."""
    torch.manual_seed(0)
    model = build_model(MODELS[name], digits).train()
    x, y = _batch(digits)
    tangents = torch.randn(4, _tangent_dim(model, x), generator=torch.Generator().manual_seed(3))
    results = {}
    for mode in ("simulated", "forward"):
        model.zero_grad(set_to_none=True)
        fp.activity_perturbation_step(_estimator(model, digits, k=4, combination=how, mode=mode), x, y, tangents)
        results[mode] = _grads(model)
    assert torch.allclose(
        results["forward"], results["simulated"], rtol=1e-4, atol=1e-5 * float(results["simulated"].norm())
    )


def test_activity_jvps_with_batch_norm(digits):
    """ResNet18: per-sample JVPs agree in eval mode; in train mode BatchNorm couples the samples, so a tangent
    shared by the batch gives per-sample values that differ, but their sum over the batch is the same.
    """
    torch.manual_seed(0)
    model = build_model(MODELS["fg_resnet18"], digits)
    x, y = _batch(digits, 8)
    n = _tangent_dim(model, x)
    tangents = torch.randn(2, n, generator=torch.Generator().manual_seed(4))
    for training in (False, True):
        model.train(training)
        inputs, outputs = fp.block_forward(model.blocks, x)
        deltas = fp.activation_gradients(LOSS(outputs[-1], y), inputs, outputs)
        simulated = tangents @ torch.cat([d.reshape(len(x), -1) for d in deltas], 1).T  # (k, B)
        forward = fp.forward_activity_jvps(model.blocks, LOSS, x, y, tangents, [o.shape[1:] for o in outputs])
        scale = float(simulated.abs().max())
        assert torch.allclose(forward.sum(1), simulated.sum(1), atol=1e-4 * scale)
        if not training:
            assert torch.allclose(forward, simulated, atol=1e-4 * scale)


def _tiny_mlp_data(n_in: int, classes: int) -> DataSplits:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(12, n_in, generator=generator, dtype=torch.float64)
    y = torch.randint(0, classes, (12,), generator=generator)
    split = Split(x, y)
    return DataSplits("tiny", "tiny", "classification", classes, (n_in,), split, split, split)


def test_activity_projection_with_full_rank_tangents_gives_backprop():
    """MLP 4-8-3 (n = 8 + 3 = 11), projection with k = 11 -> exactly the BP gradients
    (docs/methods/fg.md#derived-checks, "simulated = exact")."""
    data = _tiny_mlp_data(4, 3)
    torch.manual_seed(0)
    model = build_model({"name": "mlp", "hidden": [8]}, data).double().train()
    loss = Loss("cross_entropy", 3)
    x, y = data.train.x, data.train.y
    true = torch.autograd.grad(loss(model(x), y), list(model.parameters()))
    est = create_method(
        "fg", model, loss, data, torch.Generator().manual_seed(0), k=11, combination="orthogonal_projection"
    )
    model.zero_grad(set_to_none=True)
    est.compute_gradients(x, y, torch.arange(12))
    for p, g in zip(model.parameters(), true, strict=True):
        assert torch.allclose(p.grad, g, atol=1e-10)


def test_weight_projection_with_full_rank_tangents_gives_backprop():
    data = _tiny_mlp_data(4, 3)
    torch.manual_seed(0)
    model = build_model({"name": "mlp", "hidden": []}, data).double().train()  # 4*3 + 3 = 15 parameters
    loss = Loss("cross_entropy", 3)
    x, y = data.train.x, data.train.y
    true = torch.autograd.grad(loss(model(x), y), list(model.parameters()))
    for mode in ("simulated", "forward"):
        est = create_method(
            "fg",
            model,
            loss,
            data,
            torch.Generator().manual_seed(0),
            k=20,
            combination="orthogonal_projection",
            perturbation="weight",
            mode=mode,
        )
        model.zero_grad(set_to_none=True)
        est.compute_gradients(x, y, torch.arange(12))
        for p, g in zip(model.parameters(), true, strict=True):
            assert torch.allclose(p.grad, g, atol=1e-9)


def test_single_tangent_activity_jvp_is_the_perturbed_network_derivative():
    """Mean, k = 1: the per-sample JVPs are the derivatives of each sample's perturbed loss."""
    data = _tiny_mlp_data(4, 3)
    torch.manual_seed(0)
    model = build_model({"name": "mlp", "hidden": [8]}, data).double()
    loss = Loss("cross_entropy", 3)
    x, y = data.train.x, data.train.y
    tangent = torch.randn(1, 11, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    forward = fp.forward_activity_jvps(model.blocks, loss, x, y, tangent, [torch.Size([8]), torch.Size([3])])
    eps = 1e-6  # central finite difference of the per-sample losses along the perturbation

    def perturbed(scale: float) -> torch.Tensor:
        h = model.blocks[0](x) + scale * tangent[0, :8]
        out = model.blocks[1](h) + scale * tangent[0, 8:]
        return fp.loss_terms(loss, out, y)

    with torch.no_grad():
        difference = (perturbed(eps) - perturbed(-eps)) / (2 * eps)
    assert torch.allclose(forward[0], difference, atol=1e-8)


def _resnet_and_stem_statistics(digits):
    """ResNet18 in train mode, a batch of 16, its stem BatchNorm, the running mean before and the batch mean."""
    torch.manual_seed(0)
    model = build_model(MODELS["fg_resnet18"], digits).train()
    x, y = _batch(digits, 16)
    bn = model.blocks[0][2]  # stem BatchNorm
    with torch.no_grad():
        batch_mean = model.blocks[0][1](model.blocks[0][0](x)).mean(dim=(0, 2, 3))  # over the BatchNorm input
    return model, x, y, bn, bn.running_mean.clone(), batch_mean


def test_batch_norm_statistics_are_updated_twice_in_simulated_mode(digits):
    model, x, y, bn, before, batch_mean = _resnet_and_stem_statistics(digits)
    m = bn.momentum
    once = (1 - m) * before + m * batch_mean
    _estimator(model, digits, k=2).compute_gradients(x, y, torch.arange(16))
    assert torch.allclose(bn.running_mean, (1 - m) * once + m * batch_mean, atol=1e-6)
    assert int(bn.num_batches_tracked) == 2


@pytest.mark.parametrize("mode", ["simulated", "forward"])
def test_weight_perturbation_updates_batch_norm_statistics_once(mode, digits):
    """One training step = one running-statistics update, whichever way the JVPs are computed."""
    model, x, y, bn, before, batch_mean = _resnet_and_stem_statistics(digits)
    estimator = _estimator(model, digits, k=2, perturbation="weight", mode=mode)
    loss = estimator.compute_gradients(x, y, torch.arange(16))
    assert torch.allclose(bn.running_mean, (1 - bn.momentum) * before + bn.momentum * batch_mean, atol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    assert loss.shape == () and torch.isfinite(loss)


def test_estimator_options_are_validated(digits):
    model = build_model(MODELS["fg_fc"], digits)
    with pytest.raises(ValueError, match="combination"):
        _estimator(model, digits, combination="median")
    with pytest.raises(ValueError, match="k must be"):
        _estimator(model, digits, k=0)


def test_model_block_structure(digits):
    """Tangent dimensions of the activity blocks (docs/methods/fg.md#derived-checks) on 28x28 and 32x32 inputs."""

    def fake(shape, classes=10):
        split = Split(torch.zeros(2, *shape), torch.zeros(2, dtype=torch.long))
        return DataSplits("fake", "fake", "classification", classes, shape, split, split, split)

    fc = build_model({"name": "fg_fc", "width": 256}, fake((1, 28, 28)))
    assert sum(p.numel() for p in fc.parameters()) == 269322
    assert _tangent_dim(fc, torch.zeros(2, 1, 28, 28)) == 522
    resnet = build_model({"name": "fg_resnet18"}, fake((1, 28, 28))).eval()
    assert sum(p.numel() for p in resnet.parameters()) == 11175370
    assert _tangent_dim(resnet, torch.zeros(2, 1, 28, 28)) == 9866
    vit = build_model({"name": "fg_vit"}, fake((3, 32, 32))).eval()
    assert sum(p.numel() for p in vit.parameters()) == 3195146
    assert _tangent_dim(vit, torch.zeros(2, 3, 32, 32)) == 83210
    assert math.prod(vit(torch.zeros(2, 3, 32, 32)).shape) == 20


def test_training_loop_runs_fg_and_logs_alignment(tmp_path):
    import pandas as pd

    from alttrain.config import RunConfig
    from alttrain.train import train
    from conftest import tiny_run

    run = tiny_run(
        model={"name": "fg_fc", "width": 16},
        epochs=1,
        method={"name": "fg", "k": 2, "combination": "orthogonal_projection"},
        early_stopping={"patience": 10, "min_delta": 0.0, "monitor": "val_loss"},
    )
    summary = train(RunConfig.from_dict(run), tmp_path, progress=False)
    assert summary["status"] == "completed"
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["align_cosine"].between(-1, 1).all() and len(metrics) == 2
    alignment = pd.read_csv(tmp_path / "alignment.csv")
    assert set(alignment["parameter"]) == {
        n
        for n, _ in build_model(
            {"name": "fg_fc", "width": 16}, load_dataset({"name": "digits"})
        ).named_parameters()
    }
