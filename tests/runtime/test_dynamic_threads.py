"""Dynamic threads: while other work crowds the cores, the kernels run on as
many threads as their last launch found cores for, and probe the whole team
again every few launches (fastrnn._runtime; bench/busy_machine.py measures
why).  The thread count never changes results."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn import _runtime
from fastrnn import functional as F

from helpers.reference import random_problem


@pytest.fixture
def dynamic():
    """Dynamic threads on (the test session runs them off), restored after."""
    before = fr.get_num_threads()
    _runtime.report_cores([1.0, 1.0])   # forget what other tests' launches found
    _runtime._cores.update(crowded_at=-_runtime.QUIET_S, after_idle=False,
                           last=_runtime.time.monotonic())   # a launch just now
    yield lambda n: fr.set_num_threads(n, dynamic=True)
    fr.set_num_threads(before, dynamic=False)
    _runtime.report_cores([1.0, 1.0])


def test_a_crowded_launch_limits_the_next_ones_until_a_probe(dynamic, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(_runtime.time, "monotonic", lambda: clock[0])
    first, most = _runtime.PROBE_FIRST_S, _runtime.PROBE_MOST_S
    dynamic(4)
    _runtime.kernel_threads()                       # a launch just before: not idle
    assert _runtime.kernel_threads() == 4
    _runtime.report_cores([1.0, 0.4, 0.5, 0.6])     # one thread had its core
    probes = []
    for _ in range(8000):                           # launches 1 ms apart
        clock[0] += 0.001
        if _runtime.kernel_threads() == 4:
            probes.append(round(clock[0] - 100.0, 3))
            _runtime.report_cores([1.0, 0.4, 0.5, 0.6])   # the probe finds them crowded
        else:
            assert _runtime.kernel_threads() == 1
    # Probes PROBE_FIRST_S after the crowding, then PROBE_GROWTH times as
    # long after each one, up to PROBE_MOST_S apart.
    gaps = np.diff([0.0] + probes)
    expected = [first * _runtime.PROBE_GROWTH ** i for i in range(4)]
    np.testing.assert_allclose(gaps[:4], np.minimum(expected, most), atol=0.0015)
    np.testing.assert_allclose(gaps[-2:], most, atol=0.0015)
    _runtime.report_cores([0.97, 1.0, 0.9, 1.0])    # a probe found the cores free
    assert [_runtime.kernel_threads() for _ in range(5)] == [4] * 5
    # Crowded again soon after: the probes stay as far apart as they were
    # (the free probe may have been luck) ...
    clock[0] += 1.0
    _runtime.report_cores([1.0, 0.1, 0.1, 0.1])
    clock[0] += most - 0.01
    assert _runtime.kernel_threads() == 1
    clock[0] += 0.01
    assert _runtime.kernel_threads() == 4
    # ... and start over only after QUIET_S without crowding.
    _runtime.report_cores([1.0] * 4)
    clock[0] += _runtime.QUIET_S + 0.1
    _runtime.report_cores([1.0, 0.1, 0.1, 0.1])
    clock[0] += first / 2
    assert _runtime.kernel_threads() == 1
    clock[0] += first / 2
    assert _runtime.kernel_threads() == 4


def test_a_launch_after_an_idle_spell_is_no_evidence(dynamic, monkeypatch):
    """Threads waking after a pause (their virtual CPUs too, on a VM) read as
    crowded; that launch must not put the next ones on fewer threads.  The
    next launch, soon after, is evidence again."""
    clock = [100.0]
    monkeypatch.setattr(_runtime.time, "monotonic", lambda: clock[0])
    dynamic(2)
    _runtime.kernel_threads()
    clock[0] += 2 * _runtime.IDLE_S
    assert _runtime.kernel_threads() == 2      # the first launch after the pause ...
    _runtime.report_cores([0.5, 0.2])          # ... found its threads waking
    clock[0] += 0.001
    assert _runtime.kernel_threads() == 2
    _runtime.report_cores([0.5, 0.2])          # crowded again, right after: evidence
    clock[0] += 0.001
    assert _runtime.kernel_threads() == 1


def test_the_limit_is_the_cores_the_team_had(dynamic):
    dynamic(16)
    _runtime.report_cores([1.0] * 15 + [0.5])   # one core shared: 15 had theirs
    assert _runtime.kernel_threads() == 15
    _runtime.report_cores([0.5] * 15)
    assert _runtime.kernel_threads() == 1


def test_one_thread_launches_and_full_teams_leave_the_count(dynamic):
    dynamic(2)
    _runtime.report_cores([0.2])        # a serial launch says nothing about the team
    assert _runtime.kernel_threads() == 2
    _runtime.report_cores([0.85, 0.9])
    assert _runtime.kernel_threads() == 2


def test_the_limit_is_the_machines_not_the_counts(dynamic):
    dynamic(4)
    _runtime.report_cores([1.0, 1.0, 0.5, 0.5])
    assert _runtime.kernel_threads() == 2
    fr.set_num_threads(3)               # the cores stay crowded whatever count is asked
    assert _runtime.kernel_threads() == 2
    fr.set_num_threads(1)
    assert _runtime.kernel_threads() == 1


def test_dynamic_false_always_runs_the_set_count(dynamic):
    dynamic(4)
    fr.set_num_threads(4, dynamic=False)
    _runtime.report_cores([0.5] * 4)
    assert [_runtime.kernel_threads() for _ in range(40)] == [4] * 40


@pytest.mark.skipif(not _runtime.openmp_enabled(), reason="a serial build has one thread")
@pytest.mark.parametrize("units", [False, True])
def test_kernels_report_the_cores_their_threads_had(rng, monkeypatch, dynamic, units):
    reports = []
    monkeypatch.setattr(F, "report_cores", reports.append)
    monkeypatch.setattr(F, "UNIT_SPLIT_ROWS", 10**6 if units else 0)
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_CALL_MACS", 0)
    dynamic(2)
    kw = random_problem(rng, "lstm", 6, 8, 5, 40)
    (out, h, c), bp = F.recurrent_train("lstm", **kw)
    bp(np.ones_like(out))
    assert 2 in {len(shares) for shares in reports}
    for shares in reports:
        assert all(0 <= share <= 1 for share in shares)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_a_crowded_machine_changes_the_threads_not_the_results(rng, dynamic, mode, monkeypatch):
    # Every launch here counts as evidence, however slowly the build runs
    # (under the sanitizers run() takes longer than IDLE_S between launches).
    monkeypatch.setattr(_runtime, "IDLE_S", float("inf"))
    kw = random_problem(rng, mode, 7, 9, 5, 24)
    dout = rng.standard_normal((7, 9, 24))

    def run():
        (out, h, c), bp = F.recurrent_train(mode, **kw)
        dx, dh0, dc0, grads = bp(dout)
        return [out, h, dx, dh0] + list(grads.values())

    dynamic(2)
    weights = [(kw["w_ih"], kw["w_hh"], kw["b_ih"], kw["b_hh"])]
    plan = F._plan(F._direction_calls(mode, kw["x"], weights, None, None, None, True))
    full = run()
    _runtime.report_cores([0.5, 0.5])
    crowded = F._plan(F._direction_calls(mode, kw["x"], weights, None, None, None, True))
    assert crowded.threads_per_direction == 1
    assert plan.threads_per_direction == 2 or not _runtime.openmp_enabled()
    _runtime.report_cores([0.5, 0.5])
    for a, b in zip(full, run()):
        np.testing.assert_array_equal(a, b)


def test_the_benchmark_times_a_fixed_team_and_restores_the_setting(monkeypatch, dynamic):
    """`fastrnn bench` runs every engine on a fixed team (the previous
    engine's spinning threads must not make fastrnn drop threads)."""
    from fastrnn import benchmark

    seen = []

    def fake_interleaved(fns, rounds):
        seen.append(_runtime.dynamic_threads())
        return [1e-3] * len(fns)

    monkeypatch.setattr(benchmark, "interleaved", fake_interleaved)
    monkeypatch.setattr(benchmark, "available_systems",
                        lambda: {"torch": (False, "-"), "onnxruntime": (False, "-"),
                                 "openvino": (False, "-")})
    dynamic(2)
    benchmark.run(cells=("rnn",), grid=[(2, 3, 4, 8)], modes=("infer",), rounds=1,
                  progress=False, log=lambda *a: None)
    assert seen == [False]
    assert _runtime.dynamic_threads() is True and fr.get_num_threads() == 2
