"""Leaks: the resident memory stays flat across 10,000 inference calls and
10,000 training steps (forward_train + backprop) -- the workspace pool,
the packed weights and the closures are all given back.  The margin is
generous (the allocator may keep some freed pages); a leak of even one
small array per call would exceed it many times over."""
import gc
import os
import sys

import numpy as np
import pytest

import fastrnn as fr

CALLS = 10_000
MARGIN_MB = 24     # one leaked 4 KiB block per call would be 40 MB


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_memory_stays_flat_over_ten_thousand_calls(training, one_kernel_thread):
    # One kernel thread: the memory is the same, and the run does not depend
    # on how busy the machine's other cores are.
    rng = np.random.default_rng(0)
    layers = [fr.LSTM(8, 32, bidirectional=True, seed=0), fr.GRU(8, 32, num_layers=2, seed=1),
              fr.RNN(8, 32, seed=2)]
    x = rng.standard_normal((6, 4, 8)).astype(np.float32)
    lengths = np.array([6, 2, 5, 1])

    def call(layer):
        if not training:
            return layer(x, lengths=lengths)
        (out, _), backprop = layer.forward_train(x, lengths=lengths)
        backprop(np.ones_like(out))

    for i in range(300):                       # warm up: pools, caches, allocator arenas
        call(layers[i % 3])
    gc.collect()
    before = _rss_mb()
    for i in range(CALLS):
        call(layers[i % 3])
    gc.collect()
    grown = _rss_mb() - before
    assert grown < MARGIN_MB, f"RSS grew by {grown:.1f} MB over {CALLS} calls"
