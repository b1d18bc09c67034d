"""fastrnn.optim: closed-form steps, parity with torch.optim over several
steps, state dicts, gradient clipping and validation."""
import pickle

import numpy as np
import pytest
import fastrnn as fr

from helpers.running import torch_or_skip

from fastrnn.optim import SGD, Adam, AdamW, RMSprop, clip_grad_norm, clip_grad_value

SHAPES = {"weight": (3, 4), "bias": (5,)}


class Stub:
    """The module protocol and nothing else: live parameters and grads."""

    def __init__(self, arrays):
        self._params = {k: np.array(v) for k, v in arrays.items()}
        self._grads = {k: np.zeros_like(v) for k, v in self._params.items()}

    def parameters(self):
        return dict(self._params)

    @property
    def grads(self):
        return dict(self._grads)


def make_stub(rng, dtype=np.float64):
    return Stub({k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()})


def set_grads(module, grads):
    for name, g in grads.items():
        module.grads[name][...] = g


def random_grads(rng, dtype=np.float64):
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


# ------------------------------------------------------- closed-form steps
def test_sgd_single_step(rng):
    m = make_stub(rng)
    p0 = m.parameters()["weight"].copy()
    g = rng.standard_normal(SHAPES["weight"])
    set_grads(m, {"weight": g})
    SGD(m, lr=0.1).step()
    np.testing.assert_allclose(m.parameters()["weight"], p0 - 0.1 * g, rtol=1e-15)
    assert np.all(m.grads["weight"] == g)  # the step never touches the gradient


def test_sgd_momentum_two_steps_and_weight_decay(rng):
    m = make_stub(rng)
    p0 = m.parameters()["bias"].copy()
    g1, g2 = rng.standard_normal((2, 5))
    opt = SGD(m, lr=0.1, momentum=0.9, weight_decay=0.01)
    set_grads(m, {"bias": g1})
    opt.step()
    d1 = g1 + 0.01 * p0
    p1 = p0 - 0.1 * d1  # the buffer starts as the first (decayed) gradient
    np.testing.assert_allclose(m.parameters()["bias"], p1, rtol=1e-14)
    set_grads(m, {"bias": g2})
    opt.step()
    buf = 0.9 * d1 + (g2 + 0.01 * p1)
    np.testing.assert_allclose(m.parameters()["bias"], p1 - 0.1 * buf, rtol=1e-14)


def test_adam_first_step(rng):
    m = make_stub(rng)
    p0 = m.parameters()["weight"].copy()
    g = rng.standard_normal(SHAPES["weight"])
    set_grads(m, {"weight": g})
    Adam(m, lr=0.01, eps=1e-3).step()
    # Bias correction makes m_hat = g and v_hat = g**2 on step 1.
    np.testing.assert_allclose(m.parameters()["weight"], p0 - 0.01 * g / (np.abs(g) + 1e-3), rtol=1e-13)


def test_adamw_first_step_decays_before_the_adam_step(rng):
    m = make_stub(rng)
    p0 = m.parameters()["weight"].copy()
    g = rng.standard_normal(SHAPES["weight"])
    set_grads(m, {"weight": g})
    AdamW(m, lr=0.01, weight_decay=0.5, eps=1e-3).step()
    expected = p0 * (1 - 0.01 * 0.5) - 0.01 * g / (np.abs(g) + 1e-3)
    np.testing.assert_allclose(m.parameters()["weight"], expected, rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_first_step(rng, momentum):
    m = make_stub(rng)
    p0 = m.parameters()["bias"].copy()
    g = rng.standard_normal(5)
    set_grads(m, {"bias": g})
    RMSprop(m, lr=0.01, alpha=0.9, eps=1e-4, momentum=momentum).step()
    # With a zero-initialised buffer, momentum changes nothing on step 1.
    expected = p0 - 0.01 * g / (np.sqrt(0.1 * g * g) + 1e-4)
    np.testing.assert_allclose(m.parameters()["bias"], expected, rtol=1e-13)


def test_zero_grad(rng):
    m = make_stub(rng)
    set_grads(m, random_grads(rng))
    SGD(m, lr=1.0).zero_grad()
    assert all(not g.any() for g in m.grads.values())


def test_float32_parameters_stay_float32(rng):
    m = make_stub(rng, np.float32)
    set_grads(m, random_grads(rng, np.float32))
    opt = Adam(m, lr=0.1, weight_decay=0.1)
    opt.step()
    assert all(p.dtype == np.float32 for p in m.parameters().values())
    assert all(a.dtype == np.float32 for s in opt.state_dict()["state"].values() for a in s.values())


# ---------------------------------------------------------- torch parity
CASES = [
    ("sgd", lambda ps: SGD(ps, lr=0.05), lambda t, ps: t.optim.SGD(ps, lr=0.05, foreach=False)),
    ("sgd-momentum-wd", lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1, foreach=False)),
    ("sgd-nesterov", lambda ps: SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01,
                               foreach=False)),
    ("adam", lambda ps: Adam(ps, lr=0.01), lambda t, ps: t.optim.Adam(ps, lr=0.01, foreach=False)),
    ("adam-wd", lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                                foreach=False)),
    ("adamw", lambda ps: AdamW(ps, lr=0.01, weight_decay=0.2),
     lambda t, ps: t.optim.AdamW(ps, lr=0.01, weight_decay=0.2, foreach=False)),
    ("adam-beta1-small", lambda ps: Adam(ps, lr=0.01, betas=(0.3, 0.9)),  # lerp's other branch
     lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.3, 0.9), foreach=False)),
    ("rmsprop", lambda ps: RMSprop(ps, lr=0.01, weight_decay=0.05),
     lambda t, ps: t.optim.RMSprop(ps, lr=0.01, weight_decay=0.05, foreach=False)),
    ("rmsprop-momentum", lambda ps: RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.7),
     lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.7, foreach=False)),
]


