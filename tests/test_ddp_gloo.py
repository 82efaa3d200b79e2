"""Data-parallel training (scale-out issue, item 4) on CPU with the gloo backend.

Two processes launched by ``torchrun`` must end with the same weights as one process with the same global
batch (to float tolerance), and with identical weights on both ranks. The helpers of
:mod:`alttrain.distributed` that the low-rank code uses (broadcast of tensors of unknown shape, round-robin
owners) are checked in the same processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from alttrain import distributed
from alttrain.config import RunConfig

REPO = Path(__file__).resolve().parents[1]

# Runs inside every process: check the broadcast helpers, then train, keeping the final weights of each rank.
WORKER = r"""
import json, sys
from pathlib import Path
import torch
import alttrain.lowrank.controller as C
import alttrain.train as T
from alttrain import distributed
from alttrain.config import load_run_config

mode, configs = sys.argv[1], [Path(p) for p in sys.argv[2:]]
original_summary = T._summary
original_svd = C.thin_svd
out = None
svd_calls = [0]  # SVDs of Sigma this process computed in the current run

def counting_svd(matrix):
    svd_calls[0] += 1
    return original_svd(matrix)

C.thin_svd = counting_svd

def summary_keeping_weights(cfg, data, device, model, params_full, state):
    with torch.no_grad():  # the function the weights compute, on 64 training digits
        outputs = model.eval()(data.train.x[:64])
    torch.save({**model.state_dict(), "outputs": outputs}, out / f"weights_rank{distributed.rank()}.pt")
    (out / f"svd_calls_rank{distributed.rank()}.json").write_text(json.dumps(svd_calls[0]))
    svd_calls[0] = 0
    return original_summary(cfg, data, device, model, params_full, state)

T._summary = summary_keeping_weights
if mode == "check-helpers":
    out = configs[0].parent.parent
    ctx, _ = distributed.init("cpu")
    r = ctx.rank
    same = torch.full((3,), float(r))
    distributed.broadcast_tensors([same], src=0)
    index = torch.arange(7)
    report = {"rank": r, "world": ctx.world_size, "broadcast": same.tolist(),
              "shard": distributed.shard(index).tolist(), "owners": [distributed.owner_of(i) for i in range(5)]}
    (out / f"helpers_rank{r}.json").write_text(json.dumps(report))
for path in configs:  # the process joins the group once; every run reuses it
    out = path.parent
    T.train(load_run_config(path), out, progress=False)
"""


def write_config(folder: Path, method: dict, lowrank: dict | None = None) -> Path:
    cfg = RunConfig.from_dict({
        "paper": "fg", "experiment": "ddp", "run_id": method["name"], "seed": 3, "scale": "smoke",
        "lowrank": lowrank,
        "dataset": {"name": "digits"}, "model": {"name": "mlp", "hidden": [32]}, "method": method,
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "epochs": 2,
        # 1259 training digits in batches of 100: the last batch (59) splits 30 / 29 over two ranks
        "batch_size": 100, "alignment": {"enabled": False}, "device": "cpu", "threads": 1,
    })
    folder.mkdir(parents=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    return path


def launch(cmd: list[str], folder: Path) -> None:
    """Run a command in ``folder`` with the package importable; fail with its output when it fails."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def weights(folder: Path, rank: int) -> dict[str, torch.Tensor]:
    return torch.load(folder / f"weights_rank{rank}.pt", weights_only=True)


