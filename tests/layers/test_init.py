"""Initialisation options: orthogonal recurrent weights, LSTM forget-gate bias."""
import numpy as np
import pytest

import fastrnn as fr

H = 6


@pytest.mark.parametrize("make, G", [
    (lambda **kw: fr.LSTM(4, H, num_layers=2, bidirectional=True, **kw), 4),
    (lambda **kw: fr.GRU(4, H, **kw), 3),
    (lambda **kw: fr.RNN(4, H, **kw), 1),
    (lambda **kw: fr.LSTMCell(4, H, **kw), 4),
    (lambda **kw: fr.GRUCell(4, H, **kw), 3),
    (lambda **kw: fr.RNNCell(4, H, **kw), 1),
])
def test_orthogonal_recurrent_weights(make, G):
    m = make(recurrent_init="orthogonal", seed=3, dtype="float64")
    k = 1 / np.sqrt(H)
    hh = [v for name, v in m.state_dict().items() if name.startswith("weight_hh")]
    assert hh
    for w in hh:
        assert w.shape == (G * H, H)
        for g in range(G):
            block = w[g * H:(g + 1) * H]
            np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
    # Everything else keeps PyTorch's U(-1/sqrt(H), 1/sqrt(H)).
    for name, v in m.state_dict().items():
        if not name.startswith("weight_hh"):
            assert np.all(np.abs(v) <= k)
    assert m.get_config()["recurrent_init"] == "orthogonal"


def test_orthogonal_is_seeded():
    a = fr.GRU(3, H, recurrent_init="orthogonal", seed=1).state_dict()
    b = fr.GRU(3, H, recurrent_init="orthogonal", seed=1).state_dict()
    c = fr.GRU(3, H, recurrent_init="orthogonal", seed=2).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])


@pytest.mark.parametrize("make", [
    lambda **kw: fr.LSTM(3, H, num_layers=2, bidirectional=True, **kw),
    lambda **kw: fr.LSTMCell(3, H, **kw),
])
def test_forget_bias_sets_the_sum_of_both_biases(make):
    m = make(forget_bias=1.0, seed=0)
    sd = m.state_dict()
    for name in sd:
        if name.startswith("bias_ih"):
            other = name.replace("bias_ih", "bias_hh")
            total = sd[name] + sd[other]
            np.testing.assert_array_equal(total[H:2 * H], 1.0)
            # the other gates keep their random init
            assert np.all(np.abs(sd[name][:H]) <= 1 / np.sqrt(H))
    assert m.get_config()["forget_bias"] == 1.0


def test_forget_bias_changes_the_output_as_a_larger_forget_gate_would():
    x = np.random.default_rng(0).standard_normal((20, 2, 3))
    plain = fr.LSTM(3, H, seed=0, dtype="float64")
    biased = fr.LSTM(3, H, seed=0, dtype="float64", forget_bias=5.0)
    # Same weights apart from the forget bias: with f ~ 1 the cell keeps
    # much more of its past, so its final cell state is larger.
    _, (_, c_plain) = plain(x)
    _, (_, c_biased) = biased(x)
    assert np.abs(c_biased).mean() > np.abs(c_plain).mean()


def test_default_init_is_unchanged_by_the_options():
    a = fr.LSTM(3, H, seed=4).state_dict()
    b = fr.LSTM(3, H, seed=4, recurrent_init="uniform", forget_bias=None).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(recurrent_init="xavier"), ValueError, "recurrent_init"),
    (dict(forget_bias="1"), TypeError, "forget_bias"),
    (dict(forget_bias=float("nan")), ValueError, "forget_bias"),
    (dict(forget_bias=1.0, bias=False), ValueError, "bias"),
])
def test_bad_init_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fr.LSTM(3, H, **kwargs)


def test_forget_bias_is_lstm_only():
    from fastrnn.layers.init import check_init_options

    with pytest.raises(ValueError, match="LSTM only"):
        check_init_options("gru", True, "uniform", 1.0)
    with pytest.raises(TypeError):
        fr.GRU(3, H, forget_bias=1.0)
