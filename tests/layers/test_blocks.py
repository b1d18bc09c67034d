"""Building blocks: fr.Linear, fr.Embedding, fr.Dropout, fr.Sequential --
finite-difference gradient checks (float64), PyTorch parity, validation,
save / load."""
import numpy as np
import pytest

import fastrnn as fr

from helpers.running import torch_or_skip
from helpers.gradcheck import numeric_grad


def _loss_and_grads(module, x, R):
    """L = sum(module(x) * R): analytic gradients of every parameter (and x)."""
    module.zero_grad()
    y, bp = module.forward_train(x)
    dx = bp(R)
    return dx, {k: g.copy() for k, g in module.grads.items()}


def _check_params(module, x, R, rtol=1e-6, atol=1e-8):
    _, ana = _loss_and_grads(module, x, R)
    for name, p in module.parameters().items():
        num = numeric_grad(lambda: float(np.sum(module(x) * R)), p)
        np.testing.assert_allclose(ana[name], num, rtol=rtol, atol=atol, err_msg=name)


# ------------------------------------------------------------------- Linear
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(rng, shape, bias):
    lin = fr.Linear(4, 3, bias=bias, dtype="float64", seed=0)
    x = rng.standard_normal(shape)
    R = rng.standard_normal(shape[:-1] + (3,))
    _check_params(lin, x, R)
    dx, _ = _loss_and_grads(lin, x, R)
    np.testing.assert_allclose(dx, numeric_grad(lambda: float(np.sum(lin(x) * R)), x),
                               rtol=1e-6, atol=1e-8)
    assert dx.shape == x.shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_matches_torch(rng, dtype):
    torch = torch_or_skip()
    lin = fr.Linear(6, 5, dtype=dtype, seed=1)
    t = torch.nn.Linear(6, 5).to(getattr(torch, dtype))
    t.load_state_dict({k: torch.from_numpy(v) for k, v in lin.state_dict().items()})
    x = rng.standard_normal((2, 3, 6)).astype(dtype)
    dy = rng.standard_normal((2, 3, 5)).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    yt = t(xt)
    yt.backward(torch.from_numpy(dy))
    y, bp = lin.forward_train(x)
    dx = bp(dy)
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(lin.grads["weight"], t.weight.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(lin.grads["bias"], t.bias.grad.numpy(), rtol=tol, atol=tol)


def test_linear_init_bound_and_validation(rng):
    lin = fr.Linear(16, 8, seed=0)
    assert np.abs(lin.parameters()["weight"]).max() <= 0.25
    assert lin.parameters()["weight"].dtype == np.float32
    with pytest.raises(ValueError, match="in_features 16"):
        lin(np.zeros((2, 15)))
    with pytest.raises(TypeError, match="in_features"):
        fr.Linear(2.5, 3)
    with pytest.raises(ValueError, match="dy must have shape"):
        lin.forward_train(np.zeros((2, 16)))[1](np.zeros((2, 7)))


# ---------------------------------------------------------------- Embedding
def test_embedding_lookup_and_gradient_with_repeats_and_padding(rng):
    emb = fr.Embedding(7, 3, padding_idx=0, dtype="float64", seed=0)
    w = emb.parameters()["weight"]
    assert np.all(w[0] == 0)
    ids = np.array([[1, 2, 0], [2, 2, 6]])
    out, bp = emb.forward_train(ids)
    np.testing.assert_array_equal(out, w[ids])
    dout = rng.standard_normal(out.shape)
    assert bp(dout) is None
    expected = np.zeros_like(w)
    for (i, j), k in np.ndenumerate(ids):
        if k != 0:
            expected[k] += dout[i, j]
    np.testing.assert_allclose(emb.grads["weight"], expected, rtol=1e-14, atol=1e-14)
    assert np.all(emb.grads["weight"][0] == 0)  # padding never learns


def test_embedding_matches_torch(rng):
    torch = torch_or_skip()
    emb = fr.Embedding(9, 4, padding_idx=-1, seed=3)
    assert emb.padding_idx == 8
    t = torch.nn.Embedding(9, 4, padding_idx=8)
    t.load_state_dict({"weight": torch.from_numpy(emb.parameters()["weight"])})
    ids = rng.integers(0, 9, size=(3, 5))
    dout = rng.standard_normal((3, 5, 4)).astype(np.float32)
    out, bp = emb.forward_train(ids)
    t(torch.from_numpy(ids)).backward(torch.from_numpy(dout))
    bp(dout)
    np.testing.assert_allclose(emb.grads["weight"], t.weight.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("ids,exc,match", [
    (np.array([0, 7]), ValueError, r"ids must lie in \[0, 7\)"),
    (np.array([-1]), ValueError, "ids must lie"),
    (np.array([1.0]), TypeError, "ids must be an integer array"),
    ([[1], [2, 3]], TypeError, "ids must be an integer array"),
])
def test_embedding_rejects_bad_ids(ids, exc, match):
    with pytest.raises(exc, match=match):
        fr.Embedding(7, 2)(ids)


def test_embedding_rejects_bad_padding_idx():
    with pytest.raises(ValueError, match="padding_idx"):
        fr.Embedding(5, 2, padding_idx=5)
    with pytest.raises(TypeError, match="padding_idx"):
        fr.Embedding(5, 2, padding_idx=1.0)


# ------------------------------------------------------------------ Dropout
def test_dropout_is_identity_at_inference_and_scales_in_training(rng):
    drop = fr.Dropout(0.25, dtype="float64", seed=0)
    x = rng.standard_normal((200, 50))
    np.testing.assert_array_equal(drop(x), x)
    y, bp = drop.forward_train(x)
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    dy = rng.standard_normal(x.shape)
    np.testing.assert_allclose(bp(dy), np.where(kept, dy / 0.75, 0), rtol=1e-15)


def test_dropout_extremes_and_validation(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(fr.Dropout(0.0).forward_train(x)[0], x)  # keeps float64
    assert not fr.Dropout(1.0).forward_train(x)[0].any()
    with pytest.raises(ValueError, match="p must be in"):
        fr.Dropout(1.5)
    with pytest.raises(TypeError, match="p must be a float"):
        fr.Dropout("half")


def test_dropout_seed_reproduces_masks(rng):
    x = np.ones((10, 10))
    a = fr.Dropout(0.5, seed=7).forward_train(x)[0]
    b = fr.Dropout(0.5, seed=7).forward_train(x)[0]
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------- Sequential
def test_sequential_embedding_lstm_linear_gradients(rng):
    # (no padding_idx: its row is, by PyTorch's rule, not trained, which a
    # finite difference would disagree with)
    model = fr.Sequential(fr.Embedding(6, 3, dtype="float64", seed=0),
                          fr.LSTM(3, 4, dtype="float64", seed=1),
                          fr.Linear(4, 2, dtype="float64", seed=2))
    assert sorted(model.parameters())[:2] == ["0.weight", "1.bias_hh_l0"]
    ids = np.array([[1, 2], [3, 0], [5, 4]])  # (T, B)
    R = rng.standard_normal((3, 2, 2))
    _check_params(model, ids, R)
    y, bp = model.forward_train(ids)
    assert bp(R) is None  # nothing flows to integer ids
    np.testing.assert_array_equal(model(ids), y)


def test_sequential_input_gradient_and_errors(rng):
    model = fr.Sequential(fr.Linear(3, 4, dtype="float64", seed=0), fr.Dropout(0.0),
                          fr.GRU(4, 2, dtype="float64", seed=1))
    x = rng.standard_normal((5, 2, 3))
    R = rng.standard_normal((5, 2, 2))
    dx, _ = _loss_and_grads(model, x, R)
    np.testing.assert_allclose(dx, numeric_grad(lambda: float(np.sum(model(x) * R)), x),
                               rtol=1e-6, atol=1e-8)
    assert len(model) == 3 and isinstance(model[2], fr.GRU)
    with pytest.raises(ValueError, match="at least one module"):
        fr.Sequential()
    with pytest.raises(TypeError, match="fastrnn Module"):
        fr.Sequential(fr.Linear(2, 2), "relu")
    with pytest.raises(ValueError, match="share one dtype"):
        fr.Sequential(fr.Linear(2, 2), fr.Linear(2, 2, dtype="float64"))
    # parameter-free modules keep the stream's dtype
    mixed = fr.Sequential(fr.Linear(3, 3, dtype="float64"), fr.Dropout(0.5))
    assert mixed(np.ones((2, 3))).dtype == np.float64


# -------------------------------------------------------------- save / load
@pytest.mark.parametrize("make", [
    lambda: fr.Linear(5, 3, bias=False, dtype="float64", seed=0),
    lambda: fr.Embedding(8, 2, padding_idx=3, seed=1),
    lambda: fr.Dropout(0.3, dtype="float64"),
])
def test_blocks_save_and_load(tmp_path, make):
    module = make()
    path = tmp_path / "m.frnn"
    fr.save(module, path)
    back = fr.load(path)
    assert type(back) is type(module) and back.get_config() == module.get_config()
    for k, v in module.parameters().items():
        np.testing.assert_array_equal(back.parameters()[k], v)
