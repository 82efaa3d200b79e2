"""The Snakemake workflow: config validation before any job, lint, dry runs of every scale, the smoke DAG."""

from __future__ import annotations

import json
import shutil
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


def _copy(root: Path) -> Path:
    """The repository's files (tracked, and new ones git does not ignore) copied to ``root``; no outputs."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def _git_copy(root: Path) -> Path:
    """:func:`_copy` committed to a fresh git repository (so ``git status`` shows what a run changes)."""
    _copy(root)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.mark.slow
def test_smoke_dag_produces_every_artifact_and_modifies_no_tracked_file(tmp_path, env_with_venv):
    """The real smoke-scale DAG in a git checkout of the repository's files: every figure, table, the
    verification report and the results page of the selected papers; afterwards ``git status`` is clean (every
    output lies in an ignored path, no tracked file was touched)."""
    tmp_path = _git_copy(tmp_path / "clone")
    result = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", "--config", "scale=smoke"], cwd=tmp_path, env=env_with_venv,
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", f"the run left changes outside the ignored paths:\n{status}"
    assert (tmp_path / "results" / "README.md").read_text().startswith("# Results")
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




# ---- correct reruns: editing the code of a figure, table or per-paper step reruns exactly its jobs ----------------


@pytest.fixture(scope="module")
def finished_fg_dag(tmp_path_factory, env_with_venv):
    """A copy of the repository whose fg smoke DAG is complete: every output exists, newer than its inputs
    (``snakemake --touch`` on empty files; nothing is computed). Edits go to the copy's source files."""
    root = _copy(tmp_path_factory.mktemp("repo"))
    command = [*SNAKEMAKE, "-s", str(root / "Snakefile"), "--configfile", str(root / "config/config.yaml"),
               "--config", "scale=smoke", "papers=[fg]"]

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*command, *args], cwd=root, env=env_with_venv, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    summary = run("--summary").stdout.splitlines()[1:]
    for line in summary:
        path = root / line.split("\t")[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    run("--touch", "--cores", "1")
    assert "Nothing to be done" in run("-n").stdout
    return root, run


def _pending_jobs(output: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs, rule = set(), None
    for line in output.splitlines():
        if line.startswith("rule ") and line.endswith(":"):
            if rule is not None:
                jobs.add((rule, ""))
            rule = line[5:-1]
        elif rule is not None and line.strip().startswith("wildcards:"):
            jobs.add((rule, line.split(":", 1)[1].strip()))
            rule = None
    if rule is not None:
        jobs.add((rule, ""))
    return jobs


def _edited(root: Path, relative: str, run) -> set[tuple[str, str]]:
    """Append a comment to a copied source file, list the pending jobs, restore the file and its mtime."""
    import os

    path = root / "src" / "alttrain" / relative
    text, stat = path.read_text(), path.stat()
    path.write_text(text + "\n# edited\n")
    try:
        return _pending_jobs(run("-n").stdout)
    finally:
        path.write_text(text)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


DOWNSTREAM = {("verify_results", ""), ("write_results_page", ""), ("write_paper_sources", "paper=fg"), ("all", "")}
if shutil.which("latexmk"):  # the workflow compiles the paper where latexmk is installed
    DOWNSTREAM.add(("compile_paper", "paper=fg"))


def test_editing_a_figure_module_redraws_that_figure_only(finished_fg_dag):
    root, run = finished_fg_dag
    jobs = _edited(root, "figures/fg_fig_closed_form.py", run)
    assert jobs == {("plot_figure", "paper=fg, artifact=fg_fig_closed_form")} | DOWNSTREAM


def test_editing_a_shared_helper_redraws_every_figure_and_table_that_imports_it(finished_fg_dag):
    root, run = finished_fg_dag
    importers = set()
    for kind, rule in (("figures", "plot_figure"), ("tables", "build_table")):
        for path in sorted((root / "src" / "alttrain" / kind).glob("fg_*.py")):
            if "from alttrain.artifacts.fg import" in path.read_text():
                importers.add((rule, f"paper=fg, artifact={path.stem}"))
    assert len(importers) >= 5
    assert _edited(root, "artifacts/fg.py", run) == importers | DOWNSTREAM


def test_editing_a_pipeline_helper_reruns_the_steps_that_import_it(finished_fg_dag):
    """fg_math/approx_quality.py is imported by the approximation-quality and custom-angle steps, not by the
    closed-form sweeps; no training job ever reruns for a code change."""
    root, run = finished_fg_dag
    rules = {rule for rule, _ in _edited(root, "fg_math/approx_quality.py", run)}
    assert {"run_fg_approx_quality", "run_fg_custom_angle"} <= rules
    assert not rules & {"run_fg_closed_form", "run_fg_closed_form_part", "merge_fg_closed_form", "train_run",
                        "write_run_config", "aggregate_runs", "export_fg_lr_tables"}
