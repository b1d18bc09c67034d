#!/usr/bin/env bash
# OpenMP scaling beyond 2 cores: build the kernels on the machine at hand,
# print its CPU, then fastrnn's speed-up over 1 thread at 1..N threads and
# the side-by-side table against PyTorch / ONNX Runtime at N threads.
#
#     bash bench/many_cores.sh [N] [OUTDIR]
#
# Takes about 7 minutes on 16 cores.  Results: bench/RESULTS.md, "Many cores".
set -euo pipefail
N=${1:-$(nproc)}
OUT=${2:-.}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
unset OPENBLAS_CORETYPE
$PY setup.py -q build_ext --inplace -j "$N" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
{ lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket|L2|L3|NUMA node\(s\)'
  $PY -c "import fastrnn, numpy, torch; fastrnn.show_config(); print('torch', torch.__version__)"
} 2>&1 | tee "$OUT/machine.txt"
THREADS="1 2 4 8"; [ "$N" -gt 8 ] && THREADS="$THREADS $N"
$PY bench/thread_scaling.py --threads $THREADS --rounds 3 --cells lstm,gru,rnn \
    --shapes 16,100,256,256 64,100,512,512 2>&1 | tee "$OUT/scaling.txt"
$PY bench/thread_scaling.py --threads $THREADS --rounds 2 --cells lstm \
    --shapes 128,50,1024,1024 2>&1 | tee -a "$OUT/scaling.txt"
PYTHONPATH=. $PY -m fastrnn.cli bench --threads "$N" --rounds 3 --no-progress --cells lstm,gru \
    --shapes 1,100,256,256 64,100,512,512 128,50,1024,1024 2>&1 | tee "$OUT/side_by_side.txt"
