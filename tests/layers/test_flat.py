"""One-buffer parameters: ``Module.flatten_parameters`` keeps every value,
and optimizers / clipping on a flattened module (whole-buffer operations)
give exactly what they give array by array."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn.layers.module import Module
from fastrnn.optim import SGD, Adam, AdamW, RMSprop, clip_grad_norm, clip_grad_value


def small_stack(seed=0, dtype="float32"):
    return fr.Sequential(fr.LSTM(3, 4, bidirectional=True, seed=seed, dtype=dtype),
                         fr.Linear(8, 2, seed=seed + 1, dtype=dtype))


def fill_grads(module, seed):
    rng = np.random.default_rng(seed)
    for g in module.grads.values():
        g[...] = rng.standard_normal(g.shape)


def step_both_and_compare(*pairs, seed):
    """One step of each (module, optimizer) on the same gradients: the
    modules must end equal."""
    for module, opt in pairs:
        fill_grads(module, seed)
        opt.step()
    first = pairs[0][0].parameters().values()
    for module, _ in pairs[1:]:
        for a, b in zip(first, module.parameters().values()):
            np.testing.assert_array_equal(a, b)


def test_flatten_keeps_values_and_makes_views():
    m = small_stack()
    before = {k: v.copy() for k, v in m.parameters().items()}
    fill_grads(m, 1)
    grads_before = {k: v.copy() for k, v in m.grads.items()}
    flat_p, flat_g = m.flatten_parameters()
    assert flat_p.size == sum(v.size for v in before.values())
    offset = 0
    for (name, p), g in zip(m.parameters().items(), m.grads.values()):
        assert p.base is flat_p and g.base is flat_g
        np.testing.assert_array_equal(p, before[name])
        np.testing.assert_array_equal(g, grads_before[name])
        np.testing.assert_array_equal(flat_p[offset:offset + p.size], p.ravel())
        offset += p.size
    # Idempotent: the same buffers, nothing copied.
    again = m.flatten_parameters()
    assert again[0] is flat_p and again[1] is flat_g


def test_flat_module_trains_into_its_buffer():
    m = small_stack()
    flat_p, flat_g = m.flatten_parameters()
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    out, backprop = m.forward_train(x)
    backprop(np.ones_like(out))
    assert np.count_nonzero(flat_g) > 0
    assert sum(float(np.abs(g).sum()) for g in m.grads.values()) == pytest.approx(
        float(np.abs(flat_g).sum()), rel=1e-6)
    m.zero_grad()
    assert not flat_g.any()


def test_task_models_come_out_of_their_constructor_flat():
    for model in (fr.SequenceClassifier(3, vocab_size=7, embed_size=4, hidden_size=5),
                  fr.Seq2Seq(6, 7, embed_size=4, hidden_size=5, attention="dot")):
        flat_p, flat_g = model._flat
        assert all(p.base is flat_p for p in model.parameters().values())
        assert Adam(model)._flat is not None


def test_flatten_errors():
    with pytest.raises(ValueError, match="has no parameters"):
        Module().flatten_parameters()
    mixed = Module()
    mixed._add_module("a", fr.Linear(2, 2))
    mixed._add_module("b", fr.Linear(2, 2, dtype="float64"))
    with pytest.raises(ValueError, match="one dtype"):
        mixed.flatten_parameters()


OPTIMIZERS = {
    "sgd": lambda m: SGD(m, lr=0.1),
    "sgd_nesterov_wd": lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda m: Adam(m, lr=0.01),
    "adam_wd": lambda m: Adam(m, lr=0.01, weight_decay=0.1),
    "adamw": lambda m: AdamW(m, lr=0.01),
    "rmsprop_momentum": lambda m: RMSprop(m, lr=0.01, momentum=0.5, weight_decay=0.01),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_steps_equal_array_by_array_steps(name, dtype):
    plain, flat = small_stack(dtype=dtype), small_stack(dtype=dtype)
    flat.flatten_parameters()
    opt_plain, opt_flat = OPTIMIZERS[name](plain), OPTIMIZERS[name](flat)
    assert opt_plain._flat is None and opt_flat._flat is not None
    for step in range(4):
        fill_grads(plain, step)
        fill_grads(flat, step)
        opt_plain.step()
        opt_flat.step()
    for (k, a), b in zip(plain.parameters().items(), flat.parameters().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    # The state dict has the same layout and values either way ...
    sd_plain, sd_flat = opt_plain.state_dict(), opt_flat.state_dict()
    assert sd_plain["state"].keys() == sd_flat["state"].keys()
    for i, entry in sd_plain["state"].items():
        assert entry.keys() == sd_flat["state"][i].keys()
        for k, v in entry.items():
            np.testing.assert_array_equal(v, sd_flat["state"][i][k])
    # ... and loads across: a flat optimizer resumed from a plain one's state.
    resumed_model = small_stack(dtype=dtype)
    resumed_model.load_state_dict(flat.state_dict())
    resumed_model.flatten_parameters()
    resumed = OPTIMIZERS[name](resumed_model)
    resumed.load_state_dict(sd_plain)
    step_both_and_compare((plain, opt_plain), (resumed_model, resumed), seed=9)


def test_partial_state_falls_back_to_array_by_array():
    plain, flat = small_stack(), small_stack()
    flat.flatten_parameters()
    opt_plain, opt_flat = SGD(plain, lr=0.1, momentum=0.9), SGD(flat, lr=0.1, momentum=0.9)
    fill_grads(plain, 0)
    opt_plain.step()
    sd = opt_plain.state_dict()
    del sd["state"][0]["momentum_buffer"]   # array 0 restarts its momentum, the rest resume
    opt_plain.load_state_dict(sd)
    flat.load_state_dict(plain.state_dict())
    opt_flat.load_state_dict(sd)
    assert opt_flat._flat is None
    step_both_and_compare((plain, opt_plain), (flat, opt_flat), seed=1)


@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clipping_a_flat_module(max_norm):
    plain, flat = small_stack(), small_stack()
    flat.flatten_parameters()
    fill_grads(plain, 3)
    fill_grads(flat, 3)
    assert clip_grad_norm(flat, max_norm) == pytest.approx(clip_grad_norm(plain, max_norm),
                                                           rel=1e-12)
    for a, b in zip(plain.grads.values(), flat.grads.values()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    clip_grad_value(plain, 0.1)
    clip_grad_value(flat, 0.1)
    for a, b in zip(plain.grads.values(), flat.grads.values()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_part_of_a_flat_module_is_updated_array_by_array():
    m = small_stack()
    m.flatten_parameters()
    prefix, child = list(m._modules.items())[1]
    opt = Adam(child, lr=0.1)
    assert opt._flat is None
    fill_grads(m, 0)
    before = {k: v.copy() for k, v in m.parameters().items()}
    opt.step()
    changed = {k for k, v in m.parameters().items() if not np.array_equal(v, before[k])}
    assert changed == {f"{prefix}.{k}" for k in child.parameters()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda m: Adam(m, lr=0.01), lambda m: Adam(m, lr=0.01, weight_decay=0.1),
    lambda m: AdamW(m, lr=0.01), lambda m: Adam(m, lr=0.01, betas=(0.3, 0.9))],
    ids=["adam", "adam_wd", "adamw", "adam_beta1_below_half"])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_adam_is_the_numpy_rule_bit_for_bit(make, dtype, threads, monkeypatch):
    """The one-pass kernel (threaded above 65536 elements) against the
    numpy passes it replaces (``optim.FUSED = False``)."""
    from fastrnn import optim

    results = []
    before = fr.get_num_threads()
    try:
        fr.set_num_threads(threads)
        for fused in (True, False):
            monkeypatch.setattr(optim, "FUSED", fused)
            model = fr.Sequential(fr.LSTM(3, 40, seed=0, dtype=dtype),
                                  fr.Linear(40, 2000, seed=1, dtype=dtype))
            model.flatten_parameters()
            assert model._flat[0].size > optim._PARALLEL_MIN
            opt = make(model)
            for step in range(4):
                fill_grads(model, step)
                opt.step()
            results.append((model, opt.state_dict()))
    finally:
        fr.set_num_threads(before)
    (fused_model, fused_state), (numpy_model, numpy_state) = results
    for a, b in zip(fused_model.parameters().values(), numpy_model.parameters().values()):
        np.testing.assert_array_equal(a, b)
    for i, entry in numpy_state["state"].items():
        for k, v in entry.items():
            np.testing.assert_array_equal(fused_state["state"][i][k], v)
