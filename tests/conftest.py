"""Shared pytest setup for the fastrnn tests (kept small and generic).

* puts this directory on ``sys.path`` so test modules can import the shared
  helpers (``from helpers.reference import ...``; never the repository root:
  the tests must import the *installed*, compiled fastrnn, not the source
  tree);
* ``rng`` fixture: a fresh, seeded ``numpy.random.Generator`` per test;
* ``plan`` fixture: runs a test once under each way of splitting a layer
  over threads (the batch split, the hidden-unit split);
* ``one_kernel_thread`` fixture: kernels on one OpenMP thread for the test;
* ``isolated_registry`` fixture: fr.load's registry restored after the test;
* the kernels run exactly the threads a test sets (no dynamic threads: the
  plans tests check must not depend on the machine's load);

The helpers that are not fixtures live in ``tests/helpers/``.
"""
import os
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


@pytest.fixture
def isolated_registry():
    """fr.load's registry as it was before the test, afterwards (for tests
    and examples that register classes of their own)."""
    from fastrnn.io import registry

    saved = dict(registry.REGISTRY), dict(registry.PARAM_SHAPES)
    yield
    for table, before in zip((registry.REGISTRY, registry.PARAM_SHAPES), saved):
        table.clear()
        table.update(before)
