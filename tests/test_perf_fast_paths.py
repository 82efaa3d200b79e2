"""Fast paths of the performance work give the same numbers as the plain paths they replace.

Speed itself is measured by the benchmark suite (docs/performance.md), never asserted here.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from alttrain.eager_optim import OPTIMIZERS
from conftest import REPO

SPECS = {
    "sgd": {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3},
    "adam": {"lr": 1e-2, "betas": (0.9, 0.99), "weight_decay": 1e-3},
    "adamw": {"lr": 1e-2, "weight_decay": 0.05},
}


def _trajectory(cls, options, steps=5):
    """Parameters and optimizer state after ``steps`` updates of a small least-squares problem."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    x, y = torch.randn(16, 7), torch.randn(16, 3)
    opt = cls(model.parameters(), **options)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()], opt


@pytest.mark.parametrize("name", sorted(SPECS))
def test_eager_optimizer_matches_torch_bit_for_bit(name):
    torch_cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    ours, opt = _trajectory(OPTIMIZERS[name], SPECS[name])
    ref, ref_opt = _trajectory(torch_cls, SPECS[name])
    assert isinstance(opt, torch_cls)
    for a, b in zip(ours, ref, strict=True):
        assert torch.equal(a, b)  # the same update rule on the same numbers: identical, not merely close
    state, ref_state = opt.state_dict(), ref_opt.state_dict()
    assert state["param_groups"] == ref_state["param_groups"]
    for key, value in ref_state["state"].items():
        for field, tensor in value.items():
            assert torch.equal(state["state"][key][field], tensor), (key, field)


