"""The pool of internal buffers (fastrnn._workspace) and the layer calls
that use it: reuse must never let two live computations share memory."""
import threading

import numpy as np
import pytest

from fastrnn import _workspace as ws
from fastrnn import functional as F

from helpers.reference import random_problem


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    monkeypatch.setattr(ws, "SMALL_BYTES", 0)  # pool every size here
    ws.clear()
    yield
    ws.clear()


def test_small_arrays_bypass_the_pool(monkeypatch):
    monkeypatch.setattr(ws, "SMALL_BYTES", 1 << 10)
    small = ws.empty(10, np.float32)
    assert small.shape == (10,)
    ws.release(small)
    assert ws.idle() == []


@pytest.mark.parametrize("small_bytes", [0, 1 << 20])
def test_every_buffer_starts_on_a_cache_line(monkeypatch, small_bytes):
    """Pooled or not, taken fresh or again: threads writing neighbouring
    column ranges must not share a cache line at a range's edge."""
    monkeypatch.setattr(ws, "SMALL_BYTES", small_bytes)
    arrays = [ws.empty(shape, dtype) for shape in [1, 7, (3, 5), 1000, (17, 129)]
              for dtype in (np.float32, np.float64, np.intp)]
    arrays += [ws.aligned_empty((5, 3), np.float32), ws.zeros(33, np.float64)]
    ws.release(*arrays)
    arrays += [ws.empty(1000, np.float32), ws.empty((17, 129), np.float64)]   # reused
    assert all(a.ctypes.data % ws.ALIGN == 0 for a in arrays)


def test_released_buffer_is_reused_for_a_fitting_request():
    a = ws.empty((100, 100), np.float32)
    a[:] = 7
    base = a.base
    ws.release(a)
    b = ws.empty((50, 200), np.float32)
    assert b.base is base and b.shape == (50, 200) and b.dtype == np.float32
    # a much smaller request would pin it: a fresh buffer instead
    ws.release(b)
    assert ws.empty((30, 30), np.float32).base is not base


def test_size_classes_round_up_by_at_most_an_eighth():
    for n in [1, 7, 100, 4095, 4096, 4097, 40000, 123457, 1 << 20, (1 << 20) + 1]:
        c = ws.size_class(n)
        assert n <= c <= max(n + 1, 1.125 * n) and ws.size_class(c) == c


def test_a_request_takes_a_larger_idle_buffer_up_to_twice_its_size():
    big = ws.empty(1900, np.float32)
    base = big.base
    ws.release(big)
    got = ws.empty(1000, np.float32)          # 7680 bytes idle for 4000 asked
    assert got.base is base
    ws.release(got)
    assert ws.empty(900, np.float32).base is not base   # over twice: not taken


def test_eviction_drops_the_oldest_buffer_of_a_class_by_identity(monkeypatch):
    monkeypatch.setattr(ws, "LIMIT_BYTES", 2 * (ws.size_class(800) + ws.ALIGN))
    arrays = [ws.empty(100, np.float64) for _ in range(3)]   # one class
    ws.release(*arrays)
    assert [r is a.base for r, a in zip(ws.idle(), arrays[1:])] == [True, True]
    assert ws.empty(100, np.float64).base is arrays[2].base   # most recent first


def test_zeros_are_zero_even_on_a_dirty_buffer():
    a = ws.empty(64, np.float64)
    a[:] = np.nan
    ws.release(a)
    z = ws.zeros((8, 8), np.float64)
    assert z.base is a.base and not z.any()


def test_release_ignores_foreign_arrays_none_and_duplicates():
    own = np.zeros(10)
    view_of_bytes = np.zeros(80, np.uint8)[8:].view(np.float64)
    a = ws.empty(10, np.float64)
    ws.release(None, own, view_of_bytes, a, a)
    assert len(ws.idle()) == 1


