"""Output plumbing: atomic writes (complete file or nothing, normal file modes) and LaTeX escaping."""

import os
import stat

import pandas as pd
import pytest

from alttrain.artifacts.render import latex_escape, to_latex, to_markdown
from alttrain.atomic import write_atomic, write_text


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "complete")

    def half_then_crash(path):
        path.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_crash)
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"], "no temporary file is left behind"


def test_atomic_write_uses_normal_file_modes(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_latex_escape_special_characters():
    assert latex_escape("a_b & 50% | x<y>z") == r"a\_b \& 50\% \textbar{} x\textless{}y\textgreater{}z"
    assert latex_escape("97.1 ± 0.2") == r"97.1 $\pm$ 0.2"


def test_markdown_and_latex_tables_hold_every_cell():
    table = pd.DataFrame({"method": ["bp", "f3_k"], "acc": ["97.0 ± 0.1", None]})
    markdown = to_markdown(table).splitlines()
    assert markdown[0] == "| method | acc |" and markdown[2] == "| bp | 97.0 ± 0.1 |" and markdown[3] == "| f3_k |  |"
    latex = to_latex(table, "caption", "id")
    assert r"\toprule" in latex and r"f3\_k &  \\" in latex and r"\label{tab:id}" in latex


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        # table jobs: no plotting libraries and no torch (each job is its own short Python process)
        ("from alttrain.artifacts import TABLES; import alttrain.artifacts.render; dict(TABLES.items())",
         ("matplotlib", "seaborn", "torch")),
        # figure jobs: no torch
        ("from alttrain.artifacts import FIGURES; import alttrain.artifacts.style; dict(FIGURES.items())", ("torch",)),
    ],
)
def test_plot_and_table_jobs_import_no_heavy_libraries(statement, absent):
    import subprocess
    import sys

    probe = f"import sys; {statement}; print(sorted(m for m in {list(absent)!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"imported: {done.stdout.strip()}"


# ---------------------------------------------------------------- every figure and table (the two registries)


def _every_artifact() -> list[tuple[str, str]]:
    from alttrain.artifacts import KINDS

    return [(kind, name) for kind, registry in KINDS.items() for name in registry.names()]


@pytest.mark.parametrize(("kind", "artifact_id"), _every_artifact())
def test_every_figure_and_table_has_a_consistent_spec_and_draws_from_empty_inputs(kind, artifact_id):
    """The spec names its own file and paper, reads CSVs only, and an experiment without rows is drawn as a
    stated placeholder, never a crash (the DAG builds every figure at every scale it lists)."""
    import matplotlib.figure
    import matplotlib.pyplot as plt

    from alttrain.artifacts import KINDS
    from alttrain.artifacts.context import Context
    from alttrain.workflow import SCALES

    module = KINDS[kind].get(artifact_id)
    spec = module.SPEC
    assert module.__name__ == f"alttrain.{kind}s.{artifact_id}"
    assert artifact_id.startswith(f"{spec.paper}_{'fig' if kind == 'figure' else 'tab'}_")
    assert spec.paper in ("fg", "oialr", "f3") and spec.caption.strip()
    assert all(name.endswith(".csv") for name in spec.inputs)  # schematics read none
    assert set(spec.scales) <= set(SCALES) and spec.scales
    frames = {name: pd.DataFrame() for name in spec.inputs}
    if kind == "figure":
        fig = module.draw(frames, Context("smoke"))
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        plt.close(fig)
    else:
        table = module.build(frames, Context("smoke"))
        assert isinstance(table, pd.DataFrame) and len(table.columns) >= 1
        assert all(isinstance(v, str) for v in table.to_numpy().ravel() if not pd.isna(v))
