"""Fork after a parallel call: the child must work, not hang.

GNU OpenMP keeps its worker team after a parallel region; a child forked
after one inherits the team's bookkeeping but not its threads, and its first
parallel region would wait for them forever.  fastrnn's at-fork handler puts
such a child on one kernel thread (``fastrnn._runtime``).  Each case runs in
a fresh interpreter (``run_python``) with a timeout, so a hang fails the test
instead of stalling the suite.
"""
import sys

import pytest

from helpers.running import run_python

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method: Linux")

_PARENT = """
import os, warnings
import numpy as np
import fastrnn as fr
fr.set_num_threads(2)
x = np.ones((5, 16, 4), np.float32)
lstm = fr.LSTM(4, 8, bidirectional=True, seed=0)
expected, _ = lstm(x)                      # a parallel region: the team exists now
"""


def test_a_child_forked_after_a_parallel_call_runs_the_kernels(tmp_path):
    code = _PARENT + """
pid = os.fork()
if pid == 0:
    out, _ = lstm(x)
    (o, _), bp = lstm.forward_train(x)
    bp(np.ones_like(o))
    os._exit(0 if np.array_equal(out, expected) and fr.get_num_threads() == 1 else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
out, _ = lstm(x)                            # the parent keeps its threads
print("parent", fr.get_num_threads(), np.array_equal(out, expected))
"""
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["child", "0", "parent", "2", "True"]


def test_a_multiprocessing_fork_pool_after_a_parallel_call(tmp_path):
    code = _PARENT + """
import multiprocessing as mp

def work(seed):
    return float(lstm(x * seed)[0].sum())

with mp.get_context("fork").Pool(2) as pool:
    got = pool.map(work, [1, 2, 3])
print(got == [work(1), work(2), work(3)])
"""
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_a_forked_child_refuses_more_threads_with_a_warning(tmp_path):
    code = _PARENT + """
pid = os.fork()
if pid == 0:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fr.set_num_threads(4)
    ok = (fr.get_num_threads() == 1 and len(caught) == 1
          and "forked" in str(caught[0].message) and np.array_equal(lstm(x)[0], expected))
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_a_child_forked_before_any_parallel_call_keeps_its_threads(tmp_path):
    code = """
import os
import numpy as np
import fastrnn as fr
pid = os.fork()
if pid == 0:
    fr.set_num_threads(2)
    fr.LSTM(4, 8)(np.ones((5, 16, 4), np.float32))
    os._exit(0 if fr.get_num_threads() == 2 else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_a_child_forked_after_a_frozen_unit_split_call_runs_it(tmp_path):
    """A frozen layer at batch 1 runs the hidden-unit split (its own
    barrier, operands packed per team size): the child, on one thread,
    packs for its own team and gets the parent's bits."""
    code = _PARENT + """
from fastrnn import functional as F
F.UNIT_SPLIT_MIN_MACS = F.UNIT_SPLIT_MIN_CALL_MACS = 0
frozen = fr.freeze(fr.LSTM(4, 40, seed=0))
x1 = np.ones((7, 1, 4), np.float32)
want, _ = frozen(x1)
pid = os.fork()
if pid == 0:
    got, _ = frozen(x1)
    os._exit(0 if np.array_equal(got, want) else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["child", "0"]
