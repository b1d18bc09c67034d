"""The hidden-unit split (small batches: each thread owns blocks of hidden
units, one barrier per step) against the batch split on one thread, which
tests/functional/test_functional.py checks against the numpy reference and finite
differences; plus its layout helpers and its robustness to OpenMP teams
smaller than asked for."""
import textwrap

import numpy as np
import pytest

from fastrnn import _runtime
from fastrnn._kernels import recurrent_baseline as _recurrent
from fastrnn import functional as F

from helpers.running import run_python
from helpers.reference import random_problem

UNIT_MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]  # GRU reset_after=False: batch split only


@pytest.fixture
def threads():
    before = _runtime.get_num_threads()
    yield _runtime.set_num_threads
    _runtime.set_num_threads(before)


def _force(monkeypatch, units):
    monkeypatch.setattr(F, "UNIT_SPLIT_ROWS", 1 << 30 if units else 0)
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_CALL_MACS", 0)


# -------------------------------------------------------------------- layout
@pytest.mark.parametrize("gates", [1, 3, 4])
@pytest.mark.parametrize("hidden", [1, 11, 24, 50])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_order_is_blocks_of_units_with_their_gates(gates, hidden, dtype):
    order = _recurrent.unit_order(gates, hidden, dtype)
    ub = _recurrent.unit_block(dtype)
    assert ub == (24 if dtype == np.float32 else 12)
    assert sorted(order) == list(range(gates * hidden))
    expected = []
    for start in range(0, hidden, ub):
        units = list(range(start, min(start + ub, hidden)))
        for g in range(gates):
            expected += [g * hidden + u for u in units]
    assert order.tolist() == expected
    assert not order.flags.writeable  # cached and shared


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (40, 33), (96, 17)])
def test_pack_with_order_and_transpose_is_one_pass_of_the_numpy_layout(rng, dtype, shape):
    w = rng.standard_normal(shape).astype(dtype)
    order = rng.permutation(shape[0])
    np.testing.assert_array_equal(_recurrent.pack(w, True, order),
                                  _recurrent.pack(np.ascontiguousarray(w[order].T)))
    np.testing.assert_array_equal(_recurrent.pack(w, False, order),
                                  _recurrent.pack(np.ascontiguousarray(w[order])))
    np.testing.assert_array_equal(_recurrent.pack(w, True),
                                  _recurrent.pack(np.ascontiguousarray(w.T)))
    # and the packed operand multiplies like the matrix it packs
    a = rng.standard_normal((3, shape[0])).astype(dtype)
    c = np.zeros((3, shape[1]), dtype)
    _recurrent.step_product(a, np.ascontiguousarray(w[order]), c, 0.0)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(c, a @ w[order], rtol=tol, atol=tol)


# ------------------------------------------------------------- plan choice
def test_plan_splits_units_only_for_small_batches(rng, threads):
    def plan(mode, B, reset_after=True, directions=1, T=40):
        kw = random_problem(rng, mode, T, B, 3, 130)  # LSTM: 67600 MACs a step
        params = [(kw["w_ih"], kw["w_hh"], kw["b_ih"], kw["b_hh"])] * directions
        return F._plan(F._direction_calls(mode, kw["x"], params, None, None, None, reset_after))

    threads(2)
    if not _runtime.openmp_enabled():
        assert not plan("lstm", 1).units
        return
    assert plan("lstm", 1).units and plan("lstm", 1).threads_per_direction == 2
    # too little work in the whole call to pay for starting the team
    assert not plan("lstm", 1, T=20).units and plan("lstm", 1, T=20).threads_per_direction == 1
    # too little work per step to pay for a barrier: one thread
    assert not plan("rnn_tanh", 1).units and plan("rnn_tanh", 1).threads_per_direction == 1
    assert plan("gru", 7).units
    assert not plan("gru", 8).units and plan("gru", 8).threads_per_direction == 2
    assert not plan("gru", 1, reset_after=False).units
    # Two directions on two threads: one thread each, side by side, no split.
    two = plan("lstm", 1, directions=2)
    assert len(two.groups) == 1 and two.threads_per_direction == 1 and not two.units
    threads(4)
    two = plan("lstm", 1, directions=2)
    assert len(two.groups) == 1 and two.threads_per_direction == 2 and two.units
    threads(1)
    assert not plan("lstm", 1).units


# ------------------------------------------------------- agreement with batch
def _run(mode, kw, lengths, reverse, R, Rh, Rc):
    out_inf, h_inf, c_inf = F.recurrent(mode, lengths=lengths, reverse=reverse, **kw)
    (out, h_n, c_n), bp = F.recurrent_train(mode, lengths=lengths, reverse=reverse, **kw)
    dx, dh0, dc0, grads = bp(R, Rh, Rc)
    return dict(grads, out_inf=out_inf, h_inf=h_inf, c_inf=c_inf, out=out, h_n=h_n, c_n=c_n,
                dx=dx, dh0=dh0, dc0=dc0)


