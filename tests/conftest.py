"""Shared pytest setup for the fastrnn tests (kept small and generic).

* puts this directory on ``sys.path`` so test modules can ``import reference``
  (never the repository root: the tests must import the *installed*,
  compiled fastrnn, not the source tree);
* ``rng`` fixture: a fresh, seeded ``numpy.random.Generator`` per test;
* ``torch_or_skip()``: import torch, or skip the test when it is missing,
  except under ``FASTRNN_REQUIRE_TORCH=1`` where a missing torch fails;
* ``plan`` fixture: runs a test once under each way of splitting a layer
  over threads (the batch split, the hidden-unit split);
* ``one_kernel_thread`` fixture: kernels on one OpenMP thread for the test;
* the kernels run exactly the threads a test sets (no dynamic threads: the
  plans tests check must not depend on the machine's load);
* ``run_python(code, cwd, **env)``: run code in a fresh interpreter that
  imports the same fastrnn as this process;
* ``docstring_examples(*objects)``: run the objects' docstring examples;
* ``run_in_threads(work, n)``: ``work(i)`` for i < n in Python threads at
  once, the first exception re-raised in the calling thread.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True, scope="session")
def _fixed_thread_counts():
    import fastrnn

    fastrnn.set_num_threads(fastrnn.get_num_threads(), dynamic=False)
    yield


@pytest.fixture
def rng():
    """A seeded random generator, fresh for every test (reproducible)."""
    return np.random.default_rng(12345)


@pytest.fixture
def one_kernel_thread():
    """One OpenMP thread per kernel call for the test (restored after)."""
    import fastrnn

    before = fastrnn.get_num_threads()
    fastrnn.set_num_threads(1)
    yield
    fastrnn.set_num_threads(before)


def run_python(code, cwd, timeout=120, **env):
    """Run ``code`` in a fresh interpreter with extra environment variables;
    it imports the fastrnn this process imported (installed or built in
    place), from ``cwd`` -- a folder where no source tree can shadow it.
    Returns the CompletedProcess (text output captured)."""
    import fastrnn

    root = os.path.dirname(os.path.dirname(os.path.abspath(fastrnn.__file__)))
    full = dict(os.environ, PYTHONPATH=root, **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def torch_or_skip():
    """Return the ``torch`` module, or skip the calling test if it is absent.

    With the environment variable ``FASTRNN_REQUIRE_TORCH=1`` a missing torch
    is an error instead (so CI that must compare against PyTorch cannot pass
    by silently skipping).
    """
    try:
        import torch
    except ImportError as exc:
        if os.environ.get("FASTRNN_REQUIRE_TORCH", "") == "1":
            pytest.fail(f"FASTRNN_REQUIRE_TORCH=1 but torch cannot be imported: {exc}",
                        pytrace=False)
        pytest.skip("torch is not installed")
    return torch


@pytest.fixture(params=["batch", "units"])
def plan(request, monkeypatch):
    """Force how each direction's threads split the work: over the batch
    rows, or over the hidden units whenever a direction has several
    threads (``functional.UNIT_SPLIT_ROWS``; its default picks by batch)."""
    from fastrnn import functional

    units = request.param == "units"
    monkeypatch.setattr(functional, "UNIT_SPLIT_ROWS", 1 << 30 if units else 0)
    monkeypatch.setattr(functional, "UNIT_SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(functional, "UNIT_SPLIT_MIN_CALL_MACS", 0)
    return request.param


def docstring_examples(*objects):
    """Run the examples in the objects' docstrings (doctest); returns
    doctest's (failed, attempted) counts."""
    import doctest

    runner = doctest.DocTestRunner()
    for obj in objects:
        for test in doctest.DocTestFinder().find(obj):
            runner.run(test)
    return runner.summarize(verbose=False)


def run_in_threads(work, n):
    """``work(i)`` for i < n, each in a Python thread of its own, all at once;
    the first exception any of them raised is re-raised here."""
    import threading

    errors = []

    def guarded(i):
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 -- re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
