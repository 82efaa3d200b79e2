"""The SLURM profile on a real (single-node) SLURM cluster (scale-out issue, item 3).

The test installs Debian's ``slurmctld slurmd slurm-client munge`` when they are missing, starts a private
single-node cluster (``scripts/slurm_single_node.py``: this host, its CPUs and memory from ``slurmd -C``),
runs the smoke DAG of one paper with ``workflow/profiles/slurm`` adapted to the test cluster (partition, no
account, no GPU, job status from ``squeue`` because no accounting database runs), and checks that the
aggregated CSVs equal those of a local run (timing columns excluded). Every daemon it started is stopped by
PID, also when the test fails. Needs root; skipped with the reason otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_workflow_resume import PAPER, TARGET, uninterrupted_smoke_run

REPO = Path(__file__).resolve().parents[1]
TIMING_COLUMNS = ("wall_time_s",)


def load_helper():
    spec = importlib.util.spec_from_file_location(
        "slurm_single_node", REPO / "scripts" / "slurm_single_node.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_profile_is_documented_and_portable():
    """Every entry of the SLURM profile has a comment; the GPU rule gets CPUs, memory and runtime from the
    profile and its GPUs from the rule (one per data-parallel process of the run)."""
    text = (REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text()
    profile = yaml.safe_load(text)
    assert profile["executor"] == "slurm"
    train = profile["set-resources"]["train_run"]
    assert {"cpus_per_gpu", "mem_mb", "runtime"} <= set(train)
    assert "gpu" not in train, "a profile-wide GPU count would override the runs' world_size"
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and ":" in line:
            assert "#" in line, f"uncommented profile entry: {line!r}"
    rules = (REPO / "workflow" / "rules" / "train.smk").read_text()
    assert "slurm" not in rules and "partition" not in rules, "site settings belong in the profile"


def _dry_run_blocks(tmp_path: Path, *config: str, target: str | None = None) -> list[str]:
    """``snakemake -n`` with the SLURM profile; the printed ``train_run`` job blocks."""
    bin_dir = Path(sys.executable).parent
    cmd = [
        str(bin_dir / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(REPO / "config" / "config.yaml"),
        "--workflow-profile",
        str(REPO / "workflow" / "profiles" / "slurm"),
        "--config",
        *config,
        "-n",
        "-p",
        *([target] if target else []),
    ]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout + done.stderr
    return [block for block in out.split("rule ")[1:] if block.startswith("train_run:")]


def test_profile_builds_the_dag_with_its_resources(tmp_path):
    """Snakemake accepts the profile (dry run) and gives training jobs the profile's resources; a paper-scale
    run with world_size 16 asks for 16 GPUs, one task per GPU, and is launched by srun inside its job."""
    train_jobs = _dry_run_blocks(tmp_path, "scale=smoke", f"papers=[{PAPER}]")
    assert train_jobs, "the smoke DAG has no training job"
    for block in train_jobs:
        assert "gpu=0" in block and "cpus_per_gpu=8" in block and "runtime=2880" in block and "tasks=1" in block
    target = "results/runs/oialr/e2_vit_b16/oialr/seed0/summary.json"
    (paper_job,) = _dry_run_blocks(tmp_path, "scale=paper", "papers=[oialr]", "data={imagenet: /imagenet}",
                                   target=target)
    assert "gpu=16" in paper_job and "tasks=16" in paper_job and "tasks_per_gpu=1" in paper_job
    assert "mpi=srun" in paper_job and "python -m alttrain launch" in paper_job


def site_profile(profile_dir: Path) -> Path:
    """The project's SLURM profile with this test cluster's site settings (what a site admin would change)."""
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"].update({"slurm_partition": "debug", "mem_mb": 1000, "runtime": 30})
    profile["set-resources"]["train_run"] = {"gpu": 0, "mem_mb": 1500, "runtime": 30}  # no GPU in the test
    profile.update(
        {
            "slurm-no-account": True,  # no accounting database, hence no accounts
            "slurm-status-command": "squeue",  # ... and no sacct: finished jobs stay in squeue (MinJobAge)
            "slurm-init-seconds-before-status-checks": 5,
            "seconds-between-status-checks": 5,
            "slurm-keep-successful-logs": True,
            "jobs": 8,
        }
    )
    profile_dir.mkdir(parents=True)
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile))
    return profile_dir


def snakemake(workdir: Path, *extra: str) -> list[str]:
    bin_dir = Path(sys.executable).parent
    return [
        str(bin_dir / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(REPO / "config" / "config.yaml"),
        "--config",
        "scale=smoke",
        f"papers=[{PAPER}]",
        *extra,
        TARGET,
    ]


def requirements(helper) -> None:
    """Skip (with the reason) where no cluster can be set up; install the packages where they are missing."""
    if os.geteuid() != 0:
        pytest.skip("needs root: installs Debian packages and starts SLURM and munge daemons")
    if helper.missing_binaries():
        if shutil.which("apt-get") is None:
            pytest.skip(f"apt-get is unavailable and SLURM is not installed ({helper.missing_binaries()})")
        try:
            helper.install_packages()
        except subprocess.CalledProcessError as err:
            pytest.skip(f"apt-get could not install {helper.PACKAGES}: {(err.stderr or b'').decode()[-500:]}")
    assert not helper.missing_binaries()


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_smoke_dag_on_slurm_equals_local_run(tmp_path, tmp_path_factory):
    helper = load_helper()
    requirements(helper)
    bin_dir = Path(sys.executable).parent
    local, _ = uninterrupted_smoke_run(tmp_path_factory)  # the same DAG run locally (a shared baseline)
    remote = tmp_path / "slurm-run"
    remote.mkdir()

    cluster = helper.Cluster(tmp_path / "slurm")
    started = cluster.processes  # filled by start(); kept to check that stop() ended every daemon
    try:
        started = cluster.start().processes.copy()
        profile = site_profile(tmp_path / "profile")
        slurm_env = {**cluster.env(), "PATH": f"{bin_dir}{os.pathsep}{cluster.env()['PATH']}"}
        done = subprocess.run(
            snakemake(remote, "--workflow-profile", str(profile)),
            env=slurm_env,
            capture_output=True,
            text=True,
            timeout=2400,
        )
        assert done.returncode == 0, done.stderr[-5000:] + "\n" + cluster.logs()
        jobs = subprocess.run(
            ["squeue", "-h", "-t", "all", "-o", "%i %j %T"],
            env=slurm_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        completed = [j for j in jobs if j.endswith("COMPLETED")]
        # a data-parallel run launched by the DAG itself: world_size 2 -> one job with 2 SLURM tasks, started
        # by `alttrain launch` with srun, gloo on CPU
        ddp, overrides = tmp_path / "slurm-ddp", tmp_path / "world_size.yaml"
        ddp.mkdir()
        overrides.write_text("oialr:\n  e1_vit:\n    world_size: 2\n")
        target = "results/runs/oialr/e1_vit/oialr/seed0/summary.json"
        ddp_cmd = [str(bin_dir / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory", str(ddp),
                   "--configfile", str(REPO / "config" / "config.yaml"), str(overrides), "--config", "scale=smoke",
                   "papers=[oialr]", "--workflow-profile", str(profile), target]
        ddp_done = subprocess.run(ddp_cmd, env=slurm_env, capture_output=True, text=True, timeout=1200)
        assert ddp_done.returncode == 0, ddp_done.stderr[-5000:] + "\n" + cluster.logs()
    finally:
        cluster.stop()
    ddp_summary = json.loads((ddp / target).read_text())
    assert ddp_summary["processes"] == 2 and ddp_summary["status"] == "completed"
    assert started and all(p.poll() is not None for p in started.values()), "a daemon is still running"
    train_runs = list((remote / "results" / "runs").rglob("summary.json"))
    assert len(completed) >= len(train_runs) > 0, f"{len(completed)} SLURM jobs for {len(train_runs)} runs"

    csvs = sorted(p.relative_to(local) for p in (local / "results" / "metrics" / PAPER).glob("*.csv"))
    assert csvs
    for relative in csvs:
        a, b = pd.read_csv(local / relative), pd.read_csv(remote / relative)
        drop = [c for c in a.columns if c in TIMING_COLUMNS]
        pd.testing.assert_frame_equal(
            a.drop(columns=drop), b.drop(columns=drop), check_exact=True, obj=str(relative)
        )