METHODS_UNDER_TEST = {  # name -> (method, lowrank)
    "bp": ({"name": "bp"}, None),
    "fg-weight-perturbation": (
        {"name": "fg", "k": 2, "combination": "orthogonal_projection", "perturbation": "weight"}, None,
    ),
    # OIALR switches to low rank after 5 updates and truncates every 5; layer i's SVDs run on rank i % 2 only
    "oialr-bp": (
        {"name": "bp"},
        {"mode": "oialr", "delay": 5, "stability_frequency": 5, "sigma_cutoff_fraction": 0.2,
         "keep_last_layer": False},
    ),
}


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    """One launch of each kind trains every method of METHODS_UNDER_TEST (process start-up dominates)."""
    from alttrain.methods import list_methods

    missing = [m["name"] for m, _ in METHODS_UNDER_TEST.values() if m["name"] not in list_methods()]
    assert not missing, f"estimators not registered: {missing}"
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    one = [write_config(tmp_path / "one" / key, *spec) for key, spec in METHODS_UNDER_TEST.items()]
    two = [write_config(tmp_path / "two" / key, *spec) for key, spec in METHODS_UNDER_TEST.items()]
    launch([sys.executable, str(worker), "plain", *map(str, one)], tmp_path)
    launch([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            str(worker), "check-helpers", *map(str, two)], tmp_path)

    for key in METHODS_UNDER_TEST:
        folder_one, folder_two = tmp_path / "one" / key, tmp_path / "two" / key
        single, rank0, rank1 = weights(folder_one, 0), weights(folder_two, 0), weights(folder_two, 1)
        assert single.keys() == rank0.keys() == rank1.keys(), f"{key}: different parameters"
        for name in single:
            assert torch.equal(rank0[name], rank1[name]), f"{key}: {name} differs between ranks"
            if ".factors." in name:  # an SVD factor: rank-consistent above, but signs of its columns are free
                assert rank0[name].shape == single[name].shape, f"{key}: {name} has another rank"
                continue
            torch.testing.assert_close(rank0[name], single[name], rtol=1e-4, atol=1e-5, msg=f"{key}: {name}")
        # only rank 0 writes the run's outputs, and they record the two processes
        summary = json.loads((folder_two / "summary.json").read_text())
        assert summary["processes"] == 2 and summary["status"] == "completed"
        assert json.loads((folder_one / "summary.json").read_text())["processes"] == 1
        assert not (folder_two / ".scratch/checkpoint.pt").exists()

    # OIALR: the two layers' re-diagonalisations were split between the ranks (owner computes, broadcasts)
    calls = [json.loads((tmp_path / "two" / "oialr-bp" / f"svd_calls_rank{r}.json").read_text()) for r in (0, 1)]
    single_calls = json.loads((tmp_path / "one" / "oialr-bp" / "svd_calls_rank0.json").read_text())
    assert single_calls > 0 and calls[0] > 0 and calls[1] > 0, (single_calls, calls)
    assert calls[0] + calls[1] == single_calls, (single_calls, calls)

    helpers = [json.loads((tmp_path / "two" / f"helpers_rank{r}.json").read_text()) for r in (0, 1)]
    for report in helpers:
        assert report["world"] == 2
        assert report["broadcast"] == [0.0, 0.0, 0.0]
        assert report["owners"] == [0, 1, 0, 1, 0]
    assert helpers[0]["shard"] + helpers[1]["shard"] == list(range(7))
    assert [len(h["shard"]) for h in helpers] == [4, 3]


def test_single_process_helpers_are_identities():
    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    grad = model.weight.grad.clone()
    assert distributed.average_gradients(model, 1.25, 4, 4) == 1.25
    assert torch.equal(model.weight.grad, grad)
    index = torch.arange(5)
    assert distributed.shard(index) is index
    t = torch.ones(2)
    distributed.broadcast_tensors([t])
    assert torch.equal(t, torch.ones(2))
    assert distributed.owner_of(3) == 0 and distributed.world_size() == 1 and distributed.is_main()


@pytest.mark.parametrize("env, expected", [
    ({}, (0, 1, 0)),
    ({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, (3, 4, 1)),
    ({"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1"}, (5, 8, 1)),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}, (0, 1, 0)),  # an ordinary one-task SLURM job
])
def test_context_from_launcher_environment(env, expected):
    ctx = distributed.context_from_env(env)
    assert (ctx.rank, ctx.world_size, ctx.local_rank) == expected
    assert ctx.is_main == (expected[0] == 0)


@pytest.mark.parametrize("nodelist, host", [
    ("gpu[003-005,010],cpu1", "gpu003"), ("node7", "node7"), ("a[1,3]", "a1"), ("n1,n2", "n1"),
])
def test_first_host_of_a_slurm_node_list(nodelist, host):
    assert distributed.first_slurm_host(nodelist) == host