@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_over_steps(rng, name, ours, theirs):
    torch = torch_or_skip()
    m = make_stub(rng)
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in m.parameters().values()]
    opt, t_opt = ours(m), theirs(torch, t_params)
    for step in range(6):
        grads = random_grads(rng)
        if step == 4:  # a schedule changing lr between steps
            opt.lr *= 0.5
            for group in t_opt.param_groups:
                group["lr"] *= 0.5
        set_grads(m, grads)
        for t_p, g in zip(t_params, grads.values()):
            t_p.grad = torch.tensor(g)
        opt.step()
        t_opt.step()
        for p, t_p in zip(m.parameters().values(), t_params):
            np.testing.assert_allclose(p, t_p.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert opt.steps == 6


# ----------------------------------------------------------- state dicts
@pytest.mark.parametrize("make", [
    lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True),
    lambda m: Adam(m, lr=0.01, weight_decay=0.1),
    lambda m: AdamW(m, lr=0.01),
    lambda m: RMSprop(m, lr=0.01, momentum=0.5),
], ids=["sgd", "adam", "adamw", "rmsprop"])
def test_state_dict_round_trip(rng, make):
    a = make_stub(rng)
    opt_a = make(a)
    for _ in range(3):
        set_grads(a, random_grads(rng))
        opt_a.step()
    saved = pickle.loads(pickle.dumps(opt_a.state_dict()))  # savable as is
    assert saved["step"] == 3 and set(saved["state"]) == {0, 1}

    b = Stub({k: v.copy() for k, v in a.parameters().items()})
    opt_b = make(b)
    opt_b.lr = 123.0  # overwritten by the load, like torch
    opt_b.load_state_dict(saved)
    assert opt_b.hyperparameters() == opt_a.hyperparameters()
    for _ in range(2):
        grads = random_grads(rng)
        set_grads(a, grads)
        set_grads(b, grads)
        opt_a.step()
        opt_b.step()
    for k in SHAPES:
        np.testing.assert_array_equal(a.parameters()[k], b.parameters()[k])


def test_state_dict_holds_copies(rng):
    m = make_stub(rng)
    set_grads(m, random_grads(rng))
    opt = Adam(m)
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["exp_avg"][...] = 99.0
    assert not np.any(opt.state_dict()["state"][0]["exp_avg"] == 99.0)


def test_load_state_dict_errors_change_nothing(rng):
    m = make_stub(rng)
    set_grads(m, random_grads(rng))
    opt = Adam(m, lr=0.01)
    opt.step()
    good = opt.state_dict()

    def broken(**changes):
        state = opt.state_dict()
        state.update(changes)
        return state

    bad_shape = opt.state_dict()["state"]
    bad_shape[1]["exp_avg"] = np.zeros(4)
    unknown = opt.state_dict()["state"]
    unknown[0]["momentum_buffer"] = np.zeros(SHAPES["weight"])
    cases = [
        (broken(optimizer="SGD"), r"state_dict\['optimizer'\] must be 'Adam', got 'SGD'"),
        (broken(state=bad_shape),
         r"state_dict\['state'\]\[1\]\['exp_avg'\] must have shape \(5,\).*got \(4,\)"),
        (broken(state={0: {}}), r"state_dict\['state'\] must have parameter indices 0\.\.1, got \[0\]"),
        (broken(state=unknown), r"state_dict\['state'\]\[0\] must have keys among"),
        (broken(step=-1), r"state_dict\['step'\] must be an int >= 0"),
        (broken(hyperparameters={"lr": 0.1}), r"state_dict\['hyperparameters'\] must have keys"),
        ({"step": 1}, r"state_dict must have keys"),
    ]
    for state, match in cases:
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(state)
    bad_hyper = broken(hyperparameters=dict(good["hyperparameters"], betas=(0.9, 1.0)))
    with pytest.raises(ValueError, match=r"betas\[1\] must be < 1.0"):
        opt.load_state_dict(bad_hyper)
    after = opt.state_dict()
    assert after["step"] == 1 and after["hyperparameters"] == good["hyperparameters"]
    for i in (0, 1):
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(after["state"][i][k], good["state"][i][k])


