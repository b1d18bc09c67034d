"""Threads: fastrnn's thread count, and the BLAS thread count around kernels.

fastrnn's parallel work runs on its own OpenMP threads (the time loops, and
the large products after them, each thread making single-threaded BLAS
calls on its block), never on the BLAS library's threads: a threaded BLAS
call leaves its workers spinning for ~0.1 s on the cores the next OpenMP
region needs (bench/busy_machine.py measures what that costs).  Every BLAS
call fastrnn makes therefore runs inside ``single_threaded_blas()``, which limits
the loaded BLAS libraries for the duration of a block through
threadpoolctl's per-library controllers (about a microsecond a call).

Fork: GNU OpenMP (libgomp) keeps its worker team after a parallel region,
and a child forked after one inherits the team's bookkeeping but not its
threads, so the child's first parallel region waits for them forever.  An
at-fork handler therefore puts such a child on one thread (a parallel
region of one thread never touches the team); a child forked before any
parallel kernel keeps its threads.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from typing import TYPE_CHECKING

from ._kernels import recurrent as _recurrent

if TYPE_CHECKING:
    from typing import TextIO

_BUILD = _recurrent.build_info()
_lock = threading.Lock()
_state = {"num_threads": None, "blas": None, "blas_depth": 0, "blas_saved": None,
          "team_started": False, "forked_serial": False, "dynamic": True}


def _default_num_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return _default_cpu_count()


def get_num_threads() -> int:
    """Number of threads fastrnn's kernels use.

    Defaults to ``OMP_NUM_THREADS`` when set, else the cores this process may
    run on.  In a process forked after its parent ran parallel kernels it is
    1 (see :func:`set_num_threads`).

    Returns
    -------
    int

    Examples
    --------
    >>> import fastrnn as fr
    >>> fr.get_num_threads() >= 1
    True
    """
    if _state["num_threads"] is None:
        _state["num_threads"] = _default_num_threads()
    n = _state["num_threads"]
    if n > 1:
        # Every kernel caller asks here before it opens a parallel region:
        # from now on a forked child must not use the OpenMP team.
        _state["team_started"] = True
    return n


def set_num_threads(n: int, *, dynamic: bool | None = None) -> None:
    """Set the number of threads fastrnn's kernels (and the BLAS calls they
    make) use.

    Parameters
    ----------
    n : int
        A positive number of threads.
    dynamic : bool, optional
        Whether the kernels may run fewer threads while the cores are
        crowded (below).  Default: keep the current setting (True at
        start).

    Notes
    -----

    ``dynamic`` (default True; None keeps the current setting): while other
    work crowds the cores -- another process, or another library's threads
    still spinning after a call -- the recurrent layers' time loops run on
    as many threads as found a core to themselves, and try all ``n`` again
    now and then.  A team sharing its cores is slower than one thread alone
    (each launch waits for its slowest thread); results never depend on the
    thread count.  ``dynamic=False`` always runs ``n`` threads (e.g. to
    measure scaling).

    A process forked (``os.fork``, multiprocessing's ``"fork"`` start
    method) after its parent ran parallel kernels runs them on one thread:
    GNU OpenMP cannot start a new team in such a child.  There ``n > 1``
    warns and keeps 1; use the ``"spawn"`` or ``"forkserver"`` start method
    for parallel kernels in worker processes.

    Examples
    --------
    >>> import fastrnn as fr
    >>> before = fr.get_num_threads()
    >>> fr.set_num_threads(1)
    >>> fr.get_num_threads()
    1
    >>> fr.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, int) and not hasattr(n, "__index__"):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    n = int(n.__index__())
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    if n > MAX_THREADS:
        # Each thread gets its own workspace and an OpenMP thread is a real
        # one: a million of them is a crash, not a speed-up.
        raise ValueError(f"set_num_threads: n must be <= {MAX_THREADS} (far beyond the "
                         f"{_default_cpu_count()} cores here), got {n}")
    if _state["forked_serial"] and n > 1:
        warnings.warn(f"set_num_threads({n}) in a process forked after fastrnn ran parallel "
                      "kernels: OpenMP cannot start threads here, so the kernels stay on 1 "
                      "thread (start worker processes with 'spawn' or 'forkserver' to use "
                      "threads in them)", RuntimeWarning, stacklevel=2)
        return
    _state["num_threads"] = n
    if dynamic is not None:
        _state["dynamic"] = bool(dynamic)


