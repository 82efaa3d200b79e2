"""F3 feedback methods against hand computations (docs/methods/f3.md#method, #derived-checks)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from alttrain.data import DataSplits, Split
from alttrain.losses import Loss
from alttrain.methods import create_method
from alttrain.methods.feedback import F3_ERROR_INFOS, FEEDBACK_INITS, feedback_matrix
from alttrain.models import build_model

C, D_IN, WIDTH, N = 3, 4, 5, 12


def toy_data(task: str = "classification", n: int = N) -> DataSplits:
    """A fixed random data set: 4 inputs, 3 classes (or one regression target)."""
    gen = torch.Generator().manual_seed(123)
    x = torch.randn(n, D_IN, generator=gen)
    if task == "classification":
        y = torch.arange(n) % C
        outputs = C
    else:
        y = torch.randn(n, 1, generator=gen)
        outputs = 1
    split = Split(x, y)
    return DataSplits("toy", "toy data", task, outputs, (D_IN,), train=split, test=split)


def make(method: str, data: DataSplits, seed: int = 0, depth: int = 1, **options):
    """Model and estimator in the loop's order: seed, build the model, create the estimator."""
    torch.manual_seed(seed)
    model = build_model({"name": "f3_fc", "depth": depth, "width": WIDTH}, data)
    loss = Loss("bce_onehot" if data.task == "classification" else "mse", data.num_outputs)
    return model, create_method(method, model, loss, data, torch.Generator().manual_seed(1), **options)


def targets_of(data: DataSplits, y: torch.Tensor) -> torch.Tensor:
    if data.task == "classification":
        return F.one_hot(y, C).float()
    return y.reshape(len(y), 1)


def hand_gradients(model, x, t, signal, feedback, task):
    """One hidden layer (docs/methods/f3.md#feedback-and-local-gradients): output true local gradient (mean loss);
    hidden (e B) * tanh' summed."""
    lin1, lin2 = model.blocks[0][1], model.blocks[1][0]
    with torch.no_grad():
        h = torch.tanh(x @ lin1.weight.T + lin1.bias)  # (B, W)
        a2 = h @ lin2.weight.T + lin2.bias  # (B, C)
        if task == "classification":
            y = torch.sigmoid(a2)
            d_out = (y - t) / (len(x) * t.shape[1])  # sigmoid + BCE(mean): (y - t)/(B C)
        else:
            y = a2
            d_out = 2 * (y - t) / len(x)  # MSE(mean), C = 1: 2 (y - t)/B
        delta = (signal @ feedback) * (1 - h**2)  # injected after tanh, derivative applied, no 1/B
    return {
        "blocks.1.0.weight": d_out.T @ h,
        "blocks.1.0.bias": d_out.sum(0),
        "blocks.0.1.weight": delta.T @ x,
        "blocks.0.1.bias": delta.sum(0),
    }, y


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("drtp", {}),
        ("dfa", {"extra_forward": True}),
        ("dfa", {"extra_forward": False}),
        ("f3", {"error_info": "delayed_error"}),
        ("f3", {"error_info": "delayed_loss"}),
    ],
)
def test_update_of_two_layer_net_matches_hand_computation(task, method, options):
    data = toy_data(task)
    model, est = make(method, data, **options)
    index = torch.tensor([5, 0, 7, 2])
    x, y = data.train.take(index)
    t = targets_of(data, y)
    with torch.no_grad():
        y_now = model(x)
    # DRTP and F3's first visit use the target; DFA the current error t - y
    signal = t - y_now if method == "dfa" else t
    expected, y_hand = hand_gradients(model, x, t, signal, est.feedback[0], task)
    torch.testing.assert_close(y_hand, y_now)
    est.compute_gradients(x, y, index)
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, expected[name], rtol=1e-5, atol=1e-7, msg=name)


