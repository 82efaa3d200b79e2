#!/usr/bin/env bash
# Time every paper-scale job shape on one GPU (under 4 minutes) and write $OUT/rehearsal/throughput.csv, the
# measured fractions of peak for the cost model (copy it to resources/rehearsal/throughput.csv). Needs only
# torch, timm, numpy, pandas and pyyaml: no Snakemake.
set -euo pipefail
OUT=${OUT:-results}
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=4
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
python -m alttrain rehearse --device cuda --measure-throughput --max-minutes "${MAX_MINUTES:-3}" \
    --out "$OUT/rehearsal" 2>&1 | tee "$OUT/rehearsal_gpu.log" | tail -n 40