# ----------------------------------------------------- modules / sharing
def test_shared_arrays_update_once(rng):
    m = make_stub(rng)
    p0 = m.parameters()["weight"].copy()
    g = random_grads(rng)
    set_grads(m, g)
    opt = SGD([m, m], lr=0.1)
    opt.step()
    np.testing.assert_allclose(m.parameters()["weight"], p0 - 0.1 * g["weight"], rtol=1e-15)
    assert set(opt.state_dict()["state"]) == {0, 1}


def test_list_of_modules(rng):
    a, b = make_stub(rng), make_stub(rng)
    a0, b0 = a.parameters()["bias"].copy(), b.parameters()["bias"].copy()
    set_grads(a, {"bias": np.ones(5)})
    set_grads(b, {"bias": 2 * np.ones(5)})
    SGD((a, b), lr=0.5).step()
    np.testing.assert_allclose(a.parameters()["bias"], a0 - 0.5)
    np.testing.assert_allclose(b.parameters()["bias"], b0 - 1.0)


# --------------------------------------------------------------- clipping
@pytest.mark.parametrize("dtype, max_norm", [(np.float64, 1.0), (np.float32, 0.5), (np.float64, 100.0)])
def test_clip_grad_norm_matches_torch(rng, dtype, max_norm):
    torch = torch_or_skip()
    m = make_stub(rng, dtype)
    grads = random_grads(rng, dtype)
    set_grads(m, grads)
    t_params = [torch.zeros(s, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
                for s in SHAPES.values()]
    for t_p, g in zip(t_params, grads.values()):
        t_p.grad = torch.tensor(g)
    norm = clip_grad_norm(m, max_norm)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, max_norm, foreach=False)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert isinstance(norm, float)
    assert norm == pytest.approx(np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads.values())),
                                 rel=1e-13)
    assert norm == pytest.approx(t_norm.item(), rel=tol)
    for g, t_p in zip(m.grads.values(), t_params):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, t_p.grad.numpy(), rtol=tol)
    if max_norm == 100.0:  # below the limit: untouched
        for k in SHAPES:
            np.testing.assert_array_equal(m.grads[k], grads[k])
    else:
        total = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in m.grads.values()))
        assert total == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_counts_shared_arrays_once(rng):
    m = make_stub(rng)
    set_grads(m, random_grads(rng))
    assert clip_grad_norm([m, m], 1e9) == pytest.approx(clip_grad_norm(m, 1e9), rel=1e-15)


def test_clip_grad_value(rng):
    m = make_stub(rng)
    grads = random_grads(rng)
    set_grads(m, grads)
    clip_grad_value(m, 0.5)
    for k, g in grads.items():
        np.testing.assert_array_equal(m.grads[k], np.clip(g, -0.5, 0.5))
    assert np.abs(np.concatenate([g.ravel() for g in m.grads.values()])).max() == 0.5


def test_clip_grad_value_matches_torch(rng):
    torch = torch_or_skip()
    m = make_stub(rng)
    grads = random_grads(rng)
    set_grads(m, grads)
    clip_grad_value(m, 0.3)
    for k, g in grads.items():
        t_p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t_p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_value_([t_p], 0.3)
        np.testing.assert_array_equal(m.grads[k], t_p.grad.numpy())