def test_shallow_update_is_the_output_layers_true_gradient():
    data = toy_data()
    model, est = make("llo", data)
    index = torch.tensor([1, 3, 5, 7])
    x, y = data.train.take(index)
    t = targets_of(data, y)
    expected, _ = hand_gradients(model, x, t, torch.zeros_like(t), est_feedback_stub(), "classification")
    est.compute_gradients(x, y, index)
    for name, param in model.named_parameters():
        if name.startswith("blocks.1."):
            torch.testing.assert_close(param.grad, expected[name], rtol=1e-5, atol=1e-7, msg=name)
        else:
            assert param.grad is None and not param.requires_grad, name


def est_feedback_stub() -> torch.Tensor:
    """A feedback matrix for the hand computation of a method that has none (its hidden part is unused)."""
    return torch.zeros(C, WIDTH)


def test_no_gradient_crosses_a_block_boundary():
    data = toy_data()
    for method, options in (("drtp", {}), ("f3", {"error_info": "delayed_error"}), ("dfa", {})):
        model, est = make(method, data, depth=3, **options)
        est.feedback = [torch.zeros_like(b) for b in est.feedback]  # no injected signal at all
        x, y = data.train.take(torch.arange(6))
        est.compute_gradients(x, y, torch.arange(6))
        for name, param in model.named_parameters():
            if name.startswith("blocks.3."):
                assert param.grad.abs().sum() > 0, "the output block keeps its local gradient"
            else:  # with backprop the loss would reach these; here only the (zero) injected signal does
                assert param.grad is None or torch.count_nonzero(param.grad) == 0, name


def test_hidden_update_is_independent_of_downstream_weights():
    data = toy_data()
    model, est = make("drtp", data, depth=2)
    x, y = data.train.take(torch.arange(8))
    est.compute_gradients(x, y, torch.arange(8))
    before = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    with torch.no_grad():  # change everything downstream of block 0
        for block in model.blocks[1:]:
            for p in block.parameters():
                p.mul_(-3.0)
    est.compute_gradients(x, y, torch.arange(8))
    torch.testing.assert_close(model.blocks[0][1].weight.grad, before["blocks.0.1.weight"])
    assert not torch.allclose(model.blocks[2][0].weight.grad, before["blocks.2.0.weight"])


def test_true_gradients_are_backprop_of_the_same_network():
    data = toy_data()
    model, est = make("f3", data, depth=2, error_info="delayed_error")
    x, y = data.train.take(torch.arange(8))
    true = est.true_gradients(x, y)
    loss = F.binary_cross_entropy(model(x), F.one_hot(y, C).float())
    loss.backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(true[name], param.grad)


def test_buffer_holds_each_samples_error_of_its_previous_visit():
    data = toy_data()
    model, est = make("f3", data, error_info="delayed_error")
    t_all = F.one_hot(data.train.y, C).float()
    torch.testing.assert_close(est.delayed, t_all)  # initialised with the targets
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    seen = {}
    for index in (torch.tensor([9, 2, 4]), torch.tensor([0, 11, 6, 3])):
        x, y = data.train.take(index)
        with torch.no_grad():
            y_visit = model(x)  # this batch's output with the weights before its update
        optimizer.zero_grad()
        est.compute_gradients(x, y, index)
        optimizer.step()
        seen.update({int(n): t_all[n] - y_visit[k] for k, n in enumerate(index)})
    for n in range(N):
        expected = seen.get(n, t_all[n])  # unvisited samples still hold their target
        torch.testing.assert_close(est.delayed[n], expected)
    # the alignment probe must not write the buffer
    snapshot = est.delayed.clone()
    x, y = data.train.take(torch.arange(N))
    est.compute_gradients(x, y, torch.arange(N), update_state=False)
    assert torch.equal(est.delayed, snapshot)


@pytest.mark.parametrize("error_info", ["delayed_error_one_hot", "delayed_loss", "delayed_loss_one_hot"])
def test_delayed_signal_variants_at_the_next_visit(error_info):
    data = toy_data()
    model, est = make("f3", data, error_info=error_info)
    index = torch.tensor([1, 4, 8, 10])
    x, y = data.train.take(index)
    t = F.one_hot(y, C).float()
    with torch.no_grad():
        y_prev = model(x)
    est.compute_gradients(x, y, index)
    signal = est._signal(x, t, y_prev, index)  # what the next visit of these samples receives
    if error_info == "delayed_error_one_hot":  # (1 - y_c*) at the true class, 0 elsewhere
        expected = t * (1 - y_prev)
    else:  # -d mean-BCE / d y = (t - y) / (y (1 - y) B C)
        expected = (t - y_prev) / (y_prev * (1 - y_prev) * len(x) * C)
        if error_info.endswith("one_hot"):
            expected = t * expected
    torch.testing.assert_close(signal, expected)