def test_eager_optimizer_state_round_trip_continues_identically():
    _, opt = _trajectory(OPTIMIZERS["adam"], SPECS["adam"], steps=3)
    clone = OPTIMIZERS["adam"]([torch.nn.Parameter(p.detach().clone()) for g in opt.param_groups
                                for p in g["params"]], **SPECS["adam"])
    clone.load_state_dict(opt.state_dict())
    assert clone.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_eager_optimizer_rejects_closures():
    opt = OPTIMIZERS["sgd"]([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(Exception, match="closures are not supported"):
        opt.step(lambda: torch.tensor(0.0))


# A training job (one F3 epoch, Adam) imports neither torch._dynamo (about 1.3 s) nor sympy (0.3 s).
_JOB = """
import sys
from alttrain.config import RunConfig
from alttrain.train import train
sys.path.insert(0, "tests")
from conftest import tiny_run
cfg = tiny_run(epochs=1, method={"name": "f3", "error_info": "delayed_error"},
               model={"name": "f3_fc", "depth": 2, "width": 16}, loss="bce_onehot",
               optimizer={"name": "adam", "lr": 1e-3})
train(RunConfig.from_dict(cfg), sys.argv[1], progress=False)
print(sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules))
"""


def test_training_job_does_not_import_dynamo_or_sympy(tmp_path):
    out = subprocess.run([sys.executable, "-c", _JOB, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_compacted_sweep_equals_the_full_batch(monkeypatch):
    """Dropping stopped approaches, seeds and dimensions from the sweep's batch changes no output.

    The grid makes each axis stop early: bp with step 0.5 hits the sphere's minimum in one step (stalls), the
    n = 16 runs of the other approaches diverge (step 10), and fg_k1 and fg_mean_k2 in n = 2 stall after random times
    that differ by seed (patience 3). Bit-for-bit equality is expected: every per-run quantity is computed by the
    same operations on the same numbers, only fewer runs share a batch.
    """
    import alttrain.fg_math.sweep as sweep_module
    from alttrain.fg_math.sweep import Approach, curve_rows, final_rows, parse_approach, run_sweep

    approaches = [Approach(name, *parse_approach(name)) for name in ("bp", "fg_k1", "fg_mean_k2")]
    lrs = [[0.5, 0.5], [0.8, 10.0], [0.8, 10.0]]
    kwargs = {"patiences": (3, 5), "max_steps": 400, "dtype": torch.float64}
    shapes = []  # (approaches, seeds, columns) of every step of the compacted sweep
    update = sweep_module._PackedUpdate.update

    def recording(self, draws, grad, x):
        shapes.append(tuple(x.shape))
        return update(self, draws, grad, x)

    monkeypatch.setattr(sweep_module._PackedUpdate, "update", recording)
    compact = run_sweep("sphere", [2, 16], approaches, lrs, [0, 1, 2, 3], compact=True, **kwargs)
    compact_shapes, shapes[:] = list(shapes), []
    full = run_sweep("sphere", [2, 16], approaches, lrs, [0, 1, 2, 3], compact=False, **kwargs)
    assert set(shapes) == {(3, 4, 18)}
    assert {s[0] for s in compact_shapes} >= {3, 2} and {s[2] for s in compact_shapes} >= {18, 2}
    assert len({s[1] for s in compact_shapes}) >= 3, "seeds should leave the batch one by one"

    assert torch.equal(compact.diverged, full.diverged)
    for patience in (3, 5):
        assert torch.equal(compact.stops[patience], full.stops[patience])
    last = compact.stops[5]
    for index in torch.cartesian_prod(*(torch.arange(n) for n in last.shape)).tolist():
        a, s, i = index
        assert torch.equal(compact.values[: last[a, s, i] + 1, a, s, i], full.values[: last[a, s, i] + 1, a, s, i])
    for rows in (lambda r: final_rows(r, 3, 5), lambda r: curve_rows(r, 3)):
        assert rows(compact).equals(rows(full))


def test_sweep_split_by_seeds_and_merged_equals_one_sweep(tmp_path):
    """The DAG runs the Rosenbrock sweep in parts of a few seeds each; merged, they are the one-job files.

    Each seed has its own tangent generator and runs are independent, so the files must be byte-identical.
    """
    import json

    from alttrain.pipelines.fg import main as fg_main

    settings = {
        "dims": [2, 8, 32], "approaches": ["bp", "fg_k1", "fg_mean_k4", "frog_k2"], "seeds": [0, 1, 2, 3, 4],
        "max_steps": 80, "patience": 5, "search_patience": 10, "dtype": "float32", "curve_points": 20,
    }
    text = json.dumps(settings)

    def sweep(name, *extra):
        fg_main(["closed-form", "--function", "rosenbrock", "--settings", text, "--out",
                          str(tmp_path / f"{name}.csv"), "--curves", str(tmp_path / f"{name}_curves.csv"), *extra])

    sweep("whole")
    sweep("part0", "--seeds", "3,0")
    sweep("part1", "--seeds", "1,2,4")
    fg_main(["closed-form-merge", "--settings", text, "--parts", str(tmp_path / "part0.csv"),
                      str(tmp_path / "part1.csv"), "--part-curves", str(tmp_path / "part0_curves.csv"),
                      str(tmp_path / "part1_curves.csv"), "--out", str(tmp_path / "merged.csv"),
                      "--curves", str(tmp_path / "merged_curves.csv")])
    for kind in ("", "_curves"):
        whole = (tmp_path / f"whole{kind}.csv").read_bytes()
        assert (tmp_path / f"merged{kind}.csv").read_bytes() == whole, kind
        assert len(whole) > 1000


def test_sweep_part_rejects_unknown_seeds():
    from alttrain.errors import UserError
    from alttrain.pipelines.fg import seed_subset

    with pytest.raises(UserError, match=r"--seeds \[7\] are not among"):
        seed_subset({"seeds": [0, 1]}, "1,7")


def test_closed_form_parts_cover_every_seed_once():
    from alttrain.grids.fg import SEEDS_PER_JOB, closed_form_parts

    seeds = list(range(100, 120))
    parts = closed_form_parts(seeds, "rosenbrock")
    assert len(parts) == -(-len(seeds) // SEEDS_PER_JOB["rosenbrock"])
    assert [int(s) for part in parts for s in part.split(",")] == seeds
    assert closed_form_parts(seeds, "sphere") == [",".join(map(str, seeds))]  # not split: one job


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_of_the_jobs_matches_torch_default_to_rounding(name):
    """The jobs' Adam/AdamW is torch's fused kernel; it must follow torch's default implementation's trajectory.

    Tolerance: 5 updates of size ~lr = 1e-2 on parameters of size ~1, in float32; the kernels differ only in the
    order of float operations, so the parameters agree to a few float32 ulps (1e-6 relative), while a wrong
    hyper-parameter (e.g. a 1 % different step size) moves them by ~1e-4.
    """
    from alttrain.schedules import build_optimizer

    spec = {"name": name, "lr": 1e-2, "betas": [0.9, 0.99], "weight_decay": 1e-3}
    torch_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    options = {k: (tuple(v) if k == "betas" else v) for k, v in spec.items() if k != "name"}
    ours, opt = _trajectory(lambda params, **kw: build_optimizer(params, spec), {})
    ref, _ = _trajectory(torch_cls, options)
    assert opt.defaults["fused"] is True
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("n", "test_size", "seed"), [(6497, 0.2, 1), (241_600, 0.2, 1), (10, 0.25, 0), (7, 0.5, 3)])
def test_train_test_indices_equal_scikit_learn(n, test_size, seed):
    """The Wine Quality / SGEMM split without importing scikit-learn: the same rows as its train_test_split."""
    from sklearn.model_selection import train_test_split

    from alttrain.data.splits import train_test_indices

    train, test = train_test_indices(n, test_size, seed)
    ref_train, ref_test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    assert np.array_equal(train, ref_train) and np.array_equal(test, ref_test)


def _mlp_blocks():
    from torch import nn

    torch.manual_seed(0)
    return nn.ModuleList([
        nn.Sequential(nn.Flatten(), nn.Linear(12, 9), nn.Tanh()),
        nn.Sequential(nn.Linear(9, 7), nn.ReLU(), nn.Identity()),
        nn.Sequential(nn.Linear(7, 5), nn.Sigmoid()),
        nn.Sequential(nn.Linear(5, 4)),
    ]).double()


@pytest.mark.parametrize("k", [1, 3])
def test_fused_forward_jvps_equal_torch_func_jvp(k):
    """The one-pass hand-pushed tangents give the JVPs of the vmapped torch.func.jvp pass (float64: to 1e-12)."""
    import alttrain.methods.fg_perturbation as fp
    from alttrain.losses import Loss

    blocks, loss = _mlp_blocks(), Loss("cross_entropy", 4)
    x, y = torch.randn(6, 3, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    tangents = torch.randn(k, 9 + 7 + 5 + 4, dtype=torch.float64)
    assert fp.fused_forward_supported(blocks)
    outputs, drawn, fused = fp.fused_forward_jvps(blocks, loss, x, y, fp._split, lambda n, like: tangents)
    general = fp.forward_activity_jvps(blocks, loss, x, y, tangents, [o.shape[1:] for o in outputs])
    assert drawn is tangents and fused.shape == (k, 6)
    torch.testing.assert_close(fused, general, rtol=1e-12, atol=1e-14)


def test_fused_forward_step_equals_the_general_forward_step():
    """Whole fg step, tangents drawn by the estimator: the same gradients as the torch.func.jvp path."""
    import alttrain.methods.fg_perturbation as fp
    from alttrain.data import load_dataset
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.models import build_model

    data = load_dataset({"name": "digits"})
    x, y = data.train.take(torch.arange(16))
    grads = {}
    for path in ("fused", "general"):
        torch.manual_seed(0)
        model = build_model({"name": "fg_fc", "width": 32}, data).train()
        est = create_method("fg", model, Loss("cross_entropy", 10), data, torch.Generator().manual_seed(1), k=2,
                            combination="orthogonal_projection", mode="forward")
        loss = fp.activity_perturbation_step(est, x, y, fused=path == "fused")
        grads[path] = (float(loss), torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert grads["fused"][0] == grads["general"][0]
    torch.testing.assert_close(grads["fused"][1], grads["general"][1], rtol=1e-4, atol=1e-6)


def test_readme_targets_block_is_regenerated_from_bench_json(tmp_path):
    """`bench --readme` rewrites only the marked block, from the last run's JSON (no timing)."""
    import json

    from alttrain.bench import main as bench_main
    from alttrain.errors import UserError

    results = {
        "created": "2026-12-04T17:00:00+00:00", "settings": {"tiny": False},
        "environment": {"git": "abc1234", "machine": {"cpu": "AMD EPYC", "cpus_available": 2},
                        "device": {"type": "cpu", "torch_threads": 1}},
        "cases": {"f3": {"targets": [{"id": "f3.x", "description": "F3: a target", "value": 1.7, "op": ">=",
                                      "threshold": 1.3, "unit": "x", "met": True, "note": None}]}},
    }
    (tmp_path / "bench.json").write_text(json.dumps(results))
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-targets:start -->\nold table\n<!-- bench-targets:end -->\noutro\n")
    assert bench_main(["--out", str(tmp_path), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n<!-- bench-targets:start -->\nTargets of the last run: 2026-12-04T17:00:00+00:00")
    assert "commit `abc1234`" in text and "| F3: a target | 1.70x | >= 1.30x | yes |" in text
    assert "old table" not in text and text.endswith("<!-- bench-targets:end -->\noutro\n")
    readme.write_text("no markers\n")
    with pytest.raises(UserError, match="no <!-- bench-targets:start -->"):
        bench_main(["--out", str(tmp_path), "--readme", str(readme)])


def test_packed_rosenbrock_mask_equals_torch_where():
    """The straddling pairs of packed Rosenbrock functions are zeroed exactly as torch.where did, inf/NaN too."""
    from alttrain.fg_math.functions import rosenbrock_grad, rosenbrock_terms
    from alttrain.fg_math.sweep import Packing

    packing = Packing([1, 2, 4, 8])
    x = torch.randn(3, 2, 15, dtype=torch.float64)
    x[0, 0, 3], x[1, 1, 7], x[2, 0, 6] = float("inf"), float("nan"), -float("inf")  # first/last of a function
    head, tail = x[..., :-1], x[..., 1:]
    inner = tail - head * head
    terms = torch.where(packing.pairs, 100 * inner**2 + (1 - head) ** 2, 0.0)
    as_head = torch.where(packing.pairs, -400 * head * inner - 2 * (1 - head), 0.0)
    as_tail = torch.where(packing.pairs, 200 * inner, 0.0)
    grad = torch.zeros_like(x)
    grad[..., :-1] += as_head
    grad[..., 1:] += as_tail
    assert torch.equal(rosenbrock_terms(x, packing.pairs)[..., :-1].nan_to_num(7.0), terms.nan_to_num(7.0))
    assert torch.equal(rosenbrock_grad(x, packing.pairs).nan_to_num(7.0), grad.nan_to_num(7.0))


def test_projection_onto_one_tangent_is_the_closed_form():
    """k = 1: P_U g = (v . g / |v|^2) v, per sample; a zero tangent gives zero (the SVD path's answer)."""
    from alttrain.fg_math.combination import combine

    v = torch.randn(1, 40, dtype=torch.float64)
    g = torch.randn(5, 40, dtype=torch.float64)  # 5 samples
    expected = (g @ v.T) / (v @ v.T) * v  # (5, 40)
    torch.testing.assert_close(combine(v, v @ g.T, "orthogonal_projection"), expected, rtol=1e-12, atol=1e-14)
    zero = torch.zeros(1, 40, dtype=torch.float64)
    assert torch.equal(combine(zero, zero @ g.T, "orthogonal_projection"), torch.zeros(5, 40, dtype=torch.float64))
