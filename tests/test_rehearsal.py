"""Paper-scale rehearsal and cost model (alttrain.rehearsal): shapes, counters, cost arithmetic, profile check,
the multi-process launch, and a small subset of the rehearsal itself (f3 Wine Quality shapes)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from alttrain.config import RunConfig
from alttrain.grids import training_runs
from alttrain.launch import command
from alttrain.rehearsal import cost as cost_model
from alttrain.rehearsal.cli import main as rehearse_main
from alttrain.rehearsal.measure import _flops, _PeakMemory, measure, start_run
from alttrain.rehearsal.profile import MARGIN, check_profile, resubmission_notes
from alttrain.rehearsal.shapes import JobShape, job_shapes, scale_config, shape_key


@pytest.fixture(scope="module")
def paper_shapes():
    config = scale_config("paper")
    return config, job_shapes(config)


def test_job_shapes_cover_every_paper_run_once(paper_shapes):
    config, shapes = paper_shapes
    runs = training_runs(config)
    covered = [key for shape in shapes for key in shape.runs]
    assert sorted(covered) == sorted(runs)  # every run in exactly one shape
    for shape in shapes:
        assert all(shape_key(runs[key]) == shape.key for key in shape.runs)
    experiments = {s.run["experiment"] for s in shapes}
    assert {"e2_vit_b16", "e3_resnetrs101", "e1_vit", "sota", "transformer"} <= experiments
    assert {s.world_size for s in shapes if s.run["experiment"] == "e2_vit_b16"} == {16}
    assert {s.per_process_batch for s in shapes if s.run["experiment"] == "e2_vit_b16"} == {256}


def test_synthetic_data_has_the_real_loaders_shapes():
    from alttrain.data import load_dataset

    real = load_dataset({"name": "wine_quality"}, root="resources/downloads")  # vendored copy, offline
    fake = load_dataset({"name": "synthetic", "like": {"name": "wine_quality"}, "sizes": {"train": 3, "test": 2}})
    assert (fake.task, fake.num_outputs, fake.input_shape) == (real.task, real.num_outputs, real.input_shape)
    assert fake.train.y.shape[1:] == real.train.y.shape[1:] and fake.train.x.shape[1:] == real.train.x.shape[1:]
    assert fake.info["real_sizes"] == {"train": len(real.train), "test": len(real.test)}
    assert "synthetic" in fake.description


def test_flop_counter_counts_a_matrix_product_by_hand():
    a, b = torch.randn(7, 5), torch.randn(5, 3)
    assert _flops(lambda: a @ b) == 2 * 7 * 5 * 3


def test_peak_memory_follows_allocation_and_release():
    def work():
        first = torch.ones(1000, 1000)  # 4 MB
        second = first * 2  # 8 MB live
        del first
        third = second + 1  # first freed: still 8 MB at most
        return third

    with _PeakMemory() as tracker:
        work()
    assert tracker.peak == 2 * 4 * 1000 * 1000  # never more than two float32 matrices live at once


def _wine_shape(method: str = "bp", world_size: int = 1) -> JobShape:
    config = scale_config("paper", papers=["f3"])
    shape = next(s for s in job_shapes(config) if s.run["experiment"] == "wine" and s.key["method"]["name"] == method)
    run = RunConfig.from_dict({**shape.run, "world_size": world_size}).to_dict()
    return JobShape(shape.shape_id, shape_key(run), run, list(shape.runs))


def test_measured_flops_match_the_hand_count_of_fc1_500():
    row = measure(_wine_shape("bp"))
    forward = 2 * (12 * 500 + 500 * 1)  # per sample: two Linear layers (biases are not matrix products)
    backward = 2 * (12 * 500 + 500 * 1) + 2 * 500 * 1  # weight gradients + the hidden layer's input gradient
    assert row["eval_flops_per_sample"] == forward
    assert row["step_flops_per_sample"] == forward + backward
    assert row["step_flops"] == 50 * (forward + backward)  # measured at the paper batch (cheap)
    assert row["step_flops_extrapolated"] == row["step_flops"]  # the line from batches 2 and 3 agrees
    assert row["parameters"] == 12 * 500 + 500 + 500 + 1


def test_cost_model_arithmetic_by_hand():
    shape = _wine_shape("bp")
    measured = pd.DataFrame([{"shape_id": shape.shape_id, "step_flops": 1e12, "eval_flops_per_sample": 1e9,
                              "probe_flops": 0.0, "step_peak_bytes": 2e9, "eval_peak_bytes": 1e9,
                              "dataset_device_bytes": 5e8}])
    costs = cost_model.run_costs([shape], measured)
    row = costs[(costs.gpu == "A100-80GB")].iloc[0]
    steps = 500 * math.ceil(5197 / 50)  # 500 epochs of ceil(5197 / 50) steps
    train_s = steps * 1e12 / (19.5e12 * cost_model.ASSUMED_FRACTION)
    eval_s = 501 * (5197 + 1300) * 1e9 / (19.5e12 * cost_model.ASSUMED_FRACTION)  # epochs 0..500, train + test
    assert eval_s > 501 * (math.ceil(5197 / 1000) + math.ceil(1300 / 1000)) * cost_model.STEP_FLOOR_S
    assert row.steps == steps
    assert row.gpu_hours == pytest.approx((train_s + eval_s) / 3600, rel=1e-12)
    assert row.gpu_memory_gb == pytest.approx((2e9 + 5e8 + cost_model.CUDA_CONTEXT_BYTES) / 1e9)
    assert len(costs) == 2 * len(shape.runs)  # one row per run and reference GPU


def test_measured_timing_sets_the_floor_and_the_efficiency():
    shape = _wine_shape("bp")
    measured = pd.DataFrame([{"shape_id": shape.shape_id, "step_flops": 1e12, "eval_flops_per_sample": 0.0,
                              "probe_flops": 0.0, "step_peak_bytes": 0.0, "eval_peak_bytes": 0.0,
                              "dataset_device_bytes": 0.0}])
    # timed on an H200 at the paper batch: 0.1 s per step = 1e12 / 0.1 / 67e12 = 15 % of the FP32 peak
    timing = pd.DataFrame([{"shape_id": shape.shape_id, "device_name": "NVIDIA H200", "timed_batch": 50,
                            "step_seconds": 0.1, "step_flops": 1e12, "eval_seconds": 1e-9, "eval_flops": 1.0,
                            "device_peak_bytes": 3e9}])
    costs = cost_model.run_costs([shape], measured, timing)
    costs = costs[costs.run == shape.runs[0]].set_index("gpu")
    steps = costs.loc["A100-80GB", "steps"]
    assert costs.loc["A100-80GB", "measured_fraction"] == pytest.approx(1e12 / 0.1 / 67e12)
    assert costs.loc["A100-80GB", "fraction_basis"] == "measured on NVIDIA H200"
    evals = 501 * (math.ceil(5197 / 1000) + math.ceil(1300 / 1000)) * 1e-9
    # A100: arithmetic-bound at the assumed efficiency (1e12 / (19.5e12 * 0.5) = 0.103 s > 0.1 s measured)
    assert costs.loc["A100-80GB", "gpu_hours"] * 3600 == pytest.approx(steps * 1e12 / (19.5e12 * 0.5) + evals)
    # H100 (the H200's FP32 peak): the measured 0.1 s per step is the floor
    assert costs.loc["H100-80GB", "gpu_hours"] * 3600 == pytest.approx(steps * 0.1 + evals)
    assert costs.loc["H100-80GB", "gpu_memory_gb"] == pytest.approx(3.0 + cost_model.CUDA_CONTEXT_BYTES / 1e9)


def _costs(wall_hours: float, gpu_gb: float, host_gb: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame([{"run": "oialr/e2_vit_b16/oialr/seed0", "gpu": "A100-80GB", "world_size": 16,
                          "per_process_batch": 256, "wall_hours": wall_hours, "gpu_memory_gb": gpu_gb,
                          "gpu_memory_limit_gb": 80.0, "host_memory_gb": host_gb}])


def test_profile_check_names_runtime_and_memory_faults():
    resources = {"runtime": 2880.0, "mem_mb": 64000.0}
    assert check_profile(_costs(2880 / 60 / MARGIN * 0.99, 70.0), resources) == []
    problems = check_profile(_costs(2880 / 60 / MARGIN * 1.01, 75.0, host_gb=50.0), resources)
    assert len(problems) == 3
    assert "runtime 2880 min" in problems[0] and "mem_mb 64000" in problems[1]
    assert "per-GPU batch 256" in problems[2] and "world_size" in problems[2]


def test_a_resubmission_counts_when_the_profile_retries():
    resources = {"runtime": 2880.0, "mem_mb": 64000.0, "retries": 1}
    late = _costs(2880 / 60 / MARGIN * 1.5, 10.0)  # needs 1.5 jobs of 2880 min
    assert check_profile(late, resources) == []
    (note,) = resubmission_notes(late, resources)
    assert note.startswith("oialr/e2_vit_b16 on A100-80GB") and "2 consecutive jobs of 2880 min" in note
    assert check_profile(_costs(2880 / 60 / MARGIN * 2.01, 10.0), resources)  # two jobs are not enough


def test_launch_command_per_environment(tmp_path):
    config = tmp_path / "config.yaml"
    assert command(config, 1, {})[1:4] == ["-m", "alttrain", "train"]
    assert command(config, 4, {})[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
    srun = command(config, 4, {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4"})
    assert srun[0].endswith("srun") and "--ntasks=4" in srun
    with pytest.raises(Exception, match="holds 2 tasks but the run needs 4"):
        command(config, 4, {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"})


def test_data_parallel_shape_starts_on_two_gloo_processes():
    result = start_run(_wine_shape("f3", world_size=4))  # rehearsed with 2 processes, as the paper's DDP shapes
    assert result["processes"] == 2 and result["status"] == "completed"


def test_rehearsal_subset_writes_the_cost_report(tmp_path):
    out = tmp_path / "rehearsal"
    code = rehearse_main(["--papers", "f3", "--only", "f3-wine", "--out", str(out),
                          "--throughput", str(tmp_path / "none.csv")])
    assert code == 0
    shapes = pd.read_csv(out / "shapes.csv")
    assert len(shapes) == 6 and set(shapes.status) == {"started"}
    table = pd.read_csv(out / "cost.csv")
    assert table.runs.sum() == 60 and (table["gpu_hours_A100-80GB"] > 0).all()
    text = (out / "cost.md").read_text()
    assert "synthetic tensors" in text and "| f3 | wine |" in text and "Every run fits." in text
    assert (out / "cost.png").stat().st_size > 0


def test_rehearsal_fails_with_a_message_when_the_profile_is_too_small(tmp_path, capsys):
    profile = tmp_path / "profile.yaml"
    profile.write_text("set-resources:\n  train_run:\n    runtime: 0.0001\n    mem_mb: 64000\n")
    code = rehearse_main(["--papers", "f3", "--only", "f3-wine-", "--out", str(tmp_path / "out"),
                          "--profile", str(profile), "--throughput", str(tmp_path / "none.csv")])
    assert code == 1
    assert "exceeds the profile's train_run runtime" in capsys.readouterr().err