def test_regression_delayed_loss_is_two_errors_over_batch():
    data = toy_data("regression")
    model, est = make("f3", data, error_info="delayed_loss")
    index = torch.tensor([3, 5, 7])
    x, y = data.train.take(index)
    with torch.no_grad():
        y_prev = model(x)
    est.compute_gradients(x, y, index)
    torch.testing.assert_close(est.delayed[index], 2 * (y - y_prev) / 3)


def test_softmax_variants_and_regression_restrictions():
    data = toy_data()
    model, est = make("f3", data, error_info="delayed_error_softmax")
    index = torch.tensor([0, 1])
    x, y = data.train.take(index)
    with torch.no_grad():
        y_prev = model(x)
    est.compute_gradients(x, y, index)
    # the authors' quirk: softmax of the sigmoid outputs
    torch.testing.assert_close(est.delayed[index], F.one_hot(y, C).float() - torch.softmax(y_prev, dim=1))
    from alttrain.errors import UserError

    with pytest.raises(UserError, match="needs class targets"):
        make("f3", toy_data("regression"), error_info="delayed_error_one_hot")


def test_first_epoch_of_f3_is_drtp_exactly_then_departs():
    data = toy_data(n=40)
    order = torch.randperm(40, generator=torch.Generator().manual_seed(3))

    def run(method, epochs, **options):
        model, est = make(method, data, seed=7, depth=2, **options)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(epochs):
            for start in range(0, 40, 8):
                index = order[start : start + 8]
                x, y = data.train.take(index)
                optimizer.zero_grad()
                est.compute_gradients(x, y, index)
                optimizer.step()
        return model.state_dict()

    drtp1, drtp2 = run("drtp", 1), run("drtp", 2)
    for info in ("delayed_error", "delayed_error_one_hot", "delayed_loss"):
        f3_1, f3_2 = run("f3", 1, error_info=info), run("f3", 2, error_info=info)
        assert all(torch.equal(drtp1[k], f3_1[k]) for k in drtp1), (
            f"{info}: epoch 1 must equal DRTP bit for bit"
        )
        assert not all(torch.equal(drtp2[k], f3_2[k]) for k in drtp2), f"{info}: epoch 2 must differ"


def test_first_epoch_equal_in_the_training_loop(tmp_path):
    import pandas as pd

    from alttrain.config import RunConfig
    from alttrain.train import train

    def run(name, method):
        cfg = RunConfig.from_dict(
            {
                "paper": "f3",
                "experiment": "unit",
                "run_id": name,
                "seed": 1,
                "scale": "smoke",
                "dataset": {"name": "digits"},
                "model": {"name": "f3_fc", "depth": 1, "width": 32},
                "method": method,
                "optimizer": {"name": "adam", "lr": 1e-3},
                "epochs": 2,
                "batch_size": 64,
                "loss": "bce_onehot",
                "eval_splits": ["test"],
            }
        )
        train(cfg, tmp_path / name, progress=False)
        return pd.read_csv(tmp_path / name / "metrics.csv").set_index("epoch")

    drtp = run("drtp", {"name": "drtp"})
    f3 = run("f3", {"name": "f3", "error_info": "delayed_error_one_hot"})
    columns = ["test_loss", "test_acc", "train_batch_loss"]
    assert drtp.loc[1, columns].tolist() == f3.loc[1, columns].tolist()
    assert drtp.loc[2, "test_loss"] != f3.loc[2, "test_loss"]
    align = pd.read_csv(tmp_path / "f3" / "alignment.csv")
    assert set(align["epoch"]) == {0, 1, 2} and align["cosine"].between(-1 - 1e-9, 1 + 1e-9).all()
    assert {"blocks.0.1.weight", "blocks.1.0.weight"} <= set(align["parameter"])
    # the output layer gets its true local gradient: aligned exactly; the hidden layer only approximately
    output = align[align["parameter"].str.startswith("blocks.1.")]
    assert output["cosine"].to_numpy() == pytest.approx(1.0, abs=1e-6)
    assert (align.loc[align["parameter"] == "blocks.0.1.weight", "cosine"] < 0.999).all()


