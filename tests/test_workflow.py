"""The Snakemake workflow: config validation before any job, lint, dry runs of every scale, the smoke DAG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(args: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(REPO / "config/config.yaml"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["bogus=1"], "'bogus' was unexpected"),
        (["threads_per_job=x"], "config key 'threads_per_job': 'x' is not of type 'integer'"),
        (["scale=huge"], "config key 'scale' is 'huge'; allowed: smoke, cpu, paper"),
        (["papers=[xx]"], "config key 'papers.0': 'xx' is not one of ['fg', 'oialr', 'f3']"),
        (["papers=[]"], "config key 'papers': [] should be non-empty"),
        (["device=gpu"], "allowed: auto, cpu, cuda"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, env_with_venv, override, message):
    result = snakemake(["-n", "--cores", "1", "--config", *override], tmp_path, env_with_venv)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not (tmp_path / "results").exists(), "nothing may run before validation"


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_dry_run_builds_the_dag(tmp_path, env_with_venv, scale):
    result = snakemake(["-n", "--cores", "2", "--quiet", "rules", "--config", f"scale={scale}"], tmp_path,
                       env_with_venv)
    assert result.returncode == 0, result.stderr[-3000:]


def test_snakemake_lint_is_clean(env_with_venv):
    result = subprocess.run([*SNAKEMAKE, "--lint", "--cores", "1"], cwd=REPO, env=env_with_venv,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_snakefmt_is_clean(env_with_venv):
    files = [str(REPO / "Snakefile"), str(REPO / "workflow/rules")]
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files], cwd=REPO, env=env_with_venv,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_smoke_dag_produces_every_artifact(tmp_path, env_with_venv):
    """The real smoke-scale DAG: every figure, table and the verification report of the selected papers."""
    result = snakemake(["--cores", "2", "--config", "scale=smoke"], tmp_path, env_with_venv, timeout=1800)
    assert result.returncode == 0, result.stderr[-6000:]
    sys.path.insert(0, str(REPO / "src"))
    from alttrain.workflow import artifacts, deep_merge, scale_settings

    config = deep_merge(scale_settings("smoke", REPO),
                        yaml.safe_load((REPO / "config/config.yaml").read_text()))
    config["scale"] = "smoke"
    expected = artifacts(config)
    assert {a.paper for a in expected.values()} == {"fg", "oialr", "f3"}, "every paper has figures and tables"
    for artifact_id, spec in expected.items():
        if spec.kind == "figure":
            for suffix in (".pdf", ".png"):
                path = tmp_path / "figures" / spec.paper / f"{artifact_id}{suffix}"
                assert path.is_file() and path.stat().st_size > 1000, path
        else:
            assert (tmp_path / "results/tables" / spec.paper / f"{artifact_id}.md").is_file()
            assert (tmp_path / "paper" / spec.paper / "generated/tables" / f"{artifact_id}.tex").is_file()
    report = json.loads((tmp_path / "results/verification/report.json").read_text())
    assert report["scale"] == "smoke"
    # the HTML report in a real browser (CI installs chromium; elsewhere a missing one skips this last part)
    from browser import assert_page_works

    loaded = assert_page_works(tmp_path / "results/verification/report.html", tmp_path / "chromium-profile",
                               max_bytes=8_000_000)
    assert int(loaded["body"]["data-images"]) > 0