# -------------------------------------------------------------- validation
@pytest.mark.parametrize("make, exc, match", [
    (lambda m: SGD(m, lr=-0.1), ValueError, r"lr must be >= 0.0, got -0.1"),
    (lambda m: SGD(m, lr="0.1"), TypeError, r"lr must be a real number, got str"),
    (lambda m: SGD(m, lr=True), TypeError, r"lr must be a real number, got bool"),
    (lambda m: SGD(m, lr=float("nan")), ValueError, r"lr must be finite"),
    (lambda m: SGD(m, lr=0.1, momentum=-1), ValueError, r"momentum must be >= 0"),
    (lambda m: SGD(m, lr=0.1, nesterov=True), ValueError, r"nesterov=True must come with momentum > 0"),
    (lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=1), TypeError, r"nesterov must be a bool"),
    (lambda m: SGD(m, lr=0.1, weight_decay=-0.1), ValueError, r"weight_decay must be >= 0"),
    (lambda m: Adam(m, betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be < 1.0, got 1.0"),
    (lambda m: Adam(m, betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be >= 0.0"),
    (lambda m: Adam(m, betas=0.9), TypeError, r"betas must be a pair"),
    (lambda m: AdamW(m, eps=-1e-8), ValueError, r"eps must be >= 0"),
    (lambda m: RMSprop(m, alpha=-0.5), ValueError, r"alpha must be >= 0"),
    (lambda m: RMSprop(m, momentum=-0.5), ValueError, r"momentum must be >= 0"),
])
def test_hyperparameter_validation(rng, make, exc, match):
    with pytest.raises(exc, match=match):
        make(make_stub(rng))


def test_lr_changed_to_invalid_is_caught_at_step(rng):
    m = make_stub(rng)
    p0 = m.parameters()["weight"].copy()
    opt = SGD(m, lr=0.1)
    opt.lr = -1.0
    with pytest.raises(ValueError, match=r"lr must be >= 0"):
        opt.step()
    np.testing.assert_array_equal(m.parameters()["weight"], p0)
    assert opt.steps == 0


@pytest.mark.parametrize("modules, exc, match", [
    (object(), TypeError, r"modules must be a module .* got object"),
    ({"a": 1}, TypeError, r"modules must be a module .* got dict"),
    ([], ValueError, r"modules must contain at least one module"),
    ([Stub({"w": np.zeros(2)}), 3], TypeError, r"modules\[1\] must be a module .* got int"),
    (Stub({"w": np.zeros(2, np.int64)}), TypeError, r"parameter 'w' of modules\[0\] must be a float32"),
])
def test_module_validation(modules, exc, match):
    with pytest.raises(exc, match=match):
        SGD(modules, lr=0.1)


def test_grads_must_match_parameters():
    m = Stub({"w": np.zeros(3)})
    m._grads["w"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"grads\['w'\] of modules\[0\] must be an ndarray of shape \(3,\)"):
        Adam(m)
    del m._grads["w"]
    with pytest.raises(ValueError, match=r"grads of modules\[0\] must have an entry for parameter 'w'"):
        Adam(m)


@pytest.mark.parametrize("call, match", [
    (lambda m: clip_grad_norm(m, 0.0), r"max_norm must be > 0, got 0.0"),
    (lambda m: clip_grad_norm(m, -1.0), r"max_norm must be > 0, got -1.0"),
    (lambda m: clip_grad_value(m, 0), r"clip must be > 0, got 0.0"),
    (lambda m: clip_grad_value(m, -2.0), r"clip must be > 0, got -2.0"),
])
def test_clip_validation(rng, call, match):
    m = make_stub(rng)
    grads = random_grads(rng)
    set_grads(m, grads)
    with pytest.raises(ValueError, match=match):
        call(m)
    for k in SHAPES:  # nothing clipped on error
        np.testing.assert_array_equal(m.grads[k], grads[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 8192, 8193, 200_003])
def test_gradient_norm_sum_is_float64_and_independent_of_threads(dtype, n):
    """The clipping norm's sum of squares: float64 accumulation of the
    gradient's own values, the same bits on 1, 2 or 3 threads."""
    from fastrnn import optim as O

    a = np.random.default_rng(n).standard_normal(n).astype(dtype)
    before = fr.get_num_threads()
    try:
        sums = []
        for threads in (1, 2, 3):
            fr.set_num_threads(threads)
            sums.append(O._sum_squares(a))
    finally:
        fr.set_num_threads(before)
    assert sums[0] == sums[1] == sums[2]
    assert sums[0] == pytest.approx(float(np.sum(a.astype(np.float64) ** 2)), rel=1e-12)


@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_an_optimizer_refuses_arrays_its_module_replaced(opt_cls):
    """flatten_parameters after the optimizer took the arrays: a step would
    update copies the module no longer reads (silently no training), so it
    raises; an optimizer made after the flattening steps the module."""
    layer = fr.LSTM(3, 4, seed=0)
    stale = opt_cls(layer, lr=0.5)
    layer.flatten_parameters()
    with pytest.raises(RuntimeError, match="create the optimizer after flatten_parameters"):
        stale.step()
    with pytest.raises(RuntimeError, match="create the optimizer after flatten_parameters"):
        stale.zero_grad()
    fresh = opt_cls(layer, lr=0.5)
    fr.LSTM(3, 4).flatten_parameters()   # another module's re-layout changes nothing here
    for g in layer.grads.values():
        g.fill(1)
    before = layer.parameters()["weight_ih_l0"].copy()
    fresh.step()
    assert not np.array_equal(layer.parameters()["weight_ih_l0"], before)
