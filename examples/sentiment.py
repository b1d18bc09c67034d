"""Many-to-one classification: sentiment of generated sentences that need word order.

``fr.datasets.sentiment`` writes sentences such as "honestly the plot was
not very good but the acting was great": negations flip the word after
them and the clause after "but" decides, so counting words is not enough.

The script trains

* a bag-of-words baseline: logistic regression on word counts (an
  ``fr.Linear`` trained with ``fr.optim.Adam`` on ``fr.losses.cross_entropy``),
  which cannot see order, and
* ``fr.SequenceClassifier`` (embedding + LSTM, final state pooled), with a
  validation set, early stopping and gradient clipping,

then prints both held-out accuracies, a few predictions, and saves the
training curves to ``sentiment.png`` (needs matplotlib).

Run it (about 30 s on two cores)::

    PYTHONPATH=. python examples/sentiment.py [--epochs 8] [--out DIR] [--no-plot]
"""
import argparse
import time

import numpy as np

import fastrnn as fr
from _plotting import pyplot, save


def bag_of_words_accuracy(train, test, vocab_size, seed, steps=300):
    """Logistic regression on word counts, trained full-batch."""
    def counts(seqs):
        c = np.zeros((len(seqs), vocab_size), dtype=np.float32)
        for i, s in enumerate(seqs):
            np.add.at(c[i], s, 1.0)
        return c

    (Xtr, ytr), (Xte, yte) = (counts(train[0]), train[1]), (counts(test[0]), test[1])
    model = fr.Linear(vocab_size, 2, seed=seed)
    opt = fr.optim.Adam(model, lr=0.05)
    for _ in range(steps):
        model.zero_grad()
        logits, backprop = model.forward_train(Xtr)
        backprop(fr.losses.cross_entropy(logits, ytr)[1])
        opt.step()
    return float(np.mean(model(Xte).argmax(axis=1) == yte))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()

    seqs, labels, vocab = fr.datasets.sentiment(6000, seed=args.seed)
    train, val, test = ((seqs[:4000], labels[:4000]), (seqs[4000:5000], labels[4000:5000]),
                        (seqs[5000:], labels[5000:]))

    start = time.perf_counter()
    bow = bag_of_words_accuracy(train, test, len(vocab), args.seed)
    bow_s = time.perf_counter() - start

    start = time.perf_counter()
    clf = fr.SequenceClassifier(2, vocab_size=len(vocab), embed_size=32, hidden_size=64,
                                cell="lstm", pad_id=0, seed=args.seed)
    history = clf.fit(*train, epochs=args.epochs, batch_size=32, lr=5e-3, clip=5.0,
                      validation=val, early_stopping=3, seed=args.seed)
    rnn_s = time.perf_counter() - start
    rnn = clf.evaluate(*test)["accuracy"]

    print(f"\n{'model':<34}{'test accuracy':>14}{'seconds':>9}")
    print(f"{'bag of words (logistic regr.)':<34}{bow:>14.3f}{bow_s:>9.1f}")
    print(f"{'SequenceClassifier (LSTM 64)':<34}{rnn:>14.3f}{rnn_s:>9.1f}")
    print("\nsome held-out sentences:")
    pred = clf.predict(test[0][:6])
    for s, p, t in zip(test[0][:6], pred, test[1][:6]):
        text = " ".join(vocab[i] for i in s)
        print(f"  [{'+' if p else '-'}{' ' if p == t else '!'}] {text}")

    if not args.no_plot:
        plt = pyplot()
        if plt is None:
            return
        epochs = np.arange(1, len(history["loss"]) + 1)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
        ax1.plot(epochs, history["loss"], "o-", label="train")
        ax1.plot(epochs, history["val_loss"], "o-", label="validation")
        ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
        ax1.legend()
        ax2.plot(epochs, history["accuracy"], "o-", label="train")
        ax2.plot(epochs, history["val_accuracy"], "o-", label="validation")
        ax2.axhline(bow, ls="--", c="gray", label="bag of words (test)")
        ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        ax2.legend()
        save(fig, args.out, "sentiment.png")


if __name__ == "__main__":
    main()