def test_pool_keeps_at_most_the_limit(monkeypatch):
    monkeypatch.setattr(ws, "LIMIT_BYTES", 1000)
    arrays = [ws.empty(100, np.float64) for _ in range(3)]  # 800 bytes each
    ws.release(*arrays)
    assert sum(r.nbytes for r in ws.idle()) <= 1000
    assert ws.idle()[-1] is arrays[-1].base  # the most recent is kept


def test_each_thread_has_its_own_pool():
    a = ws.empty(100, np.float32)
    ws.release(a)
    seen = []
    t = threading.Thread(target=lambda: seen.append(ws.empty(100, np.float32).base))
    t.start()
    t.join()
    assert seen[0] is not a.base
    assert ws.empty(100, np.float32).base is a.base


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_overlapping_trainings_and_inference_keep_their_workspaces(rng, mode):
    """Two trainings in flight and inference calls in between: each
    backprop still sees its own gates and states."""
    T, B, I, H = 5, 3, 4, 30
    kws = [random_problem(rng, mode, T, B, I, H) for _ in range(2)]
    dout = rng.standard_normal((T, B, H))
    expected = []
    for kw in kws:
        _, bp = F.recurrent_train(mode, **kw)
        expected.append(bp(dout))
    pending = [F.recurrent_train(mode, **kw)[1] for kw in kws]
    for kw in kws:
        F.recurrent(mode, **kw)
    for bp, exp in zip(reversed(pending), reversed(expected)):
        got = bp(dout)
        np.testing.assert_array_equal(got[0], exp[0])
        for k in exp[3]:
            np.testing.assert_array_equal(got[3][k], exp[3][k])


def test_results_do_not_alias_pooled_buffers(rng):
    T, B, I, H = 4, 2, 3, 30
    kw = random_problem(rng, "lstm", T, B, I, H)
    out, h, c = F.recurrent("lstm", **kw)
    keep = out.copy(), h.copy(), c.copy()
    for _ in range(3):
        F.recurrent("lstm", **random_problem(rng, "lstm", T, B, I, H))
        (o2, _, _), bp = F.recurrent_train("lstm", **kw)
        bp(np.ones_like(o2))
    for a, b in zip((out, h, c), keep):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "gru_rb"])
@pytest.mark.parametrize("B", [1, 6])   # B=1 on 2 threads: the hidden-unit split
def test_kernels_never_read_a_workspace_value_they_did_not_write(rng, monkeypatch, mode, B):
    """Pooled buffers hold whatever the last call left: with every one of
    them filled with NaN first, results are the same bits (ragged lengths,
    both directions, training and its backprop)."""
    import fastrnn as fr
    cell, reset_after = ("gru", False) if mode == "gru_rb" else (mode, True)
    T, I = 5, 3
    H = 160 if B == 1 else 40     # the unit split needs B * G*H * H >= 2**16
    kw = random_problem(rng, cell, T, B, I, H)
    lengths = np.array([5, 2, 4, 1, 3, 5][:B])
    dout = rng.standard_normal((T, B, H))

    def run(reverse):
        (out, h, c), bp = F.recurrent_train(cell, **kw, lengths=lengths, reverse=reverse,
                                            reset_after=reset_after)
        inference = F.recurrent(cell, **kw, lengths=lengths, reverse=reverse,
                                reset_after=reset_after)
        return [out, h, c, *inference] + _flat(bp(dout))

    old = fr.get_num_threads()
    fr.set_num_threads(2)
    try:
        clean = [run(rev) for rev in (False, True)]
        real_empty = ws.empty

        def poisoned(shape, dtype):
            a = real_empty(shape, dtype)
            if a.dtype.kind == "f":
                a.fill(np.nan)
            return a

        monkeypatch.setattr(ws, "empty", poisoned)
        dirty = [run(rev) for rev in (False, True)]
    finally:
        fr.set_num_threads(old)
    for want, got in zip(clean, dirty):
        for a, b in zip(want, got):
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(b, a)


def _flat(result):
    dx, dh0, dc0, grads = result
    return [dx, dh0, dc0] + [grads[k] for k in sorted(grads)]
