"""fg: every figure and table builds from small aggregated CSVs, and marks what was not run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alttrain.artifacts import FIGURES, TABLES  # noqa: E402
from alttrain.artifacts.fg import APPROACHES, NOT_RUN  # noqa: E402
from alttrain.artifacts.style import Context  # noqa: E402
from alttrain.fg_math.approx_quality import approximation_quality  # noqa: E402
from alttrain.pipelines.fg import custom_angle, export_lrs, sweep  # noqa: E402

SETTINGS = {
    "dims": [1, 4, 16],
    "approaches": list(APPROACHES),
    "seeds": [0, 1],
    "patience": 50,
    "search_patience": 100,
    "max_steps": 30,
    "curve_points": 10,
    "curve_dims": [4, 16],
}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    out = {}
    for function in ("sphere", "rosenbrock", "styblinski_tang"):
        final, curves, _ = sweep(function, SETTINGS)
        out[f"closed_form_{function}.csv"], out[f"closed_form_{function}_curves.csv"] = final, curves
    out["approx_quality.csv"] = approximation_quality([1, 4, 16, 64], [1, 2, 4, 16], 30)
    approx, opt, curves = custom_angle(
        {
            "dim": 64,
            "angles": [30, 90],
            "approx_tangents": [4],
            "opt_tangents": [16],
            "samples": 20,
            "seeds": [0],
            "patience": 50,
            "max_steps": 20,
        }
    )
    out["custom_angle_approx.csv"], out["custom_angle_opt.csv"], out["custom_angle_opt_curves.csv"] = (
        approx,
        opt,
        curves,
    )
    out["lrs_nn.csv"], out["lrs_math.csv"], out["lrs_custom.csv"] = export_lrs()
    runs = [
        {
            "approach": a,
            "width": 256,
            "task": "fc_w256",
            "seed": s,
            "best_test_acc": 90.0 + s,
            "final_test_acc": 89.0,
            "dataset": "MNIST-5k",
        }
        for a in APPROACHES
        for s in (0, 1)
    ]
    out["fc_mnist.csv"] = pd.DataFrame(runs)
    out["sota.csv"] = pd.DataFrame([{**r, "task": "vit_mnist"} for r in runs])
    curve = [
        {
            "approach": a,
            "task": "fc_w256",
            "seed": 0,
            "epoch": e,
            "val_loss": 1.0 / (e + 1),
            "test_acc": 10.0 * e,
            "align_cosine": 0.1 if a != "bp" else None,
        }
        for a in APPROACHES
        for e in range(3)
    ]
    out["fc_mnist_curves.csv"] = pd.DataFrame(curve)
    out["sota_curves.csv"] = pd.DataFrame()
    return out


def _fg(modules: dict) -> dict:
    return {k: m for k, m in modules.items() if m.SPEC.paper == "fg"}


def test_every_spec_artifact_exists():
    ids = set(_fg(dict(FIGURES.items()))) | set(_fg(dict(TABLES.items())))
    assert ids >= {
        "fg_fig_illustration",
        "fg_fig_approx_vs_n",
        "fg_fig_approx_vs_k",
        "fg_fig_closed_form",
        "fg_fig_closed_form_curves",
        "fg_fig_custom_angle_approx",
        "fg_fig_custom_angle_opt",
        "fg_fig_nn_curves",
        "fg_tab_fc_mnist",
        "fg_tab_sota",
        "fg_tab_closed_form",
        "fg_tab_lrs_nn",
        "fg_tab_lrs_math",
    }


@pytest.mark.slow  # ~10 s of matplotlib layout; the smoke workflow draws every figure as well
def test_figures_draw(frames):
    for figure_id, module in _fg(dict(FIGURES.items())).items():
        inputs = {name: frames[name] for name in module.SPEC.inputs}
        figure = module.draw(inputs, Context.from_frames("smoke", inputs))
        assert figure.axes, figure_id
        plt.close(figure)


def test_tables_build_and_mark_missing_runs(frames):
    tables = {}
    for table_id, module in _fg(dict(TABLES.items())).items():
        inputs = {name: frames[name] for name in module.SPEC.inputs}
        tables[table_id] = module.build(inputs, Context.from_frames("smoke", inputs))
        assert len(tables[table_id]) > 0, table_id
    fc = tables["fg_tab_fc_mnist"]
    assert len(fc) == 8 and (fc["w = 4096"] == NOT_RUN).all()
    assert fc["w = 256"].iloc[0].startswith("90.50 ± 0.71")  # mean ± std of 90 and 91
    assert (tables["fg_tab_sota"]["ResNet18 CIFAR-10"].iloc[:8] == NOT_RUN).all()
    closed = tables["fg_tab_closed_form"]
    assert list(closed.columns[2:]) == ["n=1", "n=4", "n=16"] and len(closed) == 3 * 8
    assert tables["fg_tab_lrs_nn"]["FC w=256"].iloc[0] == "0.02605"  # the authors' backprop rate
