"""One training epoch of the dates seq2seq model: fastrnn vs the same model
in PyTorch, side by side.

    python bench/seq2seq_epoch.py [--n 10000] [--batch-size 64] [--rounds 3]
                                  [--threads 2] [--no-bidirectional] [--torch-only]

The task is ``fastrnn.datasets.dates(n, seed=0)`` (human-written dates ->
ISO "YYYY-MM-DD"), characters tokenized with ``datasets.char_tokenizer``
(one tokenizer for the sources, one for the targets; pad 0, sos 1, eos 2).
The model, in both systems:

* source / target character embeddings of width 32 (``padding_idx=0``);
* encoder LSTM, hidden 64, bidirectional unless ``--no-bidirectional``,
  run over each source's valid length only (packed);
* decoder LSTM, hidden 128 (2 x 64; 64 when unidirectional), its initial
  ``h0`` / ``c0`` = tanh(Linear(encoder's final [h_fwd; h_bwd])) and
  tanh(Linear(final [c_fwd; c_bwd])), two separate bridge Linears;
* Luong "dot" attention after the decoder RNN (no input feeding):
  scores = dec_out @ enc_out^T masked on source padding, softmax,
  context = weights @ enc_out, attentional hidden =
  tanh(Linear([context; dec_out])), logits = Linear(attentional hidden);
* cross-entropy over the target tokens + EOS, padding ignored, mean over
  the batch's real tokens; Adam lr 1e-3, gradient norm clipped to 5.0,
  teacher forcing 1.0 (decoder input = SOS + target).

PyTorch trains on batches of ``--batch-size`` pairs sorted by source length
(padded tensors built once, outside the timing), in a freshly shuffled
batch order each epoch.  fastrnn runs ``fr.Seq2Seq(...).fit(src, tgt,
epochs=1, ...)`` on the same id lists, its own batching
included in its time.  Both use ``--threads`` threads.  The systems
alternate, one epoch each (torch, fastrnn, torch, fastrnn, ...; a
``benchmark.SETTLE_S`` pause before each), ``--rounds`` times after one
untimed warm-up on a few batches; the table shows the median epoch seconds
and the ratio fastrnn / torch (the target is <= 0.5).  ``--torch-only``
times the PyTorch side alone.
"""
import argparse
import statistics
import time

import numpy as np

import fastrnn as fr
from fastrnn import datasets
from fastrnn.benchmark import SETTLE_S

EMBED = 32
HIDDEN = 64
LR = 1e-3
CLIP = 5.0
WARMUP_BATCHES = 4


# ---------------------------------------------------------------- the data
def load_data(n, seed=0):
    """Source / target id lists (no specials) and the two vocabulary sizes."""
    sources, targets = datasets.dates(n, seed=seed)
    src_tok, tgt_tok = datasets.char_tokenizer(sources), datasets.char_tokenizer(targets)
    src = [src_tok.encode(s) for s in sources]
    tgt = [tgt_tok.encode(t) for t in targets]
    return src, tgt, len(src_tok), len(tgt_tok)


def length_sorted_batches(src, batch_size):
    """Index arrays of consecutive batches of the pairs sorted by source length."""
    order = np.argsort(np.array([len(s) for s in src]), kind="stable")
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


def _padded(seqs, pad=0):
    out = np.full((len(seqs), max(map(len, seqs))), pad, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


# ---------------------------------------------------------------- PyTorch
def torch_model(src_vocab, tgt_vocab, bidirectional=True, pad_id=0):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            D = 2 if bidirectional else 1
            Hd = D * HIDDEN                         # "dot" needs dec hidden == enc output width
            self.src_embed = nn.Embedding(src_vocab, EMBED, padding_idx=pad_id)
            self.tgt_embed = nn.Embedding(tgt_vocab, EMBED, padding_idx=pad_id)
            self.encoder = nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=bidirectional)
            self.bridge_h = nn.Linear(D * HIDDEN, Hd)
            self.bridge_c = nn.Linear(D * HIDDEN, Hd)
            self.decoder = nn.LSTM(EMBED, Hd, batch_first=True)
            self.attn_combine = nn.Linear(2 * Hd, Hd)     # input [context; dec_out]
            self.out = nn.Linear(Hd, tgt_vocab)

        def forward(self, src, src_len, dec_in):
            B, Ts = src.shape
            packed = pack_padded_sequence(self.src_embed(src), src_len, batch_first=True,
                                          enforce_sorted=False)
            enc, (h, c) = self.encoder(packed)
            enc, _ = pad_packed_sequence(enc, batch_first=True, total_length=Ts)  # (B, Ts, Hd)
            # (D, B, H) -> (B, D*H) = [fwd; bwd]
            h0 = torch.tanh(self.bridge_h(h.transpose(0, 1).reshape(B, -1)))[None]
            c0 = torch.tanh(self.bridge_c(c.transpose(0, 1).reshape(B, -1)))[None]
            dec, _ = self.decoder(self.tgt_embed(dec_in), (h0, c0))              # (B, Td, Hd)
            scores = dec @ enc.transpose(1, 2)                                   # (B, Td, Ts)
            pad = torch.arange(Ts)[None, :] >= src_len[:, None]                  # (B, Ts)
            weights = torch.softmax(scores.masked_fill(pad[:, None, :], float("-inf")), dim=-1)
            context = weights @ enc                                              # (B, Td, Hd)
            attentional = torch.tanh(self.attn_combine(torch.cat([context, dec], dim=-1)))
            return self.out(attentional)                                         # (B, Td, V)

    return Seq2Seq()


