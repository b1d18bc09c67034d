"""Task accuracy of frozen models at int8 and bf16 against float32, on the
project's demos: the dates seq2seq (held-out exact match), the sentiment
classifier (held-out accuracy) and the adding problem (LSTM and GRU: test
MSE, and the share of sums predicted within 0.04).  Each model is trained
once in float32, then evaluated as trained and frozen at each precision
(``fr.freeze(model, precision=...)``): the weights are the same, only the
precision of the recurrent products changes.

    PYTHONPATH=. python bench/low_precision_accuracy.py [--seed 0] [--quick]

About 4 minutes on the project's 2-core VM (``--quick``: smaller models and
data, under a minute, for a smoke run).  Prints a table with the date, the
commit, the CPU and its ISA.
"""
import argparse

import numpy as np

import fastrnn as fr
from fastrnn import benchmark, datasets
from fastrnn._kernels import recurrent


def precisions():
    return ["float32", "int8"] + (["bf16"] if recurrent.low_precision_kernels()["bf16"] else [])


def dates(seed, quick):
    n, epochs = (2000, 2) if quick else (10000, 4)
    sources, targets = datasets.dates(n + 1000, seed=seed)
    src_tok, tgt_tok = datasets.char_tokenizer(sources), datasets.char_tokenizer(targets)
    src = [src_tok.encode(s) for s in sources]
    tgt = [tgt_tok.encode(t) for t in targets]
    model = fr.Seq2Seq(len(src_tok), len(tgt_tok), embed_size=32, hidden_size=64, cell="lstm",
                       bidirectional_encoder=True, attention="dot", sos_id=tgt_tok.sos_id,
                       eos_id=tgt_tok.eos_id, pad_id=tgt_tok.pad_id, seed=seed)
    model.fit(src[:n], tgt[:n], epochs=epochs, batch_size=64, lr=3e-3, progress=False, seed=seed)
    test_src, test_tgt = src[n + 500:], targets[n + 500:]

    def score(m):
        outs = m.translate(test_src, max_len=12)
        return 100 * float(np.mean([tgt_tok.decode(o) == t for o, t in zip(outs, test_tgt)]))

    return "dates seq2seq, exact match %", model, score


def sentiment(seed, quick):
    n, epochs = (2000, 3) if quick else (6000, 8)
    seqs, labels, vocab = datasets.sentiment(n, seed=seed)
    cut = n * 2 // 3
    train, test = (seqs[:cut], labels[:cut]), (seqs[n * 5 // 6:], labels[n * 5 // 6:])
    model = fr.SequenceClassifier(2, vocab_size=len(vocab), embed_size=32, hidden_size=64,
                                  cell="lstm", pad_id=0, seed=seed)
    model.fit(*train, epochs=epochs, batch_size=32, lr=5e-3, clip=5.0, progress=False,
              seed=seed)
    return "sentiment classifier, accuracy %", model, \
        lambda m: 100 * m.evaluate(*test)["accuracy"]


def adding(cls, seed, quick):
    steps, hidden = (300, 32) if quick else (1500, 32)
    rnn = cls(2, hidden, batch_first=True, seed=seed,
              **({"forget_bias": 1.0} if cls is fr.LSTM else {}))
    head = fr.Linear(hidden, 1, seed=seed)
    opt = fr.optim.Adam([rnn, head], lr=1e-2)
    rng = np.random.default_rng(seed + 1)
    lstm = cls is fr.LSTM
    for _ in range(steps):
        X, y = datasets.adding_problem(128, length=100, seed=rng)
        (out, state), backprop = rnn.forward_train(X)
        h_n = state[0] if lstm else state
        pred, backprop_head = head.forward_train(h_n[-1])
        _, dpred = fr.losses.mse(pred, y)
        rnn.zero_grad()
        head.zero_grad()
        dh = backprop_head(dpred)[None]
        backprop(np.zeros_like(out), (dh, None) if lstm else dh)
        fr.optim.clip_grad_norm([rnn, head], 1.0)
        opt.step()
    X_test, y_test = datasets.adding_problem(1000, length=100, seed=seed + 12345)

    def score(layer):
        _, state = layer(X_test)
        pred = head((state[0] if lstm else state)[-1])
        return 100 * float(np.mean(np.abs(pred - y_test) < 0.04)), \
            float(np.mean((pred - y_test) ** 2))

    return f"adding problem {cls.__name__}, within 0.04 % (MSE)", rnn, score


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    where = benchmark.machine()
    print(f"{where['date']}; commit {where['commit']}; {where['cpu']} "
          f"({' '.join(where['isa'])}); kernels: {where['kernels']} build "
          f"(int8: {recurrent.low_precision_kernels()['int8']}); seed {args.seed}")
    precs = precisions()
    print(f"{'task':<42}" + "".join(f"{p:>18}" for p in precs))
    tasks = [dates(args.seed, args.quick), sentiment(args.seed, args.quick),
             adding(fr.LSTM, args.seed, args.quick), adding(fr.GRU, args.seed, args.quick)]
    for name, model, score in tasks:
        cells = []
        for p in precs:
            value = score(model if p == "float32" else fr.freeze(model, precision=p))
            cells.append(f"{value[0]:.2f} ({value[1]:.5f})" if isinstance(value, tuple)
                         else f"{value:.2f}")
        print(f"{name:<42}" + "".join(f"{c:>18}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
