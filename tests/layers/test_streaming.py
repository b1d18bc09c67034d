"""Long streams in chunks: carrying the final state into the next chunk
(stateful inference, truncated BPTT) and step-by-step cells, against one
call over the whole sequence."""
import numpy as np
import pytest

import fastrnn as fr


@pytest.mark.parametrize("cls", [fr.LSTM, fr.GRU, fr.RNN])
def test_chunked_inference_equals_one_call(rng, cls):
    layer = cls(3, 5, num_layers=2, batch_first=True, dtype="float64", seed=0)
    x = rng.standard_normal((2, 12, 3))
    full_out, full_state = layer(x)
    outs, state = [], None
    for start in range(0, 12, 4):
        out, state = layer(x[:, start:start + 4], state)
        outs.append(out)
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full_out, rtol=1e-13, atol=1e-13)
    parts = (lambda s: s if isinstance(s, tuple) else (s,))  # noqa: E731  LSTM: (h, c)
    for a, b in zip(parts(state), parts(full_state)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_cell_steps_equal_the_layer(rng):
    layer = fr.LSTM(3, 4, dtype="float64", seed=1)
    cell = fr.LSTMCell(3, 4, dtype="float64")
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
    x = rng.standard_normal((6, 2, 3))
    out, (h_n, c_n) = layer(x)
    state = None
    for t in range(6):
        state = cell(x[t], state)
        np.testing.assert_allclose(state[0], out[t], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(state[1], c_n[0], rtol=1e-13, atol=1e-13)


def test_chunks_chained_backwards_give_full_bptt_and_truncation_drops_the_link(rng):
    """Truncated BPTT is exactly 'do not pass the state gradient back': with
    the link kept, chunk gradients add up to full backpropagation through
    time; without it, the first chunk gets no gradient from later losses."""
    x = rng.standard_normal((2, 9, 3))
    dout = rng.standard_normal((2, 9, 4))

    def fresh():
        return fr.GRU(3, 4, batch_first=True, dtype="float64", seed=2)

    full = fresh()
    (out, _), bp = full.forward_train(x)
    dx_full, _ = bp(dout)

    chunked = fresh()
    records, state = [], None
    for start in (0, 3, 6):
        (out, state), bp = chunked.forward_train(x[:, start:start + 3], state)
        records.append((start, bp))
    dstate, dxs = None, {}
    for start, bp in reversed(records):
        dxs[start], dstate = bp(dout[:, start:start + 3], dstate)
    for k, g in full.grads.items():
        np.testing.assert_allclose(chunked.grads[k], g, rtol=1e-12, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(np.concatenate([dxs[s] for s in (0, 3, 6)], axis=1), dx_full,
                               rtol=1e-12, atol=1e-12)

    # Truncated: each chunk backpropagates alone; the first chunk's input
    # gradient then ignores the later chunks' losses.
    only_first = fresh()
    (_, _), bp = only_first.forward_train(x[:, :3])
    dx_first, _ = bp(dout[:, :3])
    truncated = fresh()
    state = None
    dx_trunc = []
    for start in (0, 3, 6):
        (out, state), bp = truncated.forward_train(x[:, start:start + 3], state)
        dx_trunc.append(bp(dout[:, start:start + 3])[0])
    np.testing.assert_allclose(dx_trunc[0], dx_first, rtol=1e-13, atol=1e-13)
    assert not np.allclose(dx_trunc[0], dxs[0])