def _assert_same(a, b, dtype):
    rel = 1e-12 if dtype == np.float64 else 2e-6
    for k, v in a.items():
        if v is None:
            assert b[k] is None, k
            continue
        scale = max(1.0, float(np.abs(v).max()))
        np.testing.assert_allclose(b[k], v, rtol=10 * rel, atol=rel * scale, err_msg=k)


@pytest.mark.parametrize("mode", UNIT_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("B,H", [(1, 50), (3, 30), (2, 100)])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_units_agree_with_batch_split(rng, monkeypatch, threads, mode, dtype, B, H, reverse):
    T, I = 5, 6
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([T, 0, 2][:B]) if B > 1 else None
    R = rng.standard_normal((T, B, H)).astype(dtype)
    Rh = rng.standard_normal((B, H)).astype(dtype)
    Rc = rng.standard_normal((B, H)).astype(dtype) if mode == "lstm" else None
    _force(monkeypatch, units=False)
    threads(1)
    expected = _run(mode, kw, lengths, reverse, R, Rh, Rc)
    _force(monkeypatch, units=True)
    # 2..5 threads: blocks of 24 (f32) / 12 (f64) units shared unevenly, and
    # threads left with no units (H = 30 in float32 has two blocks).
    for n in (2, 3, 5):
        threads(n)
        _assert_same(expected, _run(mode, kw, lengths, reverse, R, Rh, Rc), dtype)


@pytest.mark.parametrize("mode", UNIT_MODES)
def test_bidirectional_units_agree_with_batch_split(rng, monkeypatch, threads, mode):
    T, B, I, H = 4, 2, 5, 40
    kw = random_problem(rng, mode, T, B, I, H)
    kw2 = random_problem(rng, mode, T, B, I, H)
    params = [(k["w_ih"], k["w_hh"], k["b_ih"], k["b_hh"]) for k in (kw, kw2)]
    lengths = np.array([4, 3])
    douts = [rng.standard_normal((T, B, H)) for _ in range(2)]

    def run():
        res, bp = F.bidirectional_train(mode, kw["x"], params, lengths=lengths)
        back = bp(douts)
        return [r[0] for r in res] + [back[0][0] + back[1][0]] + \
            [g for _, _, _, grads in back for g in grads.values()]

    _force(monkeypatch, units=False)
    threads(1)
    expected = run()
    _force(monkeypatch, units=True)
    threads(4)  # two threads per direction, side by side
    plan = F._plan(F._direction_calls(mode, kw["x"], params, None, None, lengths, True))
    assert plan.units == _runtime.openmp_enabled()  # a serial build never splits
    for a, b in zip(expected, run()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_thread_count_changed_between_forward_and_backprop(rng, monkeypatch, threads):
    """The backward pass follows the plan its forward ran with (the unit
    split's scratch layout differs), whatever the thread count now."""
    _force(monkeypatch, units=True)
    T, B, I, H = 4, 1, 3, 40
    kw = random_problem(rng, "lstm", T, B, I, H)
    R = rng.standard_normal((T, B, H))
    threads(1)
    _, bp = F.recurrent_train("lstm", **kw)
    expected = bp(R)
    threads(2)
    _, bp = F.recurrent_train("lstm", **kw)
    threads(1)
    got = bp(R)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=1e-12)
    for k in expected[3]:
        np.testing.assert_allclose(got[3][k], expected[3][k], rtol=1e-12, atol=1e-12)


def test_smaller_openmp_team_than_asked_does_not_deadlock(tmp_path):
    """OpenMP may start fewer threads than asked (OMP_THREAD_LIMIT, nested
    regions): the split follows the team that runs, so its barriers never
    wait for threads that do not exist."""
    code = textwrap.dedent("""
        import numpy as np
        import fastrnn
        from fastrnn import functional as F
        fastrnn.set_num_threads(4)
        F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS = 1 << 30, 0, 0
        rng = np.random.default_rng(0)
        x = rng.standard_normal((6, 1, 5))
        w_ih, w_hh = rng.standard_normal((160, 5)), rng.standard_normal((160, 40)) * 0.1
        (out, h, c), bp = F.recurrent_train("lstm", x, w_ih, w_hh)
        dx = bp(np.ones_like(out))[0]
        fastrnn.set_num_threads(1)
        (out1, _, _), bp1 = F.recurrent_train("lstm", x, w_ih, w_hh)
        assert np.allclose(out, out1, rtol=1e-12, atol=1e-12)
        assert np.allclose(dx, bp1(np.ones_like(out1))[0], rtol=1e-12, atol=1e-12)
        # A frozen layer packed for 4 threads: the smaller team packs its own.
        layer = fastrnn.LSTM(5, 40, seed=0)
        frozen, x32 = fastrnn.freeze(layer), x.astype(np.float32)
        fastrnn.set_num_threads(4)
        out4 = frozen(x32)[0]
        fastrnn.set_num_threads(1)
        assert np.array_equal(out4, frozen(x32)[0])
        print("ok")
    """)
    for limit in ("1", "3"):
        proc = run_python(code, tmp_path, OMP_THREAD_LIMIT=limit)
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
