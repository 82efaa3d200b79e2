#!/usr/bin/env bash
# GPU readiness check: run the smoke DAG on one GPU, print the time of every benchmarked job (from
# results/benchmarks) and which device each training run used, then the tiny benchmark suite if it exists.
#
#   scripts/gpu_check.sh                      # all papers, scratch folder under /tmp
#   PAPERS='[f3]' WORKDIR=/tmp/gpu scripts/gpu_check.sh
#
# Environment: PAPERS (default all three), WORKDIR (scratch working directory of the DAG), CORES (default 8),
# CUDA_VISIBLE_DEVICES (default 0: one GPU). Exits non-zero when no GPU is visible, when the DAG fails, or when a
# training run did not run on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
PAPERS=${PAPERS:-"[fg, oialr, f3]"}
CORES=${CORES:-8}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/alttrain-gpu-check.XXXXXX)}
PYTHON=${PYTHON:-python3}

"$PYTHON" - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device is visible; this check needs one GPU")
print(f"gpu_check: torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
EOF

echo "gpu_check: smoke DAG of $PAPERS in $WORKDIR (device=cuda, $CORES cores)"
start=$(date +%s)
dag_status=0
"$PYTHON" -m snakemake -s "$REPO/Snakefile" --directory "$WORKDIR" --configfile "$REPO/config/config.yaml" \
    --config scale=smoke device=cuda "papers=$PAPERS" --cores "$CORES" --keep-going --quiet rules \
    || dag_status=$?
echo "gpu_check: smoke DAG ended with status $dag_status after $(( $(date +%s) - start )) s"

"$PYTHON" - "$WORKDIR" <<'EOF'
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1]) / "results"
rows = []
for path in sorted((root / "benchmarks").rglob("*.tsv")):
    with path.open() as handle:
        record = next(csv.DictReader(handle, delimiter="\t"))
    rows.append((str(path.relative_to(root / "benchmarks").with_suffix("")), float(record["s"]),
                 record.get("max_rss", "NA")))
print(f"\n{'benchmarked job':<90} {'seconds':>9} {'max RSS MB':>11}")
for name, seconds, rss in rows:
    print(f"{name:<90} {seconds:9.2f} {rss:>11}")
by_experiment = defaultdict(float)
for name, seconds, _ in rows:
    by_experiment["/".join(name.split("/")[:2])] += seconds
print("\nper paper/experiment (sum of job seconds):")
for key, seconds in sorted(by_experiment.items()):
    print(f"  {key:<60} {seconds:9.2f}")
devices = defaultdict(list)
for summary in (root / "runs").rglob("summary.json"):
    devices[json.loads(summary.read_text()).get("device", "?")].append(str(summary.parent))
print("\ntraining runs per device:", {device: len(runs) for device, runs in devices.items()})
on_cpu = devices.get("cpu", [])
if on_cpu:
    sys.exit(f"gpu_check: {len(on_cpu)} training run(s) ran on the CPU, e.g. {on_cpu[0]}")
EOF

if [ "$dag_status" -ne 0 ]; then
    echo "gpu_check: the smoke DAG failed (see $WORKDIR/results/logs)" >&2
    exit "$dag_status"
fi
if "$PYTHON" -m alttrain bench --help 2>/dev/null | grep -q -- "--tiny"; then
    echo -e "\ngpu_check: python -m alttrain bench --tiny"
    "$PYTHON" -m alttrain bench --tiny
else
    echo -e "\ngpu_check: no 'python -m alttrain bench --tiny' command here; skipped"
fi
