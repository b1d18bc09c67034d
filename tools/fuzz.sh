#!/usr/bin/env bash
# Long fuzz run of the hypothesis property tests (tests/test_fuzz.py).
#
# Not part of CI's default path: CI runs the same file under the short,
# derandomised "ci" profile (40 examples per property plus a fixed sweep of
# every cell x merge mode).  This script selects the "long" profile: N
# examples per property (default 2000), fresh random seeds every run, so
# repeated runs explore new inputs.  Each property compares the kernels with
# the numpy reference (tests/helpers/reference.py), finite differences, PyTorch
# (when installed) and themselves across thread counts, and checks that
# malformed or non-finite inputs raise or propagate cleanly.
#
# Usage (from anywhere):
#   tools/fuzz.sh [N] [extra pytest arguments]     e.g.  tools/fuzz.sh 500 -x
#   N=5000 tools/fuzz.sh
# It tests the fastrnn the `pytest` script imports: the installed package;
# PYTHONPATH=. tools/fuzz.sh tests the in-place build of the source tree
# (python setup.py build_ext --inplace) instead.  PYTEST=... picks another
# pytest command.
#
# Prints hypothesis' statistics per property, then the examples each
# property ran (including the fixed sweep and any shrinking), their total,
# and the wall time.  Exits with pytest's status; a failing property prints
# its minimal falsifying example and a @reproduce_failure blob.  An
# interpreter crash (which no input may cause) is reported as such.
set -uo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    N=$1
    shift
fi
# This checkout's virtual environment when it has one (torch for the parity
# property), as tools/sanitize.sh does; else whatever pytest is on PATH.
if [ -z "${PYTEST:-}" ] && [ -x .venv/bin/pytest ]; then PYTEST=.venv/bin/pytest; fi
PYTEST=${PYTEST:-pytest}
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT

echo "fuzz: ${N} examples per property (HYPOTHESIS_PROFILE=long)"
start=$(date +%s.%N)
HYPOTHESIS_PROFILE=long FASTRNN_FUZZ_EXAMPLES=$N FASTRNN_FUZZ_STATS=$stats \
    $PYTEST -q -p no:cacheprovider --hypothesis-show-statistics tests/test_fuzz.py "$@"
rc=$?
end=$(date +%s.%N)

if [[ $rc -gt 128 ]]; then
    echo "fuzz: THE INTERPRETER CRASHED (signal $((rc - 128)))"
fi
python3 - "$stats" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        data = json.load(f)
except (OSError, ValueError):
    print("fuzz: no example counts (the run did not finish its module)")
    sys.exit(0)
counts = data["examples"]
print(f"fuzz: examples run per property ({data['profile']} profile):")
for name, n in sorted(counts.items()):
    print(f"  {n:8d}  {name}")
print(f"  {sum(counts.values()):8d}  total")
PY
python3 -c "import sys; print(f'fuzz: wall time {float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$start" "$end"
exit $rc
