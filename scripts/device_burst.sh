#!/usr/bin/env bash
# Train the default network on a borrowed GPU in one remote command (docs/gpu.md).
# Needs in the checkout (both under the ignored data/, carried): data/kgs-archives/*.tar.gz and
# data/wheels/sgfmill-*.whl. Installs nothing but sgfmill (into /tmp/site) and runs the checkout's code
# through /tmp/src/gopolicy, the installed layout made of links (engine/ -> gopolicy.engine, ...).
# First the device-batch tests and a smoke run on the GPU (under 2 minutes: the same code path on 60
# games), then the real burst, whose files land in $OUT: weights.safetensors, report.json, metrics.csv, burst.log.
# Within one 600-second command: MINUTES of training (default 7), all of it within MAX_MINUTES (8.7).
# SMOKE=only stops after the smoke run; SMOKE=no skips it; DEVICE, LIMIT, FILTERS are for trying it elsewhere.
set -euo pipefail
: "${OUT:?OUT must name the folder whose files come back}"
MINUTES=${MINUTES:-7} MAX_MINUTES=${MAX_MINUTES:-8.7} DEVICE=${DEVICE:-cuda} SMOKE=${SMOKE:-yes}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site data/wheels/*.whl
# The checkout's gopolicy/ lacks its subpackages (pyproject.toml maps engine/, training/... into it), so
# Python runs from /tmp/src, where they are linked in; paths given to it are absolute.
CHECKOUT=$PWD
rm -rf /tmp/src && mkdir -p /tmp/src/gopolicy
ln -s "$CHECKOUT"/gopolicy/*.py /tmp/src/gopolicy/
for sub in engine training review benchmarks; do ln -s "$CHECKOUT/$sub" "/tmp/src/gopolicy/$sub"; done
ln -s "$CHECKOUT/weights" /tmp/src/gopolicy/network
export PYTHONPATH="/tmp/src:/tmp/site" PYTHONUNBUFFERED=1
cd /tmp/src
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch, sgfmill; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
if [ "$SMOKE" != no ]; then
  python3 -m pytest -q -x -p no:cacheprovider "$CHECKOUT/tests/test_gpu_batches.py"  # device-made batches == the CPU path
  python3 -m gopolicy burst --smoke --device "$DEVICE" --minutes 0.2 --max-minutes 1.5 --out /tmp/burst-smoke \
    "$CHECKOUT"/data/kgs-archives/*.tar.gz
  cp /tmp/burst-smoke/report.json "$OUT/smoke-report.json"
  [ "$SMOKE" = only ] && exit 0
fi
python3 -m gopolicy burst "$CHECKOUT"/data/kgs-archives/*.tar.gz --out "$OUT" --device "$DEVICE" --minutes "$MINUTES" \
  --max-minutes "$MAX_MINUTES" ${LIMIT:+--limit "$LIMIT"} ${FILTERS:+--filters "$FILTERS"} 2>&1 | tee "$OUT/burst.log"
