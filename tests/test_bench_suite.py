"""The suite runs end to end at tiny size, fails soft, and its fg loop baseline computes the same JVPs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import alttrain.bench as bench
from alttrain.bench.harness import Settings


def test_tiny_bench_writes_json_and_markdown(tmp_path, repo):
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "alttrain", "bench", "--tiny", "--out", str(out)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "bench.json").read_text())
    assert set(results["cases"]) == set(bench.CASES)
    assert results["settings"]["tiny"] is True
    assert results["environment"]["versions"]["torch"] == torch.__version__
    for case in results["cases"].values():
        assert case["status"] in ("ok", "partial", "error")
        for row in case["rows"]:
            assert row["median_s"] > 0
    measured = [c for c in results["cases"].values() if c["rows"]]
    assert measured, "no case measured anything"
    text = (out / "bench.md").read_text()
    assert text.startswith("# Benchmark results") and "## Targets" in text


def test_a_broken_case_is_recorded_not_raised(monkeypatch, tmp_path):
    monkeypatch.setitem(bench.CASES, "forward_gradient", ("alttrain.bench.no_such_module", "Broken"))
    result = bench.run_case("forward_gradient", Settings(tiny=True))
    assert result["status"] == "error"
    assert "ModuleNotFoundError" in result["errors"][0]["error"]


def test_unknown_case_is_a_user_error():
    from alttrain.errors import UserError

    with pytest.raises(UserError, match="unknown bench case"):
        bench.main(["--only", "nope", "--out", "unused"])


def test_loop_of_jvps_matches_the_vmapped_and_the_simulated_jvps():
    from alttrain.bench.fg_cases import loop_activity_jvps
    from alttrain.bench.workloads import synthetic_splits
    from alttrain.losses import Loss
    from alttrain.methods import fg_perturbation as fp
    from alttrain.models import build_model

    data = synthetic_splits((12,), 3, 5, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model({"name": "fg_fc", "width": 4}, data).double()
    x, y = data.train.x.double(), data.train.y
    loss = Loss("cross_entropy", 3)
    inputs, outputs = fp.block_forward(model.blocks, x)
    shapes = [o.shape[1:] for o in outputs]
    tangents = torch.randn(3, 4 + 4 + 3, dtype=torch.float64)
    looped = loop_activity_jvps(model.blocks, loss, x, y, tangents, shapes)  # (k, B)
    vmapped = fp.forward_activity_jvps(model.blocks, loss, x, y, tangents, shapes)
    # independent reference: per-sample JVP = tangent . (d loss / d block outputs), from reverse mode
    deltas = fp.activation_gradients(loss(outputs[-1], y), inputs, outputs)
    reference = tangents @ torch.cat([d.reshape(len(x), -1) for d in deltas], dim=1).T
    assert looped.shape == (3, 5)
    torch.testing.assert_close(looped, reference)
    torch.testing.assert_close(vmapped, reference)