def test_pm_identity_pattern_and_no_rng():
    torch.manual_seed(0)
    fresh = torch.rand(3)
    torch.manual_seed(0)
    matrix = feedback_matrix("pm_identity", 10, 25)
    assert torch.equal(torch.rand(3), fresh), "+-I consumes no random numbers"
    eye = torch.eye(10)
    assert torch.equal(matrix[:, :10], eye) and torch.equal(matrix[:, 10:20], -eye)
    assert torch.equal(matrix[:, 20:25], eye[:, :5])
    assert feedback_matrix("pm_identity", 1, 5).tolist() == [[1.0, -1.0, 1.0, -1.0, 1.0]]


@pytest.mark.parametrize(("width", "bound"), [(500, 0.0447214), (1000, 0.0316228), (100, 0.1)])
def test_kaiming_bounds(width, bound):
    torch.manual_seed(0)
    matrix = feedback_matrix("kaiming", 10, width)
    assert matrix.shape == (10, width)
    assert 1 / math.sqrt(width) == pytest.approx(bound, rel=1e-6)
    assert matrix.abs().max() <= bound * (1 + 1e-6)
    assert matrix.abs().max() > 0.95 * bound and matrix.min() < -0.95 * bound  # fills the interval


def test_discrete_inits_take_their_values():
    torch.manual_seed(0)
    assert set(feedback_matrix("trinomial", 10, 200).unique().tolist()) == {-1.0, 0.0, 1.0}
    assert set(feedback_matrix("binomial", 10, 200).unique().tolist()) == {0.0, 1.0}


def test_same_seed_same_forward_weights_across_methods():
    data = toy_data()
    reference, _ = make("bp", data, seed=4, depth=2)
    variants = (
        [("llo", {})]
        + [(m, {"feedback_init": init}) for m in ("dfa", "drtp") for init in FEEDBACK_INITS]
        + [
            ("f3", {"feedback_init": init, "error_info": info})
            for init in FEEDBACK_INITS
            for info in F3_ERROR_INFOS
        ]
    )
    for method, options in variants:
        model, _ = make(method, data, seed=4, depth=2, **options)
        for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
            assert torch.equal(p, q), f"{method} {options}: {name}"


def test_same_seed_same_feedback_and_rng_stream_for_pm_identity():
    data = toy_data()
    make("bp", data, seed=2)
    after_bp = torch.rand(2)
    make("drtp", data, seed=2, feedback_init="pm_identity")
    assert torch.equal(torch.rand(2), after_bp), "a +-I model consumes no RNG beyond its Linear layers"
    _, a = make("f3", data, seed=2, feedback_init="trinomial")
    _, b = make("dfa", data, seed=2, feedback_init="trinomial")
    assert all(torch.equal(p, q) for p, q in zip(a.feedback, b.feedback, strict=True))


