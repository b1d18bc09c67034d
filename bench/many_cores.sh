#!/usr/bin/env bash
# fastrnn on a machine with many cores: build the kernels there, print its
# CPU and the chosen build, the register tiles on one core, the side-by-side
# table against PyTorch / ONNX Runtime / OpenVINO (where installed) at N
# threads, then fastrnn's speed-up over 1 thread at 1..N threads.
#
#     bash bench/many_cores.sh [N] [OUTDIR]
#
# Takes about 6 minutes on 16 cores.  Each part prints as it goes and is
# written to its own file in OUTDIR, so a run cut short keeps what it did.
# SHAPES and SCALING_SHAPES (B,T,I,H ...) override the shapes, e.g. for a
# quick try on a small machine; COMMIT names the commit where the copy has
# no git history.  Results: bench/RESULTS.md, "Many cores".
set -euo pipefail
N=${1:-$(nproc)}
OUT=${2:-.}
PY=${PYTHON:-python3}
SHAPES=${SHAPES:-"1,100,256,256 16,100,256,256 64,100,512,512 128,50,1024,1024"}
SCALING_SHAPES=${SCALING_SHAPES:-"16,100,256,256 64,100,512,512"}
export PYTHONUNBUFFERED=1 PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
unset OPENBLAS_CORETYPE
stamp() { echo "== $1 ($(date -u +%H:%M:%S), ${SECONDS}s)"; }

stamp build
$PY setup.py -q build_ext --inplace -j "$N" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
{ lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|NUMA node\(s\)'
  echo "AVX-512 flags: $(grep -o -w 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  $PY -c "import fastrnn, torch, numpy; fastrnn.show_config(); print('torch', torch.__version__)"
  $PY -c "import onnxruntime; print('onnxruntime', onnxruntime.__version__)" || true
  $PY -c "import openvino; print('openvino', openvino.__version__)" || true
} 2>&1 | tee "$OUT/machine.txt"

stamp "register tiles, one core"
gcc -O3 -Icsrc bench/step_tiles.c -o /tmp/fastrnn_step_tiles
/tmp/fastrnn_step_tiles | tee "$OUT/tiles.txt"

stamp "the hidden-unit split's step and barrier, $N threads"
gcc -O3 -fopenmp -Icsrc bench/unit_step.c -o /tmp/fastrnn_unit_step
/tmp/fastrnn_unit_step $((16 * N)) "$N" | tee "$OUT/unit_step.txt"

# One call of `fastrnn bench` per cell, so that a run cut short keeps the
# cells it finished.
stamp "side by side, $N threads"
for cell in lstm gru rnn; do
    $PY -m fastrnn.cli bench --threads "$N" --rounds 3 --no-progress --cells "$cell" \
        --shapes $SHAPES 2>&1 | tee -a "$OUT/side_by_side.txt"
done

stamp "speed-up over 1 thread"
THREADS="1 2 4 8"; [ "$N" -gt 8 ] && THREADS="$THREADS $N"
$PY bench/thread_scaling.py --threads $THREADS --rounds 2 --cells lstm,gru,rnn \
    --shapes $SCALING_SHAPES 2>&1 | tee "$OUT/scaling.txt"
stamp done
