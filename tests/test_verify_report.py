"""Report files (JSON, Markdown, HTML, summary), the README block, Snakemake captions, numbers.tex."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alttrain.errors import UserError  # noqa: E402
from alttrain.verification.html import render_html  # noqa: E402
from alttrain.verification.report import render_summary  # noqa: E402
from alttrain.workflow.provenance import ArtifactProvenance, labels_function  # noqa: E402
from alttrain.writeup.latex import numbers_tex  # noqa: E402
from alttrain.writeup.results_page import compute_table, write_results_page  # noqa: E402
from test_verify_statuses import entry, fc_frame, published, report_for, write_case  # noqa: E402

ENTRIES = [
    entry(id="e_pass", value=90.2),
    entry(id="e_fail", value=50.0),
    entry(id="e_nc", comparable_scales=[]),
    entry(id="e_nt", value=None),
    entry(id="e_nr", experiment="missing"),
]


@pytest.fixture
def report(tmp_path) -> dict:
    return report_for(tmp_path, published(ENTRIES), {"fc": fc_frame()})


def test_summary_lists_counts_and_each_failure_with_both_values(report):
    text = render_summary(report)
    assert "scale cpu" in text
    fg_line = next(line for line in text.splitlines() if line.strip().startswith("fg"))
    assert fg_line.split()[1:] == [
        "1",
        "1",
        "1",
        "1",
        "1",
    ]  # pass, fail, not comparable, not transcribed, not run
    failure = next(line for line in text.splitlines() if "e_fail" in line)
    assert "reproduced 90 ± 1.4 vs published 50" in failure and "mnist5k" in failure
    assert len(text.splitlines()) <= 24, "one screen"


def test_summary_truncates_a_long_failure_list(tmp_path):
    many = [entry(id=f"e{i}", value=10.0) for i in range(30)]
    text = render_summary(report_for(tmp_path, published(many), {"fc": fc_frame()}), max_failures=5)
    assert "... and 25 more" in text and len(text.splitlines()) <= 24


def _png(path) -> bytes:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, format="png")
    plt.close(fig)
    return path.read_bytes()


def test_html_is_self_contained_with_inline_figures_and_status_colours(report, tmp_path):
    png = tmp_path / "figures" / "fg" / "fg_fig_demo.png"
    png.parent.mkdir(parents=True)
    data = _png(png)
    report["artifacts"] = {
        "fg_fig_demo": {
            "paper": "fg",
            "kind": "figure",
            "caption": "A made-up figure.",
            "scales": ["cpu"],
            "produced": True,
            "inputs": ["fc.csv"],
            "datasets": ["mnist5k"],
            "seeds": [0, 1],
            "scales_of_data": [],
            "status": "no published numbers",
            "png": str(png),
        }
    }
    html = render_html(report, tmp_path / "tables")
    assert "data:image/png;base64," + base64.b64encode(data).decode() in html
    assert "A made-up figure." in html and "seeds 0, 1" in html
    for status in ("pass", "fail", "not-comparable-at-this-scale", "not-transcribed", "not-run"):
        assert f'class="s {status}"' in html
    assert "<link" not in html and 'src="http' not in html, "no external resources"
    assert "<style>" in html and html.rstrip().endswith("</html>")


def test_cli_writes_the_four_files_and_prints_the_summary(tmp_path, env_with_venv):
    pub, metrics = write_case(tmp_path, published(ENTRIES), {"fc": fc_frame()})
    out = tmp_path / "verification"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alttrain",
            "verify",
            "--scale",
            "cpu",
            "--papers",
            "fg",
            "--published",
            str(pub),
            "--metrics-dir",
            str(metrics),
            "--figures-dir",
            str(tmp_path / "figures"),
            "--no-experiment-check",
            "--json",
            str(out / "report.json"),
            "--markdown",
            str(out / "report.md"),
        ],
        capture_output=True,
        text=True,
        env=env_with_venv,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "e_fail: reproduced 90 ± 1.4 vs published 50" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert {e["id"]: e["status"] for e in report["entries"]}["e_pass"] == "pass"
    markdown = (out / "report.md").read_text()
    assert "| e_pass | fg_tab_x | bp | w256 | cpu | mnist5k | 2 |" in markdown
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (out / "summary.txt").read_text() in result.stdout


def test_cli_names_the_entry_of_a_malformed_file(tmp_path, env_with_venv):
    pub, metrics = write_case(tmp_path, published([entry(id="e_bad", value="ninety")]), {})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alttrain",
            "verify",
            "--scale",
            "cpu",
            "--papers",
            "fg",
            "--published",
            str(pub),
            "--metrics-dir",
            str(metrics),
            "--json",
            str(tmp_path / "r.json"),
            "--markdown",
            str(tmp_path / "r.md"),
        ],
        capture_output=True,
        text=True,
        env=env_with_venv,
        timeout=120,
    )
    assert result.returncode == 2
    assert "entry 'e_bad'" in result.stderr and "'value'" in result.stderr


def _benchmark(path, seconds: float, cpu: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        f"{seconds}\t0:00:10\t100.5\t200\t90\t95\t0\t0\t50\t{cpu}\n"
    )


def test_compute_table_sums_the_jobs_of_an_experiment(tmp_path):
    _benchmark(tmp_path / "fg" / "fc" / "run_a" / "seed0.tsv", 10.0, 8.0)
    _benchmark(tmp_path / "fg" / "fc" / "run_a" / "seed1.tsv", 20.0, 18.0)
    _benchmark(tmp_path / "f3" / "gap_reduction.tsv", 1.5, 1.0)
    table = compute_table(tmp_path).set_index(["paper", "experiment"])
    assert table.loc[("fg", "fc"), "jobs"] == 2
    assert table.loc[("fg", "fc"), "wall_s"] == pytest.approx(30.0)
    assert table.loc[("fg", "fc"), "cpu_s"] == pytest.approx(26.0)
    assert table.loc[("f3", "gap_reduction"), "wall_s"] == pytest.approx(1.5)


def test_results_page_holds_every_paper_and_the_compute(tmp_path, report):
    (tmp_path / "report.json").write_text(json.dumps(report))
    _benchmark(tmp_path / "bench" / "fg" / "fc" / "r" / "seed0.tsv", 12.0, 11.0)
    page = tmp_path / "results" / "README.md"
    text = write_results_page(page, tmp_path / "report.json", tmp_path / "bench")
    assert page.read_text() == text and text.startswith("# Results\n")
    assert "### fg: Test paper" in text and "scale **cpu**" in text
    assert "| fg | fc | 1 | 12.0 | 11.0 |" in text
    write_results_page(page, tmp_path / "report.json", tmp_path / "bench")
    assert page.read_text() == text, "idempotent"


def test_results_page_without_a_report_is_refused(tmp_path):
    with pytest.raises(UserError, match="report.json does not exist; run the workflow first"):
        write_results_page(tmp_path / "README.md", tmp_path / "report.json", tmp_path)
    assert not (tmp_path / "README.md").exists()


class Wildcards:
    paper, artifact = "fg", "fg_fig_demo"


def test_report_captions_read_the_verification_json_lazily(tmp_path):
    path = tmp_path / "report.json"
    missing = ArtifactProvenance("fg", "fg_fig_demo", "cpu", path)
    assert "unknown" in missing.status and repr(missing) == "ArtifactProvenance('fg', 'fg_fig_demo', 'cpu')"
    path.write_text(
        json.dumps(
            {
                "scale": "cpu",
                "papers": {"fg": {"title": "T_1"}},
                "artifacts": {
                    "fg_fig_demo": {
                        "kind": "figure",
                        "caption": "cos *vs* k",
                        "datasets": ["mnist5k"],
                        "seeds": [0, 2],
                        "status": "1 pass, 2 not transcribed",
                    }
                },
            }
        )
    )
    prov = ArtifactProvenance("fg", "fg_fig_demo", "cpu", path)
    assert prov.datasets == "mnist5k" and prov.seeds == "0, 2" and prov.status == "1 pass, 2 not transcribed"
    assert prov.caption == r"cos \*vs\* k" and prov.title == r"T\_1"  # reStructuredText escaped
    assert ArtifactProvenance("fg", "fg_fig_demo", "paper", path).status.startswith(
        "unknown (the verification"
    )


def test_report_labels_function_is_a_plain_dict(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    labels = labels_function("smoke")(Wildcards())
    assert labels["paper"] == "fg" and labels["id"] == "fg_fig_demo" and labels["scale"] == "smoke"
    assert all(isinstance(v, str) for v in labels.values())


def test_numbers_tex_has_a_macro_per_entry_and_csv_statistics(tmp_path, report):
    metrics = tmp_path / "metrics"  # the fixture wrote fc.csv there already
    fc_frame().to_csv(metrics / "fg" / "fc.csv", index=False)
    pd.DataFrame({"epoch": [1]}).to_csv(metrics / "fg" / "fc_curves.csv", index=False)
    tex = numbers_tex(report, "fg", metrics)
    assert r"\numdef{repro:e_pass}{90}" in tex and r"\numdef{pub:e_pass}{90.2}" in tex
    assert r"\numdef{status:e_fail}{fail}" in tex and r"\numdef{pub:e_nt}{--}" in tex
    assert r"\numdef{csv:fc:acc:max}{91}" in tex and r"\numdef{csv:fc:acc:approach=fg}{75}" in tex
    assert "fc_curves" not in tex
    assert r"\def\VerifyPass{1}" in tex and r"\def\ReproScale{cpu}" in tex