def test_shallow_learning_keeps_hidden_weights():
    data = toy_data()
    model, est = make("llo", data, depth=2)
    initial = {n: p.clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for start in range(0, N, 4):
        index = torch.arange(start, start + 4)
        x, y = data.train.take(index)
        optimizer.zero_grad()
        est.compute_gradients(x, y, index)
        optimizer.step()
    for name, param in model.named_parameters():
        if name.startswith("blocks.2."):
            assert not torch.equal(param, initial[name]), "the output layer learns"
        else:
            assert torch.equal(param, initial[name]) and not param.requires_grad, name


def test_estimator_state_round_trip():
    data = toy_data()
    model, est = make("f3", data, error_info="delayed_error", feedback_init="trinomial")
    x, y = data.train.take(torch.arange(5))
    est.compute_gradients(x, y, torch.arange(5))
    state = est.state_dict()
    _, other = make("f3", data, seed=9, error_info="delayed_error", feedback_init="trinomial")
    other.load_state_dict(state)
    assert torch.equal(other.delayed, est.delayed)
    assert all(torch.equal(p, q) for p, q in zip(other.feedback, est.feedback, strict=True))


def test_bce_evaluation_loss_is_classes_times_mean_loss():
    loss = Loss("bce_onehot", C)
    outputs = torch.sigmoid(torch.randn(7, C, generator=torch.Generator().manual_seed(0)))
    y = torch.arange(7) % C
    assert loss.per_sample(outputs, y).mean().item() == pytest.approx(C * loss(outputs, y).item(), rel=1e-6)


def _tiny_transformer(error_info: str):
    data = DataSplits(
        "img", "8x8 images", "classification", 10, (1, 8, 8),
        train=Split(torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(5)), torch.arange(6)),
        test=Split(torch.randn(2, 1, 8, 8), torch.arange(2)),
    )
    torch.manual_seed(0)
    spec = {"name": "f3_transformer", "depth": 3, "hidden_dim": 32, "tokens": 16, "heads": 2, "dim_head": 4,
            "mlp_dim": 8, "patch": 2}
    model = build_model(spec, data)
    est = create_method("f3", model, Loss("cross_entropy", 10), data, torch.Generator(), error_info=error_info,
                        feedback_init="trinomial")
    return data, model, est


@pytest.mark.parametrize("error_info", [e for e in F3_ERROR_INFOS])
def test_cross_entropy_model_stores_what_the_authors_transformer_stores(error_info):
    """The authors' transformer.py (cross-entropy on logits y): delayed_error* store t - y (raw logits),
    delayed_loss* the negative gradient of the mean cross-entropy, (t - softmax(y)) / B, delayed_error_softmax
    t - softmax(y), and delayed_loss_softmax the negative gradient of the model's own loss applied to softmax(y).
    Written out by hand (no autograd)."""
    data, model, est = _tiny_transformer(error_info)
    x, y = data.train.take(torch.arange(6))
    with torch.no_grad():
        logits = model(x)
    est.compute_gradients(x, y, torch.arange(6))
    t, p, batch = F.one_hot(y, 10).float(), torch.softmax(logits, dim=1), len(y)
    if error_info.startswith("delayed_error_softmax"):
        expected = t - p
    elif error_info.startswith("delayed_error"):
        expected = t - logits
    elif error_info == "delayed_loss_softmax":  # CE(softmax(y)): g = (softmax(p) - t) / B through the softmax
        g = (torch.softmax(p, dim=1) - t) / batch
        expected = -(p * (g - (p * g).sum(dim=1, keepdim=True)))
    else:
        expected = (t - p) / batch
    torch.testing.assert_close(est.delayed, expected)


def test_transformer_feedback_after_every_block():
    data = DataSplits(
        "img",
        "8x8 images",
        "classification",
        10,
        (1, 8, 8),
        train=Split(torch.randn(6, 1, 8, 8), torch.arange(6)),
        test=Split(torch.randn(2, 1, 8, 8), torch.arange(2)),
    )
    torch.manual_seed(0)
    model = build_model(
        {
            "name": "f3_transformer",
            "depth": 3,
            "hidden_dim": 32,
            "tokens": 16,
            "heads": 2,
            "dim_head": 4,
            "mlp_dim": 8,
            "patch": 2,
        },
        data,
    )
    est = create_method(
        "f3",
        model,
        Loss("cross_entropy", 10),
        data,
        torch.Generator(),
        error_info="delayed_error_softmax",
        feedback_init="trinomial",
    )
    assert [tuple(b.shape) for b in est.feedback] == [(10, 32)] * 3  # blocks: embed+T0, T1, head-hidden, out
    x, y = data.train.take(torch.arange(6))
    est.compute_gradients(x, y, torch.arange(6))
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    # the Transformer's outputs are logits: a proper softmax error is stored
    torch.testing.assert_close(est.delayed, F.one_hot(y, 10).float() - probs)
    assert all(p.grad is not None for p in model.parameters())
