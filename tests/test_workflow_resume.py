"""The smoke DAG killed (SIGKILL to its process group) at random moments, resumed with the documented command.

Resume command after a hard kill (docs/reliability.md): ``snakemake --unlock && snakemake --cores all
--rerun-incomplete`` (with the same ``--config`` as the killed run). The run is killed five times, at moments
drawn by a seeded generator, then completed; its aggregated CSVs (timing columns excluded), every run's
``metrics.csv`` and the verification JSON must equal those of an uninterrupted run. After every kill, each
declared output that exists must be complete (parse as CSV / JSON): outputs are written under a temporary
name and renamed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
PAPER = os.environ.get("ALTTRAIN_KILL_TEST_PAPER", "f3")  # one paper keeps the test affordable
TARGET = "results/verification/report.json"
KILLS = 5
SEED = int(os.environ.get("ALTTRAIN_KILL_TEST_SEED", "20241021"))
TIMING_COLUMNS = ("wall_time_s", "epoch_seconds", "seconds", "s_per_epoch")


def snakemake(workdir: Path, *extra: str) -> list[str]:
    bin_dir = Path(sys.executable).parent
    return [str(bin_dir / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(REPO / "config" / "config.yaml"),
            "--config", "scale=smoke", f"papers=[{PAPER}]", "--cores", "2", *extra]


def environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO / "src")}


def run_to_end(workdir: Path, *extra: str, timeout: float = 1800) -> float:
    """Run the DAG to completion; returns the wall time."""
    start = time.monotonic()
    done = subprocess.run(snakemake(workdir, *extra, TARGET), env=environment(), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return time.monotonic() - start


def uninterrupted_smoke_run(tmp_path_factory) -> tuple[Path, float]:
    """The smoke DAG of PAPER run once per test session without interruption; (its folder, its wall time).

    Shared with ``test_slurm_cluster.py`` (one baseline run instead of two: each costs minutes). While
    developing, ``ALTTRAIN_SMOKE_BASELINE=<folder>`` reuses such a folder from an earlier session (same code).
    """
    default = tmp_path_factory.getbasetemp() / f"smoke-{PAPER}-uninterrupted"
    folder = Path(os.environ.get("ALTTRAIN_SMOKE_BASELINE", default))
    done = folder / "wall-time-seconds"
    if not done.exists():
        folder.mkdir(exist_ok=True)
        done.write_text(str(run_to_end(folder)))
    return folder, float(done.read_text())


def run_and_kill(workdir: Path, delay: float) -> bool:
    """Resume (unlock, rerun incomplete), SIGKILL the whole process group after ``delay`` seconds.

    Returns:
        True when the run was killed, False when it had already finished.
    """
    subprocess.run(snakemake(workdir, "--unlock"), env=environment(), capture_output=True, check=True)
    log = open(workdir / "killed-runs.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(snakemake(workdir, "--rerun-incomplete", TARGET), env=environment(),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        process.wait(delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # snakemake and every job it started, at once
        process.wait()
        return True
    finally:
        log.close()


def assert_outputs_complete(workdir: Path) -> None:
    """Every existing CSV and JSON below results/ parses (no half-written file under a declared name)."""
    for path in (workdir / "results").rglob("*"):
        if path.name.startswith(".") or not path.is_file():
            continue  # temporary names of interrupted atomic writes are never declared outputs
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv" and path.stat().st_size:
            pd.read_csv(path)


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c in TIMING_COLUMNS or c.endswith("_seconds")])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_killed_dag_resumes_to_identical_results(tmp_path, tmp_path_factory):
    straight, duration = uninterrupted_smoke_run(tmp_path_factory)
    killed = tmp_path / "killed"
    killed.mkdir()
    start = time.monotonic()
    subprocess.run(snakemake(killed, "-n", TARGET), env=environment(), capture_output=True, check=True)
    startup = time.monotonic() - start  # each restart spends this long building the DAG before any job runs

    rng = random.Random(SEED)
    delays = [startup + rng.uniform(0.02, 0.18) * max(duration - startup, 10.0) for _ in range(KILLS)]
    for number, delay in enumerate(delays, 1):
        killed_now = run_and_kill(killed, delay)
        assert killed_now, f"kill {number} (after {delay:.0f} s, seed {SEED}) came after the DAG had finished"
        assert_outputs_complete(killed)
    subprocess.run(snakemake(killed, "--unlock"), env=environment(), capture_output=True, check=True)
    run_to_end(killed, "--rerun-incomplete")

    metrics_dir = Path("results") / "metrics" / PAPER
    csvs = sorted(p.relative_to(straight) for p in (straight / metrics_dir).glob("*.csv"))
    assert csvs, f"the smoke DAG of {PAPER} made no aggregated CSV"
    for relative in csvs:
        a, b = pd.read_csv(straight / relative), pd.read_csv(killed / relative)
        pd.testing.assert_frame_equal(without_timing(a), without_timing(b), check_exact=True,
                                      obj=str(relative))
    runs = sorted(p.relative_to(straight) for p in (straight / "results" / "runs").rglob("metrics.csv"))
    assert runs, "no training run in the DAG"
    for relative in runs:
        assert (straight / relative).read_bytes() == (killed / relative).read_bytes(), relative
    assert json.loads((straight / TARGET).read_text()) == json.loads((killed / TARGET).read_text())
    assert not list((killed / "results" / "runs").rglob("checkpoint.pt")), "finished runs keep no checkpoint"
