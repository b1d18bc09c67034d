"""fastrnn.distributed: data-parallel fit over MPI.

The proof the issue asks for: 2 ranks with per-rank batch b end with the
parameters (and history) of 1 process trained with batch 2b on the same
data order -- every replica, whatever seed built it.  The ranks run under
``mpiexec`` in a subprocess (tests/helpers/mpi_fit.py).  Without mpi4py / mpiexec
these tests skip, except under ``FASTRNN_REQUIRE_MPI=1`` (CI), where that
is a failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import mpi_fit

import fastrnn
from fastrnn import distributed as dist

HERE = os.path.dirname(os.path.abspath(__file__))


def _mpiexec():
    """The mpiexec beside this interpreter (the mpich wheel's), else on PATH."""
    missing = None
    try:
        import mpi4py  # noqa: F401
    except ImportError as exc:
        missing = f"mpi4py cannot be imported: {exc}"
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    exe = local if os.access(local, os.X_OK) else shutil.which("mpiexec")
    if exe is None and missing is None:
        missing = "no mpiexec beside the interpreter or on PATH"
    if missing:
        if os.environ.get("FASTRNN_REQUIRE_MPI", "") == "1":
            pytest.fail(f"FASTRNN_REQUIRE_MPI=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    return exe


def _run(ranks, script, *args, cwd, expect=0):
    """``script args`` on ``ranks`` MPI ranks (0: one process, no mpiexec)."""
    cmd = [sys.executable, str(script), *map(str, args)]
    if ranks:
        cmd = [_mpiexec(), "-n", str(ranks)] + cmd
    else:
        _mpiexec()   # a singleton run still needs mpi4py
    # The ranks import the fastrnn this process imported (installed or built
    # in place), from a folder where no source tree can shadow it.
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastrnn.__file__)))
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
    assert proc.returncode == expect, (proc.stdout + proc.stderr)[-4000:]
    return proc


def _launch(ranks, kind, out, batch, *extra, expect=0):
    return _run(ranks, os.path.join(HERE, "helpers", "mpi_fit.py"), kind, out, batch, *extra,
                cwd=out.parent, expect=expect)


def _single_process(kind, batch):
    model, args, kwargs = mpi_fit.build(kind, seed=1000)   # rank 0's seed
    history = model.fit(*args, batch_size=batch, seed=mpi_fit.FIT_SEED, progress=False, **kwargs)
    history.pop("time")
    return model.parameters(), history


@pytest.mark.parametrize("kind", ["classifier", "seq2seq"])
def test_two_ranks_equal_one_process_with_twice_the_batch(kind, tmp_path):
    b = 8
    out = tmp_path / kind
    _launch(2, kind, out, b)
    want_params, want_history = _single_process(kind, 2 * b)
    replicas = [np.load(f"{out}.rank{r}.npz") for r in range(2)]
    for name, want in want_params.items():
        # The replicas are identical: every rank applies the same averaged step.
        np.testing.assert_array_equal(replicas[0][name], replicas[1][name], err_msg=name)
        np.testing.assert_allclose(replicas[0][name], want, rtol=1e-9, atol=1e-11, err_msg=name)
    with open(f"{out}.json") as f:
        history = json.load(f)
    assert history.keys() == want_history.keys()
    for key, values in want_history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-9, err_msg=key)


def test_one_rank_is_plain_fit(tmp_path):
    """``distributed=True`` in a process not started by mpiexec (one rank)."""
    out = tmp_path / "single"
    _launch(0, "classifier", out, 8)
    want_params, _ = _single_process("classifier", 8)
    got = np.load(f"{out}.rank0.npz")
    for name, want in want_params.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-14, err_msg=name)


def test_ranks_with_different_data_are_refused(tmp_path):
    proc = _launch(2, "classifier", tmp_path / "bad", 8, "mismatch", expect=3)
    assert "same number of training sequences on every rank" in proc.stdout