# Shared cores.  A parallel launch is as slow as its slowest thread, so a
# thread that shares its core with another process (or with another
# library's threads still spinning after its call: OpenBLAS's after a
# threaded numpy product, OpenVINO's) slows the whole team: measured
# 1.2-1.4x the one-thread time on 2 cores for the batch split, and 3-5x
# (single launches 50x) for the hidden-unit split, whose threads meet at a
# barrier every step (bench/busy_machine.py).  Each launch therefore reports
# the share of its core each thread had; when some had less than FULL_SHARE,
# the next launches run on as many threads as had a whole core (at least
# 1), until a probe -- a launch on the whole team -- finds the cores free.
# The first probe comes PROBE_FIRST_S after the crowding is seen (another
# library's spinning stops within a fraction of a second), each later one
# PROBE_GROWTH times as long after the last, up to PROBE_MOST_S (another
# process may stay).  A probe can find the cores free by luck (the
# scheduler placed the threads well once), so the delays keep growing until
# QUIET_S passes without crowding.  A launch that comes IDLE_S or more after
# the previous one is no evidence of crowding: its threads (and, on a VM,
# their virtual CPUs) were waking up -- the first launch after a 0.25 s
# pause read shares of 0.15-0.5 and took 2.5-11 ms instead of 0.45 on the
# project's 2-core VM with nothing else running, and as evidence it kept
# every later launch on one thread.  Results never depend on the thread
# count, only the time does.  set_num_threads(n, dynamic=False) turns this
# off.
FULL_SHARE = 0.8
PROBE_FIRST_S, PROBE_GROWTH, PROBE_MOST_S = 0.002, 4, 2.0
QUIET_S = 2 * PROBE_MOST_S
IDLE_S = 0.02
_cores = {"had": None, "since": 0.0, "delay": PROBE_FIRST_S, "crowded_at": -QUIET_S,
          "last": -IDLE_S, "after_idle": False}


def kernel_threads():
    """Threads for the next parallel kernel launch: :func:`get_num_threads`,
    or fewer while the cores are crowded (see above)."""
    n = get_num_threads()
    now = time.monotonic()
    _cores.update(after_idle=now - _cores["last"] >= IDLE_S, last=now)
    had = _cores["had"]
    if had is None or had >= n or not _state["dynamic"]:
        return n
    if now - _cores["since"] >= _cores["delay"]:     # a probe: its report decides
        _cores.update(since=now, delay=min(PROBE_GROWTH * _cores["delay"], PROBE_MOST_S))
        return n
    return had


def report_cores(shares):
    """A launch's threads had these shares of their cores (from the kernels:
    one value per thread, 1.0 for a whole core)."""
    if len(shares) <= 1:
        return
    full = sum(1 for share in shares if share >= FULL_SHARE)
    if full == len(shares):
        _cores["had"] = None
        return
    if _cores["after_idle"]:   # waking threads, not evidence (see above)
        return
    now = time.monotonic()
    if now - _cores["crowded_at"] > QUIET_S:     # a new episode: probe soon
        _cores["delay"] = PROBE_FIRST_S
    if _cores["had"] is None:
        _cores["since"] = now
    _cores.update(had=max(1, full), crowded_at=now)


def dynamic_threads():
    """Whether the kernels may run fewer threads while the cores are crowded
    (``set_num_threads``'s ``dynamic``)."""
    return _state["dynamic"]


def _after_fork_in_child():
    """Runs in a child right after ``fork``: one kernel thread if the
    parent's OpenMP team may exist (see the module docstring), and fresh
    locks and BLAS-block bookkeeping (a lock another parent thread held at
    the fork would never be released here)."""
    global _lock
    _lock = threading.Lock()
    if _state["blas_depth"]:   # forked inside another thread's single_threaded_blas block
        for lib, k in zip(_state["blas"] or (), _state["blas_saved"] or ()):
            lib.set_num_threads(k)
    _state.update(blas_depth=0, blas_saved=None)
    if _BUILD["openmp"] and _state["team_started"]:
        _state.update(num_threads=1, forked_serial=True)


