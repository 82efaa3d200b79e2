"""Labels and helpers of the f3 paper's tables and figures: display names, table layout, not-run reasons.

No plotting and no torch here: table jobs stay fast.
"""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts.cells import format_cell, has_rows, select

BENCHMARKS = {
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "census": "Census Income",
    "sgemm": "SGEMM",
    "wine": "Wine Quality",
}
APPROACHES = {
    "bp": "BP",
    "llo": "Shallow (LLO)",
    "dfa": "DFA",
    "drtp": "DRTP",
    "f3_delayed_error": "F3 delayed error",
    "f3_delayed_error_one_hot": "F3 delayed error, one-hot",
    "f3_delayed_loss": "F3 delayed loss",
    "f3_delayed_loss_one_hot": "F3 delayed loss, one-hot",
    "f3_delayed_error_softmax": "F3 delayed error, softmax",
    "f3_delayed_loss_softmax": "F3 delayed loss, softmax",
}
F3_VARIANTS = [a for a in APPROACHES if a.startswith("f3_")]
INITS = {"kaiming": "Kaiming", "trinomial": "Trinomial", "binomial": "Binomial", "pm_identity": "±I"}
# the paper's topologies of the classification tables (docs/methods/f3.md#models)
FC_TOPOLOGIES = ("fc1-500", "fc2-500", "fc1-1000", "fc2-1000")
CLASSIFICATION_BENCHMARKS = ("mnist", "cifar10", "census")
# the authors' epochs (README run commands at f3@450ea13 and f3@f90e380; Transformer: transformer.py defaults)
PAPER_EPOCHS = {"mnist": 100, "cifar10": 200, "census": 100, "sgemm": 200, "wine": 500, "transformer": 100}


# the authors' Transformer (transformer.py defaults, docs/methods/f3.md#transformer-v2): depth 5, width 512
PAPER_TRANSFORMER = {"depth": 5, "width": 512}


def transformer_size(runs: pd.DataFrame) -> str:
    """``depth 3, width 256 (paper: depth 5, width 512)``: the Transformer the runs trained, against the paper's."""
    if not has_rows(runs, "depth", "width"):
        return ""
    sizes = sorted({(int(d), int(w)) for d, w in zip(runs["depth"], runs["width"], strict=True)})
    ours = "; ".join(f"depth {d}, width {w}" for d, w in sizes)
    paper = (PAPER_TRANSFORMER["depth"], PAPER_TRANSFORMER["width"])
    return ours if sizes == [paper] else f"{ours} (paper: depth {paper[0]}, width {paper[1]})"


def data_label(benchmark: str, dataset: str) -> str:
    """The paper's data-set name, or ``MNIST-5k (for MNIST)`` when the runs used a stand-in."""
    paper = BENCHMARKS.get(benchmark, benchmark)
    used = str(dataset).split(" (")[0] if isinstance(dataset, str) and dataset else paper
    return paper if used == paper else f"{used} (for {paper})"


def epochs_note(runs: pd.DataFrame, paper_key: str) -> str:
    """``8 of 100 epochs, seeds 1-2``: how long the runs trained against the paper, and their seeds."""
    if not has_rows(runs, "epochs_run", "seed"):
        return ""
    epochs = sorted({int(e) for e in runs["epochs_run"].dropna()})
    seeds = sorted({int(s) for s in runs["seed"].dropna()})
    trained = "/".join(map(str, epochs))
    paper = PAPER_EPOCHS.get(paper_key)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]} ({len(seeds)})"
    return f"{trained} of {paper} epochs, {seed_text}" if paper else f"{trained} epochs, {seed_text}"


def topology_name(topology: str) -> str:
    """``fc1-500`` -> ``FC1-500``."""
    return topology.upper() if topology.startswith("fc") else topology


def not_run_reason(
    not_run: pd.DataFrame | None, experiment: str, benchmark: str, topology: str = ""
) -> str | None:
    """The reason a benchmark (or one of its topologies) is not run at this scale, or None if it is run."""
    if not has_rows(not_run, "experiment", "benchmark", "reason"):
        return None
    rows = not_run[(not_run["experiment"] == experiment) & (not_run["benchmark"] == benchmark)]
    topo = rows["topology"].fillna("") if "topology" in rows else pd.Series("", index=rows.index)
    match = rows[(topo == "") | (topo == topology)]
    return None if match.empty else str(match["reason"].iloc[0])