def torch_system(src, tgt, src_vocab, tgt_vocab, batches, bidirectional, seed=0):
    """(one-epoch function, warm-up function, model); the epoch returns its mean loss."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    model = torch_model(src_vocab, tgt_vocab, bidirectional)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    params = list(model.parameters())
    data = []
    for idx in batches:
        s = [src[i] for i in idx]
        t = [tgt[i] for i in idx]
        data.append((torch.from_numpy(_padded(s)),
                     torch.tensor([len(x) for x in s], dtype=torch.int64),
                     torch.from_numpy(_padded([[1] + x for x in t])),      # SOS + target
                     torch.from_numpy(_padded([x + [2] for x in t]))))     # target + EOS
    rng = np.random.default_rng(seed)

    def step(batch):
        s, s_len, dec_in, dec_out = batch
        opt.zero_grad(set_to_none=True)
        logits = model(s, s_len, dec_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), dec_out.reshape(-1),
                               ignore_index=0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        return loss.item()

    def epoch():
        model.train()
        return float(np.mean([step(data[k]) for k in rng.permutation(len(data))]))

    def warmup():
        for k in range(min(WARMUP_BATCHES, len(data))):
            step(data[k])

    return epoch, warmup, model


# ---------------------------------------------------------------- fastrnn
def fastrnn_system(src, tgt, src_vocab, tgt_vocab, batch_size, bidirectional, seed=0):
    """(one-epoch function, warm-up function, model) through ``fr.Seq2Seq.fit``."""
    if not hasattr(fr, "Seq2Seq"):
        raise SystemExit("fastrnn.Seq2Seq is not available in this build; "
                         "run with --torch-only to time the PyTorch side alone")
    model = fr.Seq2Seq(src_vocab, tgt_vocab, embed_size=EMBED, hidden_size=HIDDEN, cell="lstm",
                       bidirectional_encoder=bidirectional, attention="dot",
                       sos_id=1, eos_id=2, pad_id=0, seed=seed)

    def fit(s, t):
        return model.fit(s, t, epochs=1, batch_size=batch_size, lr=LR, teacher_forcing=1.0,
                         clip=CLIP, progress=False)

    def epoch():
        return _last_loss(fit(src, tgt))

    def warmup():
        k = WARMUP_BATCHES * batch_size
        fit(src[:k], tgt[:k])

    return epoch, warmup, model


def _last_loss(history):
    """The last training loss in a fit() history, whatever its shape (None if unknown)."""
    try:
        if isinstance(history, dict):
            history = history.get("loss", history.get("train_loss"))
        elif hasattr(history, "history"):
            return _last_loss(history.history)
        if isinstance(history, (list, tuple)) and history:
            last = history[-1]
            if isinstance(last, dict):
                last = last.get("loss", last.get("train_loss"))
            return float(last)
        return float(history)
    except (TypeError, ValueError, AttributeError):
        return None


def _n_params(model):
    return sum(int(p.size) for p in model.parameters().values())


# ---------------------------------------------------------------- the run
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000, help="number of date pairs")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="timed epochs per system")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bidirectional", dest="bidirectional", action="store_false",
                    help="unidirectional encoder (decoder hidden 64 instead of 128)")
    ap.add_argument("--torch-only", action="store_true", help="time the PyTorch side alone")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    fr.set_num_threads(args.threads)
    src, tgt, src_vocab, tgt_vocab = load_data(args.n)
    batches = length_sorted_batches(src, args.batch_size)
    systems = {}
    t_epoch, t_warm, t_model = torch_system(src, tgt, src_vocab, tgt_vocab, batches,
                                            args.bidirectional)
    systems["torch"] = (t_epoch, t_warm, sum(p.numel() for p in t_model.parameters()))
    if not args.torch_only:
        f_epoch, f_warm, f_model = fastrnn_system(src, tgt, src_vocab, tgt_vocab,
                                                  args.batch_size, args.bidirectional)
        systems["fastrnn"] = (f_epoch, f_warm, _n_params(f_model))

    enc = "bidirectional" if args.bidirectional else "unidirectional"
    print(f"dates seq2seq: n={args.n} ({len(batches)} batches of {args.batch_size}), "
          f"src vocab {src_vocab}, tgt vocab {tgt_vocab}, {enc} LSTM encoder {HIDDEN}, "
          f"decoder {HIDDEN * (2 if args.bidirectional else 1)}, dot attention; "
          f"threads={args.threads}, torch {torch.__version__}", flush=True)
    print("parameters: " + ", ".join(f"{k} {v if v is not None else '?'}"
                                     for k, (_, _, v) in systems.items()), flush=True)

    for _, warm, _ in systems.values():
        warm()
    times = {k: [] for k in systems}
    losses = {k: None for k in systems}
    for r in range(args.rounds):
        for name, (epoch, _, _) in systems.items():
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            losses[name] = epoch()
            times[name].append(time.perf_counter() - t0)
            loss = f"{losses[name]:.4f}" if losses[name] is not None else "?"
            print(f"  round {r + 1}: {name:7} {times[name][-1]:8.2f} s  (epoch loss {loss})",
                  flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"{'system':8} {'median epoch s':>14} {'ratio':>7} {'min epoch s':>12}")
    print("-" * 44)
    for name, m in med.items():
        ratio = f"{m / med['torch']:7.2f}" if name == "fastrnn" else f"{'1.00':>7}"
        print(f"{name:8} {m:14.2f} {ratio} {min(times[name]):12.2f}")
    if "fastrnn" in med:
        ratio = med["fastrnn"] / med["torch"]
        print(f"\nfastrnn / torch = {ratio:.2f} (target <= 0.50: {'met' if ratio <= 0.5 else 'not met'})")


if __name__ == "__main__":
    main()
