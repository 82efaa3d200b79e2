"""The regenerated papers compile (latexmk) and every page renders (pdftoppm) without missing parts.

Needs Debian's texlive-latex-recommended, texlive-latex-extra, latexmk and poppler-utils (.ci/run installs
them when it runs as root); without them the tests are skipped with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from alttrain.artifacts.render import to_latex  # noqa: E402
from alttrain.writeup.latex import write_paper_sources  # noqa: E402
from conftest import REPO  # noqa: E402
from test_verify_statuses import PAPERS  # noqa: E402

TOOLS = ("latexmk", "pdflatex", "pdftoppm", "pdftotext", "pdfinfo")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not on PATH: apt-get install texlive-latex-recommended texlive-latex-extra "
    "latexmk poppler-utils (CI does this in .ci/run)",
)
# a number each main.tex quotes through \reprovalue{...}, set to a made-up value that must appear in the PDF
QUOTED = {
    "fg": "fg_tab_fc_mnist/bp/w256/test_acc",
    "oialr": "oialr_tab_results/cifar10_minivit/oialr/trainable_pct",
    "f3": "f3_tab_gap_reduction/v1/max",
}


def compile_paper(workdir: Path, paper: str) -> subprocess.CompletedProcess:
    """The command of rule compile_paper (workflow/rules/paper.smk), run in ``workdir``."""
    folder = workdir / "paper" / paper
    folder.mkdir(parents=True, exist_ok=True)
    command = (
        f"TEXINPUTS={REPO / 'paper'}: latexmk -pdf -interaction=nonstopmode -halt-on-error "
        f"-outdir=generated/latex {REPO / 'paper' / paper / 'main.tex'} "
        "&& cp generated/latex/main.pdf main.pdf"
    )
    return subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=300)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def render_pages(pdf: Path, out: Path) -> list[Image.Image]:
    """Every page as a PNG (pdftoppm); the number of images equals the page count of pdfinfo."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    images = [Image.open(p).convert("RGB") for p in sorted(out.glob("page*.png"))]
    assert len(images) == pages >= 1
    return images


def red_pixels(image: Image.Image) -> int:
    return sum(1 for r, g, b in image.getdata() if r > 200 and g < 80 and b < 80)


