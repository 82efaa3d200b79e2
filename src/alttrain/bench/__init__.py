"""Benchmark suite: ``python -m alttrain bench`` (``make bench``) writes ``results/bench/bench.{json,md}``.

Cases (``--only`` selects some; every case fails soft, recording its errors in the JSON):

* ``forward_gradient``: fg estimator steps (true forward mode, simulated, loop of k jvps) over one backprop
  step, FLOPs over a forward pass, achieved FLOP rate; MLP 784-256-256-10, ResNet18 and the fg ViT at 32x32.
* ``closed_form``: vectorised closed-form sweep vs a per-run loop; estimate of the paper's full grid.
* ``oialr``: low-rank Linear vs full rank, controller overhead, one rank update of the mini-ViT.
* ``f3``: step time of F3 / DRTP / DFA / backprop on FC2-1000, epoch throughput of FC1-500.

``--dag-times RUN_DIR`` instead summarises a finished Snakemake run (wall time, slowest jobs) into the same
files. This is a benchmark, not a test: the tests only check that ``--tiny`` runs. See
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CASES: dict[str, tuple[str, str]] = {
    "forward_gradient": ("alttrain.bench.fg_cases", "Forward gradients: estimator step vs backprop"),
    "closed_form": ("alttrain.bench.closed_form_cases", "Closed-form sweep: vectorised vs per-run loop"),
    "oialr": ("alttrain.bench.oialr_cases", "OIALR: low-rank layers and controller"),
    "f3": ("alttrain.bench.f3_cases", "F3 and feedback methods: step time and epoch throughput"),
}
REPO = Path(__file__).resolve().parents[3]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alttrain bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/bench"), help="output folder (bench.json, .md)")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes, 1 round: checks that the suite runs")
    parser.add_argument("--only", default=None, help=f"comma-separated cases out of: {', '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per comparison (default 5; tiny 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls per variant (default 1)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory measurements")
    parser.add_argument("--no-flops", action="store_true", help="skip FLOP counting")
    parser.add_argument(
        "--dag-times",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="summarise a finished Snakemake run in RUN_DIR instead of running the cases",
    )
    parser.add_argument("--readme", type=Path, default=None,
                        help="rewrite the targets block of this README from the last run's bench.json (no timing)")
    parser.add_argument("--scale", default=None, help="with --dag-times: the scale label (default: from the log)")
    parser.add_argument("--log", type=Path, default=None, help="with --dag-times: the Snakemake log to read")
    return parser


def _load_previous(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write(results: dict[str, Any], out: Path) -> None:
    from alttrain.atomic import write_json, write_text
    from alttrain.bench.report import render_markdown

    write_json(out / "bench.json", results)
    write_text(out / "bench.md", render_markdown(results, list(CASES)))
    print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")


def run_case(name: str, settings) -> dict[str, Any]:
    """Run one case; an import error or a crash becomes an ``error`` entry instead of an exception."""
    from alttrain.bench.harness import error_text
    from alttrain.bench.record import CaseRecord

    module, title = CASES[name]
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        record = importlib.import_module(module).run(settings)
    except Exception as err:  # why broad: one broken case must not stop the others
        record = CaseRecord(name, title)
        record.errors.append({"what": "case", "error": error_text(err)})
    result = record.to_dict()
    result["seconds"] = time.perf_counter() - started
    # why CPU time too: on a shared machine the wall time of the suite says more about the neighbours
    result["cpu_seconds"] = time.process_time() - cpu_started
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m alttrain bench``."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = args.out
    previous = _load_previous(out / "bench.json")
    if args.readme is not None:
        from alttrain.atomic import write_text
        from alttrain.bench.report import readme_block, replace_readme_block
        from alttrain.errors import UserError

        if not previous:
            raise UserError(f"no benchmark results in {out / 'bench.json'}; run `python -m alttrain bench` first")
        text = replace_readme_block(args.readme.read_text(), readme_block(previous, list(CASES)))
        write_text(args.readme, text)
        return 0
    if args.dag_times is not None:
        from alttrain.bench.dag import dag_times

        summary = dag_times(args.dag_times, scale=args.scale, log=args.log)
        results = previous or {"created": datetime.now(UTC).isoformat(timespec="seconds"), "cases": {}}
        results.setdefault("dag", {})[summary["scale"].split()[0]] = summary
        _write(results, out)
        return 0

    import torch

    from alttrain.bench.harness import Settings, environment
    from alttrain.devices import resolve_device
    from alttrain.errors import UserError

    names = list(CASES) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise UserError(f"unknown bench case(s) {unknown}; known: {', '.join(CASES)}")
    torch.set_num_threads(args.threads)
    default_repeats, default_warmup = (1, 1) if args.tiny else (5, 1)
    settings = Settings(
        tiny=args.tiny,
        repeats=args.repeats or default_repeats,
        warmup=args.warmup or default_warmup,
        min_sample_s=0.0 if args.tiny else 0.05,
        device=resolve_device(args.device),
        memory=not args.no_memory,
        flops=not args.no_flops,
    )
    results: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "tiny": settings.tiny,
            "repeats": settings.repeats,
            "warmup": settings.warmup,
            "min_sample_s": settings.min_sample_s,
            "threads": args.threads,
            "device": str(settings.device),
        },
        "environment": environment(settings, REPO),
        "cases": {},
    }
    same_kind = previous.get("settings", {}).get("tiny") == settings.tiny and previous.get("settings", {}).get(
        "device"
    ) == str(settings.device)
    if args.only is not None and same_kind:
        results["cases"] = dict(previous.get("cases", {}))  # keep the cases this run does not repeat
    results["dag"] = previous.get("dag", {})
    for name in names:
        print(f"bench: {name} ...", flush=True)
        results["cases"][name] = run_case(name, settings)
        case = results["cases"][name]
        print(
            f"bench: {name}: {case['status']} in {case['seconds']:.1f} s ({case['cpu_seconds']:.1f} s CPU)",
            flush=True,
        )
        # why after every case: a long run that is stopped keeps what it measured so far
        results["cases"] = {n: results["cases"][n] for n in CASES if n in results["cases"]}
        _write(results, out)
    return 0
