#!/usr/bin/env bash
# Build fastrnn's source distribution and wheel (the wheel from the sdist,
# as `python -m build` does), then install EACH in a fresh virtual
# environment of its own and smoke-test it there: import, a forward pass of
# every cell (shapes, finite values), save / load, the shipped text, and
# `fastrnn config`.  The sdist is installed with pip's build isolation, so
# it must carry everything it needs to compile (csrc/ headers, .pxd / .pxi).
#
#     tools/check_dist.sh [OUT_DIR]      # default: dist/
#
# The build itself runs with the calling environment's build dependencies
# (setuptools, wheel, Cython, numpy, scipy and `build`; --no-isolation).
# CI (.ci/run) runs it and then tests the wheel it built.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
PY=${PYTHON:-python}
mkdir -p "$OUT"
rm -f "$OUT"/fastrnn-*.whl "$OUT"/fastrnn-*.tar.gz
"$PY" -m build --no-isolation -o "$OUT" . > "$OUT.build.log" 2>&1 ||
    { tail -n 40 "$OUT.build.log"; echo "check_dist: BUILD FAILED"; exit 1; }
rm -f "$OUT.build.log"
ls "$OUT"/fastrnn-*

SMOKE='
import os, tempfile
import numpy as np
import fastrnn as fr
x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
for cls in (fr.RNN, fr.LSTM, fr.GRU):
    layer = cls(4, 8, num_layers=2, bidirectional=True, seed=0)
    out, state = layer(x)
    assert out.shape == (5, 3, 16) and np.isfinite(out).all(), cls
    path = os.path.join(tempfile.mkdtemp(), "m.frnn")
    fr.save(layer, path)
    assert np.array_equal(fr.load(path)(x)[0], out), cls
assert "nursery_rhymes" in fr.datasets.available_texts()   # the shipped text
print("fastrnn", fr.__version__, "from", os.path.dirname(fr.__file__), ": forward, save, load ok")
'
for artifact in "$OUT"/fastrnn-*.whl "$OUT"/fastrnn-*.tar.gz; do
    echo "== $(basename "$artifact") in a fresh venv"
    work=$(mktemp -d)
    "$PY" -m venv "$work/venv"
    "$work/venv/bin/python" -m pip install -q "$artifact" ||
        { echo "check_dist: $(basename "$artifact") does not install"; exit 1; }
    # From an empty folder, so that only the installed package can be imported.
    (cd "$work" && "$work/venv/bin/python" -c "$SMOKE" && "$work/venv/bin/fastrnn" config > config.txt &&
        grep -q "kernels:" config.txt && head -n 3 config.txt) ||
        { echo "check_dist: $(basename "$artifact") fails its smoke test"; exit 1; }
    rm -rf "$work"
done
echo "check_dist: the sdist and the wheel install and run"
