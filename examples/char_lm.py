"""Character-level language model on the nursery rhymes shipped with fastrnn.

``fr.LanguageModel`` (embedding + LSTM, hidden 256) learns to predict the
next character of ``fr.datasets.load_text("nursery_rhymes")`` (about 7 KB),
trained on overlapping windows of 100 characters; the last 10 % of the text
is held out.  It prints the training and held-out perplexity per character
next to two baselines (a uniform guess over the alphabet, and the training
text's character frequencies), then samples text from a prompt at a few
temperatures with top-k sampling.  Saves the training curves to
``char_lm.png`` (needs matplotlib).

The corpus is tiny, so the model ends up knowing its rhymes by heart
(training perplexity near 1) and its samples recombine them; the held-out
rhymes are mostly unseen words, so the held-out perplexity is lowest after
a few epochs and then rises: the textbook picture of overfitting, which
``early_stopping=3`` would cut short (at the price of blander samples).

Run it (about a minute on two cores)::

    PYTHONPATH=. python examples/char_lm.py [--epochs 20] [--out DIR] [--no-plot]
"""
import argparse
import time

import numpy as np

import fastrnn as fr
from _plotting import pyplot, save


def windows(ids, length, stride):
    return [ids[i:i + length] for i in range(0, len(ids) - length + 1, stride)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()

    text = fr.datasets.load_text("nursery_rhymes")
    ids, alphabet = fr.datasets.char_vocab(text)
    cut = int(len(ids) * 0.9)
    train, held_out = windows(ids[:cut], 100, 10), windows(ids[cut:], 100, 50)

    lm = fr.LanguageModel(len(alphabet), embed_size=32, hidden_size=256, dropout=0.1,
                          seed=args.seed)
    start = time.perf_counter()
    history = lm.fit(train, epochs=args.epochs, batch_size=32, lr=3e-3, clip=1.0,
                     validation=(held_out, None), seed=args.seed)
    seconds = time.perf_counter() - start
    # Baseline: each character drawn from the training text's frequencies.
    freq = np.bincount(ids[:cut], minlength=len(alphabet)) + 1.0
    unigram = np.exp(-np.mean(np.log(freq / freq.sum())[ids[cut:]]))

    print(f"\n{len(text)} characters, alphabet of {len(alphabet)}; {len(train)} training "
          f"windows; {len(history['loss'])} epochs in {seconds:.1f} s")
    best = int(np.argmin(history["val_loss"]))
    print(f"perplexity per character: training {np.exp(history['loss'][-1]):.2f}; held out "
          f"{np.exp(history['val_loss'][-1]):.1f} at the end, {np.exp(history['val_loss'][best]):.1f}"
          f" at best (epoch {best + 1}); baselines on the held-out text: uniform "
          f"{len(alphabet)}, character frequencies {unigram:.1f}")
    prompt = "Humpty Dumpty"
    prompt_ids = [alphabet.index(c) for c in prompt]
    for temperature in (0.0, 0.5, 0.8):
        made = lm.generate(1, 160, prompt=prompt_ids, temperature=temperature, top_k=8,
                           seed=args.seed)[0]
        sample = fr.datasets.decode_chars(prompt_ids + made, alphabet)
        print(f"\n--- temperature {temperature}{' (greedy)' if temperature == 0 else ''}, "
              f"top-k 8 ---\n{sample}")

    if not args.no_plot:
        plt = pyplot()
        if plt is None:
            return
        epochs = np.arange(1, len(history["loss"]) + 1)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(epochs, np.exp(history["loss"]), "o-", ms=3, label="train")
        ax.plot(epochs, np.exp(history["val_loss"]), "o-", ms=3, label="held out")
        ax.set(xlabel="epoch", ylabel="perplexity per character", yscale="log",
               title="character LM on nursery rhymes")
        ax.legend()
        save(fig, args.out, "char_lm.png")


if __name__ == "__main__":
    main()
