"""``python -m alttrain rehearse``: the paper-scale rehearsal and cost model (see docs/cluster.md).

    python -m alttrain rehearse                       # every paper-scale job shape on the CPU -> results/rehearsal/
    python -m alttrain rehearse --only 'f3-wine'      # the shapes whose id matches a regular expression
    python -m alttrain rehearse --device cuda --measure-throughput --out throughput/   # time shapes on a GPU

The CPU rehearsal exits with status 1 when a shape fails to start or the SLURM profile is too small for a
predicted run (the messages name the run and the fix). The GPU mode writes ``throughput.csv``; copy it to
``resources/rehearsal/throughput.csv`` and the cost model takes its measured fractions of peak.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

from alttrain.errors import UserError

THROUGHPUT = Path("resources/rehearsal/throughput.csv")
PROFILE = Path("workflow/profiles/slurm/config.yaml")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alttrain rehearse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="paper")
    parser.add_argument("--papers", nargs="+", default=None, help="default: config/config.yaml's papers")
    parser.add_argument("--only", default=None, help="regular expression on the job-shape id")
    parser.add_argument("--out", type=Path, default=Path("results/rehearsal"))
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--measure-throughput", action="store_true",
                        help="time the paper batch of each shape on --device (a GPU); writes throughput.csv")
    parser.add_argument("--max-minutes", type=float, default=3.0, help="time budget of --measure-throughput")
    parser.add_argument("--throughput", type=Path, default=THROUGHPUT,
                        help="measured throughput CSV for the cost model (used when it exists)")
    parser.add_argument("--profile", type=Path, default=PROFILE)
    parser.add_argument("--reuse", type=Path, default=None,
                        help="shapes.csv of an earlier rehearsal: redo the cost model and report without rerunning")
    args = parser.parse_args(argv)

    import torch

    from alttrain.rehearsal.shapes import job_shapes, scale_config

    torch.set_num_threads(1)
    shapes = job_shapes(scale_config(args.scale, ".", args.papers))
    if args.only:
        pattern = re.compile(args.only)
        shapes = [s for s in shapes if pattern.search(s.shape_id)]
        if not shapes:
            raise UserError(f"--only {args.only!r} matches no job shape id (ids look like 'f3-wine-1a2b3c4d')")
    if args.measure_throughput:
        return _throughput(shapes, args)
    return _rehearse(shapes, args)


def _rehearse(shapes, args) -> int:
    from alttrain.rehearsal.cost import run_costs
    from alttrain.rehearsal.measure import measure, start_run
    from alttrain.rehearsal.profile import check_profile, profile_resources, resubmission_notes
    from alttrain.rehearsal.report import commit, stamp, write_report

    started = time.perf_counter()
    rows = []
    earlier = pd.read_csv(args.reuse).set_index("shape_id") if args.reuse else None
    for number, shape in enumerate(shapes, 1):
        if earlier is not None:
            if shape.shape_id not in earlier.index:
                raise UserError(f"--reuse {args.reuse} has no row for {shape.shape_id}; rerun the rehearsal")
            rows.append({"shape_id": shape.shape_id, **earlier.loc[shape.shape_id].to_dict()})
            continue
        t0 = time.perf_counter()
        row = {"shape_id": shape.shape_id, "description": shape.describe(), "runs": len(shape.runs),
               "world_size": shape.world_size, "per_process_batch": shape.per_process_batch}
        try:
            run = start_run(shape, args.device)
            row.update(status="started", start_status=run["status"], rehearsal_processes=run["processes"])
            row.update(measure(shape, args.device))
        except Exception as err:  # a shape that fails is the rehearsal's finding: record it, go on
            row.update(status="failed", error=f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")
            traceback.print_exc()
        row["rehearsal_seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(f"[{number}/{len(shapes)}] {shape.shape_id} {row['status']} {row['rehearsal_seconds']:.1f} s "
              f"{shape.describe()}", flush=True)
    measured = pd.DataFrame(rows)
    ok = [s for s in shapes if measured.set_index("shape_id").loc[s.shape_id, "status"] == "started"]
    throughput = pd.read_csv(args.throughput) if args.throughput.is_file() else None
    costs = run_costs(ok, measured[measured.status == "started"], throughput)
    resources = profile_resources(args.profile)
    problems = check_profile(costs, resources) if len(costs) else []
    wall = (time.perf_counter() - started) / 60
    if earlier is not None:  # the measurements' own time and date
        wall = float(earlier["rehearsal_seconds"].sum()) / 60
    meta = {"date": stamp(), "commit": commit(), "device": f"{args.device} ({torch_threads()} thread)",
            "wall_minutes": wall, "scale": args.scale,
            "papers": sorted({s.run["paper"] for s in shapes}), "profile": resources,
            "notes": resubmission_notes(costs, resources) if len(costs) else []}
    write_report(args.out, measured, costs, problems, meta)
    failed = measured[measured.status == "failed"]
    print(f"rehearsal: {len(shapes)} job shapes in {meta['wall_minutes']:.1f} min; report {args.out / 'cost.md'}")
    for row in failed.itertuples():
        print(f"rehearsal: FAILED to start {row.shape_id} ({row.description}): {row.error}", file=sys.stderr)
    for text in problems:
        print(f"rehearsal: profile too small: {text}", file=sys.stderr)
    return 1 if len(failed) or problems else 0


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _compute_key(shape) -> str:
    """Shapes with the same work per step (the feedback matrices' init does not change it) are timed once."""
    import json

    key = dict(shape.key)
    key["method"] = {k: v for k, v in key["method"].items() if k != "feedback_init"}
    key.pop("epochs", None)
    return json.dumps(key, sort_keys=True)


def _throughput(shapes, args) -> int:
    import torch

    from alttrain.atomic import write_csv
    from alttrain.rehearsal.measure import time_steps

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here")
    deadline = time.perf_counter() + 60 * args.max_minutes
    timed: dict[str, dict] = {}
    rows = []
    # the expensive shapes first, so the time budget never drops them
    order = sorted(shapes, key=lambda s: -int(s.run["batch_size"]) * (s.world_size > 1) - ("oialr" in s.shape_id))
    for shape in order:
        key = _compute_key(shape)
        if key not in timed:
            if time.perf_counter() > deadline:
                continue
            try:
                timed[key] = time_steps(shape, args.device)
            except Exception as err:  # recorded, not fatal: the CPU rehearsal is the start check
                timed[key] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
            print(f"{shape.shape_id}: {timed[key]}", flush=True)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        rows.append({**timed[key], "shape_id": shape.shape_id})
    frame = pd.DataFrame(rows)
    write_csv(args.out / "throughput.csv", frame)
    print(f"throughput: {len(timed)} distinct shapes timed, {len(rows)} of {len(shapes)} shapes covered; "
          f"{args.out / 'throughput.csv'}")
    return 0
