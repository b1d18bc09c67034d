"""Merge modes of stacked bidirectional layers against PyTorch composed by hand.

PyTorch has only ``concat``; for ``sum``, ``mean``, ``max`` and ``mul`` the
reference is one torch bidirectional layer per fastrnn layer, the merge done
in torch on the padded outputs, then the next layer -- with packed ragged
batches and initial states.  Compared: the merged output, every final state
and every gradient (dx, dh0, dc0, all parameters).

``max`` on ties: fastrnn sends the whole gradient to the forward direction,
torch splits it; random inputs have no ties (fastrnn's rule is tested in
test_merge.py).
"""
import os

import numpy as np
import pytest

if os.environ.get("FASTRNN_REQUIRE_TORCH", "") == "1":
    import torch  # noqa: E402  (a missing torch must fail the run)
else:
    torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import fastrnn as fr  # noqa: E402

T, B, I, H, L = 5, 4, 3, 4, 2
LENGTHS = np.array([5, 2, 4, 1])

TORCH_MERGE = {
    "concat": lambda f, b: torch.cat([f, b], dim=-1),
    "sum": lambda f, b: f + b,
    "mean": lambda f, b: (f + b) * 0.5,
    "max": torch.maximum,
    "mul": lambda f, b: f * b,
}
TORCH_CLASS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
FR_CLASS = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}


def _torch_stack(kind, merge_mode, dtype):
    torch.manual_seed(0)
    width = 2 * H if merge_mode == "concat" else H
    return [TORCH_CLASS[kind](I if k == 0 else width, H, bidirectional=True).to(dtype)
            for k in range(L)]


def _run_torch(layers, merge_mode, x, h0, c0):
    lengths = torch.tensor(LENGTHS)
    inp, finals_h, finals_c = x, [], []
    for k, layer in enumerate(layers):
        state = h0[2 * k:2 * k + 2] if c0 is None else (h0[2 * k:2 * k + 2], c0[2 * k:2 * k + 2])
        packed = pack_padded_sequence(inp, lengths, enforce_sorted=False)
        out, st = layer(packed, state)
        out, _ = pad_packed_sequence(out, total_length=T)
        if c0 is None:
            finals_h.append(st)
        else:
            finals_h.append(st[0])
            finals_c.append(st[1])
        inp = TORCH_MERGE[merge_mode](out[..., :H], out[..., H:])
    return inp, torch.cat(finals_h), (torch.cat(finals_c) if c0 is not None else None)


def _copy_weights(layers, ours):
    sd = {}
    for k, layer in enumerate(layers):
        for name, value in layer.state_dict().items():
            # torch's layer k is a one-layer module: "_l0" becomes "_l{k}".
            sd[name.replace("_l0", f"_l{k}")] = value.detach().numpy()
    ours.load_state_dict(sd)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mean", "max", "mul"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_stacked_bidirectional_merge_matches_composed_torch(kind, merge_mode, dtype):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    layers = _torch_stack(kind, merge_mode, tdtype)
    ours = FR_CLASS[kind](I, H, num_layers=L, bidirectional=True, merge_mode=merge_mode,
                          dtype=np.dtype(dtype).name)
    _copy_weights(layers, ours)

    rng = np.random.default_rng(7)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    h0 = rng.standard_normal((2 * L, B, H)).astype(dtype)
    c0 = rng.standard_normal((2 * L, B, H)).astype(dtype) if kind == "lstm" else None
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    c0t = torch.tensor(c0, requires_grad=True) if c0 is not None else None
    out_t, hn_t, cn_t = _run_torch(layers, merge_mode, xt, h0t, c0t)

    hx = h0 if c0 is None else (h0, c0)
    (out, state), backprop = ours.forward_train(x, hx, lengths=LENGTHS)
    h_n, c_n = (state, None) if c0 is None else state

    R = rng.standard_normal(out.shape).astype(dtype)
    Rh = rng.standard_normal(h_n.shape).astype(dtype)
    Rc = rng.standard_normal(h_n.shape).astype(dtype) if c0 is not None else None
    loss = (out_t * torch.tensor(R)).sum() + (hn_t * torch.tensor(Rh)).sum()
    if c0 is not None:
        loss = loss + (cn_t * torch.tensor(Rc)).sum()
    loss.backward()
    dx, dhx = backprop(R, Rh if c0 is None else (Rh, Rc))

    def check(a, b, what):
        b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
        if dtype == np.float64:
            err = np.abs(a - b).max()
            assert err <= 1e-10, f"{what}: max abs error {err:.2e}"
        else:
            err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
            assert err <= 1e-5, f"{what}: relative error {err:.2e}"

    check(out, out_t, "out")
    check(h_n, hn_t, "h_n")
    check(dx, xt.grad, "dx")
    if c0 is None:
        check(dhx, h0t.grad, "dh0")
    else:
        check(c_n, cn_t, "c_n")
        check(dhx[0], h0t.grad, "dh0")
        check(dhx[1], c0t.grad, "dc0")
    for k, layer in enumerate(layers):
        for name, param in layer.named_parameters():
            check(ours.grads[name.replace("_l0", f"_l{k}")], param.grad, f"grad {name} (layer {k})")