def made_up_artifacts(workdir: Path, paper: str) -> dict:
    """A figure (a red square) and a table, as the DAG would write them, and their report records."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.add_patch(plt.Rectangle((0.2, 0.2), 0.6, 0.6, color="red"))
    pdf = workdir / "figures" / paper / f"{paper}_fig_demo.pdf"
    pdf.parent.mkdir(parents=True)
    fig.savefig(pdf)
    plt.close(fig)
    table = pd.DataFrame({"approach": ["bp", "f3_delayed_error"], "acc": ["97.1 ± 0.2", "95.0 ± 0.4"]})
    tex = workdir / "paper" / paper / "generated" / "tables" / f"{paper}_tab_demo.tex"
    tex.parent.mkdir(parents=True)
    tex.write_text(
        to_latex(table, f"Made-up demo table of {paper} [scale: smoke | data: digits]", f"{paper}_tab_demo")
    )
    common = {
        "paper": paper,
        "scales": ["smoke"],
        "inputs": [],
        "datasets": ["digits"],
        "seeds": [0, 1],
        "status": "no published numbers",
        "png": None,
    }
    return {
        f"{paper}_fig_demo": {
            **common,
            "kind": "figure",
            "caption": f"Made-up demo figure of {paper}, k ≥ 2.",
            "produced": True,
        },
        f"{paper}_tab_demo": {**common, "kind": "table", "caption": "demo table", "produced": True},
        f"{paper}_fig_elsewhere": {
            **common,
            "kind": "figure",
            "caption": "x",
            "produced": False,
            "scales": ["paper"],
        },
    }


def made_up_report(paper: str, artifacts: dict) -> dict:
    entry = {
        "paper": paper,
        "id": QUOTED[paper],
        "artifact": f"{paper}_tab_demo",
        "reproduced": 12.345,
        "reproduced_std": None,
        "published": None,
        "published_std": None,
        "status": "not transcribed",
        "tolerance_text": "±1",
        "datasets": ["digits"],
        "seeds": [0, 1],
        "scale": "smoke",
        "detail": "",
        "source": "made up",
    }
    claim = {
        "paper": paper,
        "id": f"{paper}_claim_demo",
        "status": "pass",
        "detail": "[all] 1:0.1 -> 2:0.2",
        "check": {"kind": "monotone", "x": "k", "y": "cosine", "direction": "increasing"},
        "scale": "smoke",
    }
    # 55 compared numbers: more than the 50 rows verification.tex lists (the failure comes first)
    compared = [
        {**entry, "id": f"{paper}_demo/{i}", "published": 1.0, "reproduced": 1.0, "status": "pass"}
        for i in range(54)
    ]
    compared.append(
        {**entry, "id": f"{paper}_demo/failing", "published": 1.0, "reproduced": 3.5, "status": "fail"}
    )
    counts = {"entries": {"not transcribed": 1, "pass": 54, "fail": 1}, "claims": {"pass": 1}}
    return {
        "scale": "smoke",
        "papers": {paper: {"title": "t", "arxiv": "a", "code": "", "tolerance_rule": ""}},
        "entries": [entry, *compared],
        "claims": [claim],
        "counts": {paper: counts},
        "artifacts": artifacts,
    }


@pytest.mark.parametrize("paper", PAPERS)
def test_paper_builds_and_every_page_renders(tmp_path, paper):
    artifacts = made_up_artifacts(tmp_path, paper)
    out = tmp_path / "paper" / paper / "generated"
    write_paper_sources(
        made_up_report(paper, artifacts), paper, out, tmp_path / "metrics", tmp_path / "figures"
    )
    result = compile_paper(tmp_path, paper)
    assert result.returncode == 0, result.stdout[-3000:]
    pdf = tmp_path / "paper" / paper / "main.pdf"
    images = render_pages(pdf, tmp_path)
    assert any(red_pixels(image) > 50 for image in images), "the figure is drawn on a page"
    text = " ".join(pdf_text(pdf).split())
    assert f"Made-up demo figure of {paper}" in text and "Made-up demo table" in text
    assert "12.35" in text, "the quoted number comes from numbers.tex"
    assert "Not produced at scale smoke." in text and "elsewhere" in text  # pdftotext drops the underscores
    assert "??" not in text, "no undefined reference"
    assert "Not generated yet" not in text
    assert "and 5 more (0 fail, 5 pass, 0 not comparable at this scale)" in text
    assert text.index("3.5") < text.index("and 5 more"), "the failure is listed first"
    log = (tmp_path / "paper" / paper / "generated" / "latex" / "main.log").read_text(errors="replace")
    assert "LaTeX Warning: File" not in log and "not found" not in log.lower().replace("font shape", "")


@pytest.mark.parametrize("paper", PAPERS)
def test_main_tex_compiles_before_the_workflow_ran(tmp_path, paper):
    result = compile_paper(tmp_path, paper)
    assert result.returncode == 0, result.stdout[-3000:]
    pdf = tmp_path / "paper" / paper / "main.pdf"
    render_pages(pdf, tmp_path)
    text = " ".join(pdf_text(pdf).split())
    assert "Not generated yet" in text and "??" not in text


@pytest.mark.slow
def test_smoke_dag_builds_the_papers_and_the_snakemake_report(tmp_path, env_with_venv):
    """The real smoke DAG: main.pdf of each paper, and `snakemake --report` with the verification captions."""
    base = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(REPO / "config/config.yaml"),
        "--config",
        "scale=smoke",
    ]
    run = subprocess.run(
        [*base, "--cores", "2"], cwd=tmp_path, env=env_with_venv, capture_output=True, text=True, timeout=1800
    )
    assert run.returncode == 0, run.stderr[-5000:]
    assert "=== verification, scale smoke" in run.stdout + run.stderr
    for paper in PAPERS:
        pdf = tmp_path / "paper" / paper / "main.pdf"
        render_pages(pdf, tmp_path / paper)
        assert "??" not in pdf_text(pdf)
    report = subprocess.run(
        [*base, "--report", "results/report.html"],
        cwd=tmp_path,
        env=env_with_venv,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.returncode == 0, report.stderr[-5000:]
    html = (tmp_path / "results" / "report.html").read_text()
    assert "verification status" in html and "seeds" in html
