"""Time-series forecasting with ``fr.SequenceRegressor``: one step and many steps ahead.

1. **AR(3), one step ahead.**  ``x_t = 0.6 x_{t-1} - 0.2 x_{t-2} + 0.3 x_{t-3}
   + 0.1 e_t``: no forecaster can beat the noise variance 0.01, which the
   true coefficients reach (the oracle).  A GRU regressor on windows of 20
   steps should land close to it, far below the naive "repeat the last
   value" forecast.
2. **Noisy sine, 20 steps ahead at once** (``horizon=20``, direct
   multi-step), compared with repeating the last value; then
   :meth:`SequenceRegressor.forecast` rolls 100 steps ahead by feeding its
   forecasts back in.

Prints the test MSEs and saves ``forecasting.png`` (needs matplotlib).
Run it (about half a minute on two cores)::

    PYTHONPATH=. python examples/forecasting.py [--epochs 12] [--out DIR] [--no-plot]
"""
import argparse
import time

import numpy as np

import fastrnn as fr
from _plotting import pyplot, save

AR = (0.6, -0.2, 0.3)


def split(X, y, frac=0.8):
    n = int(len(X) * frac)
    return (X[:n], y[:n]), (X[n:], y[n:])


def ar_one_step(seed, epochs):
    series = fr.datasets.ar_process(6000, coefficients=AR, noise=0.1, seed=seed)
    scale = series[:4800].std()              # standardise on the training part
    X, y = fr.datasets.sliding_windows(series / scale, window=20)
    (Xtr, ytr), (Xte, yte) = split(X, y)
    reg = fr.SequenceRegressor(1, hidden_size=32, cell="gru", seed=seed)
    reg.fit(Xtr, ytr, epochs=epochs, batch_size=64, lr=3e-3, validation=0.1, early_stopping=3,
            progress=False, seed=seed)
    pred = reg.predict(Xte)[:, 0] * scale
    truth = yte[:, 0, 0] * scale
    window = Xte[:, :, 0] * scale
    oracle = window[:, -1:-4:-1] @ np.asarray(AR, dtype=window.dtype)
    return {"GRU regressor": np.mean((pred - truth) ** 2),
            "oracle (true AR coefficients)": np.mean((oracle - truth) ** 2),
            "naive (repeat last value)": np.mean((window[:, -1] - truth) ** 2)}


def sine_many_steps(seed, epochs, horizon=20):
    series = fr.datasets.sine_wave(4000, period=37.0, noise=0.05, seed=seed)
    X, y = fr.datasets.sliding_windows(series, window=60, horizon=horizon)
    (Xtr, ytr), (Xte, yte) = split(X, y)
    reg = fr.SequenceRegressor(1, horizon=horizon, hidden_size=48, cell="lstm", seed=seed)
    reg.fit(Xtr, ytr, epochs=epochs, batch_size=64, lr=3e-3, validation=0.1, early_stopping=3,
            progress=False, seed=seed)
    pred = reg.predict(Xte)
    naive = np.repeat(Xte[:, -1:, :], horizon, axis=1)
    scores = {"LSTM regressor, horizon 20": np.mean((pred - yte) ** 2),
              "naive (repeat last value)": np.mean((naive - yte) ** 2)}
    start = len(Xtr) + 60
    context = series[start - 60:start]
    rolled = reg.forecast(context, 100)[:, 0]
    clean = np.sin(2 * np.pi * np.arange(start, start + 100) / 37.0)
    return scores, (np.arange(start - 60, start), context, np.arange(start, start + 100),
                    rolled, clean)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    ar = ar_one_step(args.seed, args.epochs)
    t1 = time.perf_counter()
    sine, curves = sine_many_steps(args.seed, args.epochs)
    t2 = time.perf_counter()
    print(f"\nAR(3) one step ahead, test MSE ({t1 - t0:.1f} s)")
    for name, mse in ar.items():
        print(f"  {name:<34}{mse:.4f}")
    print(f"noisy sine, 20 steps ahead, test MSE ({t2 - t1:.1f} s)")
    for name, mse in sine.items():
        print(f"  {name:<34}{mse:.4f}")

    if not args.no_plot:
        plt = pyplot()
        if plt is None:
            return
        t_ctx, context, t_ahead, rolled, clean = curves
        fig, ax = plt.subplots(figsize=(9, 3.5))
        ax.plot(t_ctx, context, c="gray", label="context (noisy)")
        ax.plot(t_ahead, clean, "k--", lw=1, label="noise-free continuation")
        ax.plot(t_ahead, rolled, c="C1", label="forecast (rolled 100 steps)")
        ax.set(xlabel="t", title="SequenceRegressor.forecast on a noisy sine")
        ax.legend(loc="upper right")
        save(fig, args.out, "forecasting.png")


if __name__ == "__main__":
    main()
