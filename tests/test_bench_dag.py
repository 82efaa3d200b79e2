"""``bench --dag-times``: parsing a real Snakemake run (log + benchmark files) and the report it writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alttrain.bench import main
from alttrain.bench.dag import dag_times, parse_log, read_benchmarks

SNAKEFILE = """
rule all:
    input:
        expand("out/{name}.txt", name=["short", "long"]),


rule make:
    output:
        "out/{name}.txt",
    log:
        "logs/{name}.log",
    benchmark:
        "results/benchmarks/make/{name}.tsv"
    params:
        seconds=lambda wildcards: 1.2 if wildcards.name == "long" else 0.1,
    shell:
        "sleep {params.seconds} && touch {output} 2> {log}"
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny real Snakemake run with two benchmarked jobs (1.2 s and 0.1 s)."""
    run_dir = tmp_path_factory.mktemp("dag")
    (run_dir / "Snakefile").write_text(textwrap.dedent(SNAKEFILE))
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "snakemake"), "--cores", "2", "--config", "scale=smoke"],
        cwd=run_dir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return run_dir


def test_benchmark_files_give_job_times(finished_run):
    jobs = {j["job"]: j for j in read_benchmarks(finished_run)}
    assert set(jobs) == {"make/long", "make/short"}
    assert 1.2 <= jobs["make/long"]["s"] < 10
    assert 0.1 <= jobs["make/short"]["s"] < jobs["make/long"]["s"]


def test_dag_times_summarises_the_run(finished_run):
    summary = dag_times(finished_run)
    assert summary["scale"] == "smoke"  # from the command line in the log
    assert summary["cores"] == 2
    assert summary["jobs_done"] == 3  # two jobs and the target rule
    assert 1.2 <= summary["wall_s"] < 60
    assert [j["job"] for j in summary["slowest"]] == ["make/long", "make/short"]
    assert set(summary["rules_from_log"]) == {"make", "all"}
    (target,) = summary["targets"]
    assert target["threshold"] == 90 and target["op"] == "<=" and target["met"] is True


def test_log_parsing_by_hand():
    log = textwrap.dedent("""\
        Command: snakemake --cores 2 --config scale=cpu
        Provided cores: 2
        [Fri Nov 27 14:51:55 2026]
        rule train_run:
            jobid: 4
        [Fri Nov 27 14:52:10 2026]
        Finished jobid: 4 (Rule: train_run)
        1 of 1 steps (100%) done
        Elapsed time: 0:31:05.500000
        """)
    info = parse_log(log)
    assert info["wall_s"] == pytest.approx(31 * 60 + 5.5)
    assert info["jobs"] == [{"rule": "train_run", "s": 15.0}]
    assert info["jobs_done"] == 1


def test_cli_merges_dag_section_into_the_report(finished_run, tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "bench.json").write_text(json.dumps({"created": "earlier", "cases": {}, "dag": {}}))
    assert main(["--dag-times", str(finished_run), "--out", str(out)]) == 0
    results = json.loads((out / "bench.json").read_text())
    assert results["created"] == "earlier"  # the case results of an earlier bench run are kept
    assert results["dag"]["smoke"]["benchmarked_jobs"] == 2
    text = (out / "bench.md").read_text()
    assert "Whole DAG" in text and "make/long" in text
    assert "whole DAG at scale smoke" in text
