"""fr.from_keras: Keras 3 layers (torch backend) converted to fastrnn compute
what Keras computes, within 1e-5 (float32), on random weights and biases."""
import os

import numpy as np
import pytest

import fastrnn as fr

os.environ.setdefault("KERAS_BACKEND", "torch")
if os.environ.get("FASTRNN_REQUIRE_KERAS"):
    import keras
else:
    keras = pytest.importorskip("keras")

TOL = 1e-5
# Keras 3.15's own numpy conversions warn under numpy 2; not fastrnn's.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _keras_out(layer, x, **kw):
    out = layer(x, **kw)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)


def _randomized(layer, rng, input_shape):
    """``layer`` built, with every weight random (biases included)."""
    layer.build(input_shape)
    layer.set_weights([0.5 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in layer.get_weights()])
    return layer


RECURRENT = {
    "lstm": lambda: keras.layers.LSTM(5, return_sequences=True),
    "gru": lambda: keras.layers.GRU(5, return_sequences=True),
    "gru_reset_before": lambda: keras.layers.GRU(5, return_sequences=True, reset_after=False),
    "simple_rnn": lambda: keras.layers.SimpleRNN(5, return_sequences=True),
    "simple_rnn_relu": lambda: keras.layers.SimpleRNN(5, return_sequences=True,
                                                      activation="relu"),
    "lstm_no_bias": lambda: keras.layers.LSTM(5, return_sequences=True, use_bias=False),
}


@pytest.mark.parametrize("name", list(RECURRENT))
@pytest.mark.parametrize("merge", [None, "concat", "sum", "mul", "ave"])
def test_a_recurrent_layer_computes_what_keras_computes(rng, name, merge):
    layer = RECURRENT[name]()
    if merge is not None:
        layer = keras.layers.Bidirectional(layer, merge_mode=merge)
    layer = _randomized(layer, rng, (None, None, 4))
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    converted = fr.from_keras(layer)
    assert converted.batch_first and converted.bidirectional == (merge is not None)
    np.testing.assert_allclose(converted(x)[0], _keras_out(layer, x), rtol=0, atol=TOL)


def test_a_stack_with_a_head_becomes_one_stacked_layer_and_a_linear(rng):
    model = keras.Sequential([
        keras.Input((None, 4)),
        keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True)),
        keras.layers.GRU(6),                       # the last step only
        keras.layers.Dropout(0.3),
        keras.layers.Dense(3)])
    model.set_weights([0.5 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    converted = fr.from_keras(model)
    assert [type(m) for m in converted.modules] == [fr.GRU, fr.GRU, fr.Dropout, fr.Linear]
    assert converted[0].num_layers == 2 and converted[0].bidirectional
    x = rng.standard_normal((2, 9, 4)).astype(np.float32)
    np.testing.assert_allclose(converted(x)[:, -1], _keras_out(model, x), rtol=0, atol=TOL)


def test_masking_is_lengths_for_the_final_state_and_the_valid_steps(rng):
    layer = _randomized(keras.layers.LSTM(5, return_sequences=True, return_state=True), rng,
                        (None, None, 4))
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    lengths = np.array([7, 3, 5])
    mask = np.arange(7)[None, :] < lengths[:, None]
    seq, h, c = _keras_out(layer, x, mask=mask)
    out, (h_n, c_n) = fr.from_keras(layer)(x, lengths=lengths)
    np.testing.assert_allclose(h_n[0], h, rtol=0, atol=TOL)
    np.testing.assert_allclose(c_n[0], c, rtol=0, atol=TOL)
    np.testing.assert_allclose(out[mask], seq[mask], rtol=0, atol=TOL)
    assert not out[~mask].any()        # fastrnn: zeros past each length


@pytest.mark.parametrize("make, message", [
    (lambda: keras.layers.LSTM(5, activation="relu"), "uses activation 'relu' and recurrent_activation"),
    (lambda: keras.layers.SimpleRNN(5, activation="sigmoid"), "uses activation 'sigmoid'"),
    (lambda: keras.layers.GRU(5, go_backwards=True), "runs backwards alone"),
    (lambda: keras.layers.Bidirectional(keras.layers.LSTM(5), merge_mode=None), "merges with None"),
    (lambda: keras.layers.Dense(3, activation="softmax"), "applies activation 'softmax'"),
    (lambda: keras.layers.Masking(), "masks steps: pass the rows' lengths"),
    (lambda: keras.layers.Conv1D(3, 2), r"\(Conv1D\): has no fastrnn equivalent"),
])
def test_what_fastrnn_cannot_compute_is_refused(make, message):
    layer = make()
    layer.build((None, None, 4))
    with pytest.raises(ValueError, match=message):
        fr.from_keras(layer)


def test_an_unbuilt_layer_is_refused():
    with pytest.raises(ValueError, match="is not built"):
        fr.from_keras(keras.layers.LSTM(5))