def not_run_cell(reason: str) -> str:
    """The text of a table cell (or figure panel) for something not run at this scale."""
    return f"not run at this scale: {reason}"


def final_metric(task: str) -> tuple[str, str, bool]:
    """(CSV column, printed name, higher is better) of the headline metric of a task."""
    if task == "classification":
        return "final_test_acc", "test accuracy (%)", True
    return "final_test_mse", "test MSE (standardised)", False


def classification_columns(
    data: pd.DataFrame, not_run: pd.DataFrame | None
) -> list[tuple[str, str, str | None]]:
    """Columns (benchmark, topology, not-run reason) of a classification table, in the paper's order.

    A benchmark not run at this scale is one column with its reason; the paper's topologies appear when run or
    listed as not run; topologies run only at this scale (smoke nets) are appended.
    """
    columns: list[tuple[str, str, str | None]] = []
    for benchmark in CLASSIFICATION_BENCHMARKS:
        whole = not_run_reason(not_run, "classification", benchmark)
        rows = data[data["benchmark"] == benchmark] if has_rows(data, "benchmark") else data.iloc[0:0]
        if whole is not None and rows.empty:
            columns.append((benchmark, "", whole))
            continue
        run = sorted(set(rows["topology"]) if not rows.empty else set())
        for topology in [*FC_TOPOLOGIES, *[t for t in run if t not in FC_TOPOLOGIES]]:
            reason = not_run_reason(not_run, "classification", benchmark, topology)
            if topology in run:
                columns.append((benchmark, topology, None))
            elif reason is not None:
                columns.append((benchmark, topology, reason))
    return columns


def column_name(benchmark: str, topology: str) -> str:
    """``MNIST FC1-500`` (or just the benchmark for a whole benchmark)."""
    return f"{BENCHMARKS.get(benchmark, benchmark)} {topology_name(topology)}".strip()


def block_rows(frame: pd.DataFrame, block: str) -> pd.DataFrame:
    """Runs of the classification experiment that belong to a grid block (``methods``, ``error_info``,
    ...)."""
    if not has_rows(frame, "approach"):
        return pd.DataFrame(columns=["benchmark", "topology", "approach", "feedback_init", "seed"])
    return select(frame, **{f"in_{block}": True})


def approach_rows(data: pd.DataFrame, order: list[str]) -> list[tuple[str, str, str]]:
    """(row label, approach, feedback init) in ``order``; the init is named only when an approach has
    several."""
    rows = []
    for approach in order:
        inits = sorted(set(data.loc[data["approach"] == approach, "feedback_init"])) if not data.empty else []
        for init in inits:
            label = APPROACHES.get(approach, approach)
            if len(inits) > 1 or (init not in ("none", "kaiming")):
                label += f" ({INITS.get(init, init)})"
            rows.append((label, approach, init))
    return rows


def approach_table(
    data: pd.DataFrame, not_run: pd.DataFrame | None, order: list[str], metric: str = "final_test_acc"
) -> pd.DataFrame:
    """Rows = approaches, columns = benchmark x topology, cells = metric mean ± std over seeds."""
    columns = classification_columns(data, not_run)
    rows = approach_rows(data, order)
    if not rows:  # nothing ran: one row per approach of the paper, every cell says why
        rows = [(APPROACHES.get(a, a), a, "none") for a in order]
    table = []
    for label, approach, init in rows:
        cells = {"method": label}
        for benchmark, topology, reason in columns:
            name = column_name(benchmark, topology)
            if reason is not None:
                cells[name] = not_run_cell(reason)
                continue
            runs = data[
                (data["benchmark"] == benchmark)
                & (data["topology"] == topology)
                & (data["approach"] == approach)
                & (data["feedback_init"] == init)
            ]
            cells[name] = format_cell(runs, metric, missing="")
        table.append(cells)
    table.append(training_row(data, columns, "method"))
    return pd.DataFrame(table)


def training_row(
    data: pd.DataFrame, columns: list[tuple[str, str, str | None]], label: str
) -> dict[str, str]:
    """A last table row: how long each column's runs trained (against the paper) and with which seeds."""
    cells = {label: "training (this scale)"}
    for benchmark, topology, reason in columns:
        if reason is None:
            runs = data[(data["benchmark"] == benchmark) & (data["topology"] == topology)]
            cells[column_name(benchmark, topology)] = epochs_note(runs, benchmark)
        else:
            cells[column_name(benchmark, topology)] = ""
    return cells
