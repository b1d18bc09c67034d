"""The recurrent layers' and cells' parameters: PyTorch's names, state
dicts (copies out, checked copies in), seeds and the initialisation."""
import math

import numpy as np
import pytest

from helpers.layers import ALL_KINDS, expected_keys, make_cell, make_layer



# -------------------------------------------------------------- state dicts
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_names_are_pytorch_names(kind, num_layers, bidirectional, bias):
    layer = make_layer(kind, 3, 4, num_layers=num_layers, bidirectional=bidirectional,
                       bias=bias, seed=0)
    sd = layer.state_dict()
    assert set(sd) == expected_keys(num_layers, bidirectional, bias)
    assert set(layer.parameters()) == set(sd)
    assert set(layer.grads) == set(sd)

    cell = make_cell(kind, 3, 4, bias=bias, seed=0)
    names = {"weight_ih", "weight_hh"} | ({"bias_ih", "bias_hh"} if bias else set())
    assert set(cell.state_dict()) == names


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_returns_copies_and_parameters_are_live(kind):
    rng = np.random.default_rng(12)
    layer = make_layer(kind, 3, 4, num_layers=2, seed=0, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    out0, _ = layer(x)
    sd = layer.state_dict()
    for v in sd.values():
        v[...] = 0.0
    np.testing.assert_array_equal(layer(x)[0], out0)
    assert all(np.any(v != 0) for v in layer.state_dict().values())
    for k, v in layer.state_dict().items():
        assert not np.shares_memory(v, layer.parameters()[k])
    # parameters() are live: writing them changes the layer
    layer.parameters()["weight_hh_l1"][...] = 0.0
    assert np.all(layer.state_dict()["weight_hh_l1"] == 0)
    assert not np.allclose(layer(x)[0], out0)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_load_state_dict_round_trip(kind):
    rng = np.random.default_rng(13)
    a = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=1, dtype="float64")
    b = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=2, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    assert not np.allclose(a(x)[0], b(x)[0])
    src = a.state_dict()
    b.load_state_dict(src)
    np.testing.assert_array_equal(a(x)[0], b(x)[0])
    # copies in: changing the source afterwards does not reach b
    for v in src.values():
        v[...] = 7.0
    np.testing.assert_array_equal(a(x)[0], b(x)[0])
    # array-likes (nested lists) and other precisions are accepted and cast
    c = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=3, dtype="float32")
    c.load_state_dict({k: v.tolist() for k, v in a.state_dict().items()})
    for k, v in c.state_dict().items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, a.state_dict()[k].astype(np.float32))


def _bad_state_dicts(layer):
    good = layer.state_dict()
    cases = {}
    sd = dict(good)
    sd["weight_ih_l7"] = np.zeros((4, 3))
    cases["unknown"] = (sd, "weight_ih_l7")
    sd = dict(good)
    del sd["bias_hh_l1_reverse"]
    cases["missing"] = (sd, "bias_hh_l1_reverse")
    sd = dict(good)
    sd["weight_hh_l1_reverse"] = np.zeros(sd["weight_hh_l1_reverse"].shape[::-1][:1] + (99,))
    cases["misshaped"] = (sd, "weight_hh_l1_reverse")
    sd = dict(good)
    sd["weight_ih_l1"] = sd["weight_ih_l1"].ravel()
    cases["flattened"] = (sd, "weight_ih_l1")
    return cases


@pytest.mark.parametrize("case", ["unknown", "missing", "misshaped", "flattened"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_load_state_dict_bad_keys_raise_and_change_nothing(kind, case):
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=1, dtype="float64")
    before = layer.state_dict()
    sd, key = _bad_state_dicts(layer)[case]
    # every other entry holds new values: a partial load would be visible
    sd = {k: (np.asarray(v) + 1.0 if k != key else v) for k, v in sd.items()}
    with pytest.raises(ValueError, match=key):
        layer.load_state_dict(sd)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_cell_load_state_dict_bad_keys(kind):
    cell = make_cell(kind, 3, 4, seed=1)
    before = cell.state_dict()
    sd = {k: v + 1 for k, v in before.items()}
    sd["weight_hh"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match="weight_hh"):
        cell.load_state_dict(sd)
    sd = {k: v + 1 for k, v in before.items()}
    sd["weight_ih_l0"] = sd.pop("weight_ih")  # a layer's name is not a cell's
    with pytest.raises(ValueError, match="weight_ih"):
        cell.load_state_dict(sd)
    for k, v in cell.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------- seeds and init
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_seed_reproducibility(kind):
    kw = dict(num_layers=2, bidirectional=True)
    a = make_layer(kind, 5, 8, seed=42, **kw).state_dict()
    b = make_layer(kind, 5, 8, seed=42, **kw).state_dict()
    c = make_layer(kind, 5, 8, seed=43, **kw).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k]), k
    # unseeded layers differ from each other
    d = make_layer(kind, 5, 8, **kw).state_dict()
    e = make_layer(kind, 5, 8, **kw).state_dict()
    assert any(not np.array_equal(d[k], e[k]) for k in d)
    # cells too
    ca = make_cell(kind, 5, 8, seed=42).state_dict()
    cb = make_cell(kind, 5, 8, seed=42).state_dict()
    cc = make_cell(kind, 5, 8, seed=43).state_dict()
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k])
        assert not np.array_equal(ca[k], cc[k]), k


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("H", [1, 16, 50])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_init_is_uniform_within_one_over_sqrt_h(kind, H, dtype):
    bound = 1.0 / math.sqrt(H)
    for module in (make_layer(kind, 7, H, num_layers=2, bidirectional=True, seed=5, dtype=dtype),
                   make_cell(kind, 7, H, seed=5, dtype=dtype)):
        values = np.concatenate([v.ravel().astype(np.float64)
                                 for v in module.parameters().values()])
        assert np.all(np.abs(values) <= bound * (1 + 1e-7))
        # U(-k, k): mean 0, sd k/sqrt(3); checked at 6 sigma of the sample size
        n, sd = values.size, bound / math.sqrt(3)
        assert abs(values.mean()) < 6 * sd / math.sqrt(n)
        if n >= 200:
            assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
            assert abs(values.std() - sd) < 6 * 0.9 * sd / math.sqrt(n)
        for name, v in module.parameters().items():
            assert np.all(np.isfinite(v)) and np.any(v != 0), name
