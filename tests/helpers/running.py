"""Running code the way some tests need it: in a fresh interpreter, in
several Python threads at once, from docstrings; and torch, or a skip.

* ``run_python(code, cwd, **env)``: run code in a fresh interpreter that
  imports the same fastrnn as this process;
* ``torch_or_skip()``: import torch, or skip the test when it is missing,
  except under ``FASTRNN_REQUIRE_TORCH=1`` where a missing torch fails;
* ``docstring_examples(*objects)``: run the objects' docstring examples;
* ``run_in_threads(work, n)``: ``work(i)`` for i < n in Python threads at
  once, the first exception re-raised in the calling thread.
"""
import os
import subprocess
import sys

import pytest


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