# Every rank trains a tiny classifier with a checkpoint; rank 0's checkpoint
# folder is missing, or its second write fails.  Each rank writes what it
# raised to rank<r>.txt.  Without the shared outcome, rank 1 would wait for
# rank 0 in the next Allreduce until the subprocess timeout.
CHECKPOINT_SCRIPT = """
import sys
import fastrnn as fr
from fastrnn import datasets
from fastrnn.distributed import world

case, rank = sys.argv[1], world().rank
fr.set_num_threads(1)
X, y, vocab = datasets.sentiment(24, seed=0, max_len=6)
model = fr.SequenceClassifier(2, vocab_size=len(vocab), embed_size=3, hidden_size=4, seed=0)
path = "ckpt.frnn"
if case == "missing folder" and rank == 0:
    path = "no-such-folder/ckpt.frnn"
if case == "failed write" and rank == 0:
    import fastrnn.models._fit as fit_module
    writes = []
    def save(model, path):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        fr.save(model, path)
    fit_module.save = save
try:
    model.fit(X, y, epochs=3, batch_size=4, progress=False, seed=0, distributed=True,
              checkpoint=path)
    outcome = "trained"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
with open(f"rank{rank}.txt", "w") as f:
    f.write(outcome)
"""


@pytest.mark.parametrize("case, error", [
    ("missing folder", "ValueError: .*checkpoint must be a file path this process can write, "
                       "got 'no-such-folder/ckpt.frnn' \\('.*no-such-folder' does not exist\\)"),
    ("failed write", "OSError: .*No space left on device"),
], ids=["missing folder", "failed write"])
def test_a_checkpoint_failure_on_rank_0_raises_on_every_rank(tmp_path, case, error):
    script = tmp_path / "ckpt.py"
    script.write_text(CHECKPOINT_SCRIPT)
    _run(2, script, case, cwd=tmp_path)
    outcomes = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    for r, outcome in enumerate(outcomes):
        assert re.match(error, outcome), (r, outcome)
    assert outcomes[1].startswith(outcomes[0].split(":")[0] + ": on rank 0: ")
    # A bad folder is refused before training: nothing was written at all.
    assert (case == "missing folder") == (not (tmp_path / "ckpt.frnn").exists())


# ------------------------------------------------------------ without MPI
@pytest.mark.parametrize("n, size", [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shards_cover_the_batch_once(n, size):
    index = np.arange(100, 100 + n)
    parts = [dist.shard(index, r, size) for r in range(size)]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), index)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


class _TwoRanks:
    """A stand-in communicator: its allreduce adds a fixed 'other rank' buffer."""
    rank, size, is_root = 0, 2, True

    def __init__(self, other):
        self.other = other

    def allreduce_(self, array):
        array += self.other
        return array


def test_gradient_averager_weights_ranks_by_their_counts():
    grads = np.array([1.0, 2.0, 3.0])             # this rank: mean over 1 term
    other = np.array([4.0 * 3, 5.0 * 3, 6.0 * 3, 3.0])   # the other: 3 terms, count last
    total = dist.GradientAverager(_TwoRanks(other), grads)(count=1)
    assert total == 4
    np.testing.assert_allclose(grads, (np.array([1.0, 2, 3]) + [12, 15, 18]) / 4)
    empty = np.array([7.0, 7.0])
    dist.GradientAverager(_TwoRanks(np.zeros(3)), empty)(count=0)
    np.testing.assert_array_equal(empty, 0.0)


def test_bad_distributed_argument():
    with pytest.raises(TypeError, match="distributed must be a bool, a fastrnn.distributed"):
        dist.resolve("yes")
    assert dist.resolve(False) is None and dist.resolve(None) is None


def test_oversubscribed_ranks_are_warned(tmp_path):
    """2 ranks x (cores) threads each on this host: rank 0 warns, training goes on."""
    code = ("import warnings, fastrnn as fr\n"
            "from fastrnn import distributed as dist\n"
            "comm = dist.world()\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    comm.check_threads(4, 2)\n"
            "line = f'rank {comm.rank} local {comm.local_size} warned {len(w)} '\n"
            "with open(f'rank{comm.rank}.txt', 'w') as f:\n"
            "    f.write(line + (str(w[0].message) if w else ''))\n")
    script = tmp_path / "threads.py"
    script.write_text(code)
    _run(2, script, cwd=tmp_path)
    lines = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    assert lines[0].startswith("rank 0 local 2 warned 1")
    assert "fr.set_num_threads(1)" in lines[0]
    assert lines[1] == "rank 1 local 2 warned 0 "
