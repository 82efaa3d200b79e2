#!/usr/bin/env bash
# One device session on a lent GPU machine (torch preinstalled there, no snakemake): install the carried wheels
# (.whl/, made with `pip download` for Python 3.12), then run the smoke DAG on CUDA, the benchmark on CUDA and the
# CUDA tests. Every step has its own time limit; logs go to $OUT (or /tmp/gpu-out).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        > /tmp/pip.log 2>&1 || { echo "wheel install failed"; tail /tmp/pip.log; }
    export PYTHONPATH=/tmp/site
fi
# `python` for the rule shells: a wrapper, not a symlink (a symlink to a venv's python loses the venv)
mkdir -p /tmp/bin; printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > /tmp/bin/python; chmod +x /tmp/bin/python
export PATH=/tmp/bin:$PATH
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.txt"
python3 -c "import torch, snakemake; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'snakemake', snakemake.__version__)" | tee "$OUT/versions.txt"
echo "== git commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)" | tee -a "$OUT/versions.txt"
for step in "$@"; do
  case $step in
    smoke) start=$(date +%s); CORES=16 WORKDIR=/tmp/gpu-smoke timeout ${SMOKE_S:-220} bash scripts/gpu_check.sh > "$OUT/smoke.log" 2>&1; echo "smoke: rc=$? $(( $(date +%s) - start )) s"; tail -25 "$OUT/smoke.log" ;;
    bench) start=$(date +%s); timeout ${BENCH_S:-150} python3 -m alttrain bench --device cuda --out "$OUT/bench" > "$OUT/bench.log" 2>&1; echo "bench: rc=$? $(( $(date +%s) - start )) s"; tail -30 "$OUT/bench.log" ;;
    cudatests) timeout ${TESTS_S:-90} python3 -m pytest -q -p no:cacheprovider tests/test_data_cuda.py > "$OUT/cudatests.log" 2>&1; echo "cuda tests: rc=$?"; tail -8 "$OUT/cudatests.log" ;;
    rehearse) start=$(date +%s); timeout ${REHEARSE_S:-200} python3 -m alttrain rehearse --device cuda --measure-throughput --out "$OUT/rehearsal" > "$OUT/rehearse.log" 2>&1; echo "rehearse: rc=$? $(( $(date +%s) - start )) s"; tail -30 "$OUT/rehearse.log" ;;
  esac
done