os.register_at_fork(after_in_child=_after_fork_in_child)


def openmp_enabled():
    """True when the kernels were built with OpenMP."""
    return _BUILD["openmp"]


def _blas_controllers():
    if _state["blas"] is None:
        from threadpoolctl import ThreadpoolController

        ctl = ThreadpoolController()
        _state["blas"] = [lib for lib in ctl.lib_controllers if lib.user_api == "blas"]
    return _state["blas"]


class single_threaded_blas:
    """Run the block with every loaded BLAS library on one thread: fastrnn's
    threads are its OpenMP threads, and every BLAS call it makes runs on one
    of them (a threaded call would leave BLAS workers spinning on the cores
    the next OpenMP region needs).

    Safe when several Python threads run kernels at once: the first block to
    enter saves the libraries' settings and sets one thread, the last to
    leave restores them; a nested or overlapping block only counts.  (A
    class, not a generator: entered ~30 times per training step, nested
    inside ``fit``'s own block.)
    """

    __slots__ = ()

    def __enter__(self):
        libs = _blas_controllers()
        with _lock:
            if _state["blas_depth"] == 0:
                _state["blas_saved"] = [lib.get_num_threads() for lib in libs]
                for lib in libs:
                    lib.set_num_threads(1)
            _state["blas_depth"] += 1
        return self

    def __exit__(self, *exc):
        with _lock:
            _state["blas_depth"] -= 1
            if _state["blas_depth"] == 0:
                for lib, k in zip(_blas_controllers(), _state["blas_saved"]):
                    lib.set_num_threads(k)
        return False


def show_config(file: TextIO | None = None) -> None:
    """Print how fastrnn was built and how it will run: the kernel build
    this CPU runs and its SIMD flags, OpenMP, the thread count, the BLAS
    libraries and their threads.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default: standard output).

    Examples
    --------
    >>> import io
    >>> import fastrnn as fr
    >>> out = io.StringIO()
    >>> fr.show_config(file=out)
    >>> "kernels:" in out.getvalue() and "OpenMP:" in out.getvalue()
    True
    """
    import numpy
    import scipy

    lines = [
        "fastrnn build and runtime configuration",
        f"  OpenMP:          {'on' if _BUILD['openmp'] else 'OFF (serial kernels)'}"
        + (f" (OpenMP {_BUILD['openmp_version']})" if _BUILD["openmp"] else ""),
        f"  kernels:         {_BUILD['step_kernel']} build ({_BUILD['module']}; SIMD compiled: "
        f"{_BUILD['simd']}); the fastest this CPU runs unless FASTRNN_KERNELS picks one",
        f"  low precision:   int8 kernel {_BUILD['int8_kernel']}; bf16 kernel "
        f"{_BUILD['bf16_kernel']} (fr.freeze(module, precision=...))",
        f"  threads:         {get_num_threads()} (cores visible: {_default_cpu_count()}"
        + ("; fewer while other work crowds the cores" if _state["dynamic"] else "") + ")"
        + ("; forked after a parallel call: kernels serial" if _state["forked_serial"] else ""),
    ]
    for lib in _blas_controllers():
        info = lib.info()
        lines.append(
            f"  BLAS:            {info.get('internal_api')} {info.get('version') or ''} "
            f"[{info.get('threading_layer', '?')}, arch {info.get('architecture', '?')}] "
            f"{os.path.basename(info.get('filepath', ''))}"
        )
    lines.append("  BLAS used by the kernels: scipy.linalg.cython_blas "
                 f"(scipy {scipy.__version__}); numpy {numpy.__version__}")
    print("\n".join(lines), file=file)


def _default_cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# The most threads set_num_threads accepts: oversubscription is allowed, an
# absurd count is refused.
MAX_THREADS = max(1024, 8 * _default_cpu_count())
