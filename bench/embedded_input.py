"""An embedding folded into the recurrent layer's input projection
(``forward_train_embedded``) vs the lookup followed by the layer, side by
side in one process, interleaved.

    python bench/embedded_input.py [--rounds 5] [--threads 2]

Two measurements:

* one training step of a layer (forward_train + backprop) on token ids,
  for a few (vocabulary, embedding, hidden, T, B) shapes;
* one epoch of ``fr.SequenceClassifier`` (bidirectional LSTM) on random
  token sequences: the model's ``fit`` folds the embedding when it has no
  dropout, and the "lookup" system runs the same fit with the fold
  switched off.

Medians of ``--rounds`` alternating rounds; the ratio is folded / lookup.
"""
import argparse
import contextlib
import statistics
import time

import numpy as np

import fastrnn as fr
from fastrnn.layers import recurrent as R

SHAPES = [  # vocab, embed, hidden, T, B, cell
    (62, 32, 64, 16, 64, "lstm"),
    (14, 32, 128, 11, 64, "lstm"),
    (100, 64, 128, 40, 32, "gru"),
    (1000, 128, 256, 35, 32, "lstm"),
]

_FOLDED = R._RecurrentLayer.forward_train_embedded


def _lookup_then_layer(self, embedding, ids, hx=None, lengths=None):
    """The layer's own unfolded path, for every call."""
    return self._lookup_then_train(embedding, ids, hx, lengths)


@contextlib.contextmanager
def folding(on):
    R._RecurrentLayer.forward_train_embedded = _FOLDED if on else _lookup_then_layer
    try:
        yield
    finally:
        R._RecurrentLayer.forward_train_embedded = _FOLDED


def layer_step_ms(shape, rounds, reps=30):
    V, E, H, T, B, cell = shape
    rng = np.random.default_rng(0)
    layer = {"lstm": fr.LSTM, "gru": fr.GRU}[cell](E, H, bidirectional=True, seed=0)
    emb = fr.Embedding(V, E, padding_idx=0, seed=1)
    ids = rng.integers(0, V, (T, B))
    lengths = np.sort(rng.integers(T // 2, T + 1, B))[::-1].copy()

    def step():
        (out, _), bp = layer.forward_train_embedded(emb, ids, None, lengths)
        bp(np.ones_like(out))

    times = {"folded": [], "lookup": []}
    for _ in range(rounds):
        for name in times:
            with folding(name == "folded"):
                step()
                t0 = time.perf_counter()
                for _ in range(reps):
                    step()
                times[name].append((time.perf_counter() - t0) / reps * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def classifier_epoch_s(rounds):
    rng = np.random.default_rng(0)
    X = [list(rng.integers(1, 100, rng.integers(20, 60))) for _ in range(4000)]
    y = rng.integers(0, 2, len(X))
    model = fr.SequenceClassifier(2, vocab_size=100, embed_size=64, hidden_size=128,
                                  bidirectional=True, seed=0)
    model.fit(X[:256], y[:256], epochs=1, progress=False)
    times = {"folded": [], "lookup": []}
    for _ in range(rounds):
        for name in times:
            with folding(name == "folded"):
                t0 = time.perf_counter()
                model.fit(X, y, epochs=1, batch_size=64, progress=False)
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    fr.set_num_threads(args.threads)
    print(f"threads={args.threads}, rounds={args.rounds}; bidirectional layers, ragged lengths")
    print(f"{'vocab':>6} {'embed':>6} {'hidden':>6} {'T':>4} {'B':>4} {'cell':>5} "
          f"{'lookup ms':>10} {'folded ms':>10} {'ratio':>6}")
    for shape in SHAPES:
        m = layer_step_ms(shape, args.rounds)
        print(f"{shape[0]:6} {shape[1]:6} {shape[2]:6} {shape[3]:4} {shape[4]:4} {shape[5]:>5} "
              f"{m['lookup']:10.3f} {m['folded']:10.3f} {m['folded'] / m['lookup']:6.2f}",
              flush=True)
    m = classifier_epoch_s(args.rounds)
    print(f"\nSequenceClassifier epoch (4000 sequences of 20-59 tokens, vocab 100, "
          f"embed 64, bi-LSTM 128): lookup {m['lookup']:.2f} s, folded {m['folded']:.2f} s, "
          f"ratio {m['folded'] / m['lookup']:.2f}")


if __name__ == "__main__":
    main()
