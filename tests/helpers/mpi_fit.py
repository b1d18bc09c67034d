"""Distributed training under MPI, for tests/test_distributed.py.

    mpiexec -n RANKS python tests/helpers/mpi_fit.py KIND OUT PER_RANK_BATCH [mismatch]

Every rank builds the KIND model (``build``) from its *own* seed, so the
run also checks the start-of-fit broadcast, trains it with
``fit(..., distributed=True)`` and writes its parameters to
``OUT.rank<r>.npz``; rank 0 also writes the history to ``OUT.json``.
``mismatch``: the last rank drops a sequence, which every rank must refuse.
The test compares these with ``build`` trained in one process on global
batches of RANKS * PER_RANK_BATCH.
"""
import json
import sys

import numpy as np

import fastrnn as fr
from fastrnn import datasets

FIT_SEED = 123


def build(kind, seed):
    """``(model, fit_args, fit_kwargs)``: small float64 models and data, so
    one process and several agree to float64 rounding."""
    if kind == "classifier":
        X, y, vocab = datasets.sentiment(90, seed=0, max_len=12)
        model = fr.SequenceClassifier(2, vocab_size=len(vocab), embed_size=6, hidden_size=7,
                                      bidirectional=True, pooling="mean", dtype="float64",
                                      seed=seed)
        return model, (X, y), dict(epochs=2, validation=0.2, optimizer="adam", lr=0.01)
    if kind == "seq2seq":
        src, tgt = datasets.reverse_task(60, min_len=2, max_len=7, vocab_size=9, seed=0)
        model = fr.Seq2Seq(9, 9, embed_size=5, hidden_size=6, attention="general",
                           bidirectional_encoder=True, dtype="float64", seed=seed)
        return model, (src, tgt), dict(epochs=2, lr=0.01)
    raise SystemExit(f"unknown kind {kind!r}")


def main():
    from mpi4py import MPI

    kind, out, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mismatch = len(sys.argv) > 4 and sys.argv[4] == "mismatch"
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    fr.set_num_threads(1)
    model, args, kwargs = build(kind, seed=1000 + rank)
    if mismatch and rank == comm.Get_size() - 1:
        args = tuple(a[:-1] for a in args)
    try:
        history = model.fit(*args, batch_size=batch, seed=FIT_SEED, progress=False,
                            distributed=True, **kwargs)
    except ValueError as exc:
        print(f"rank {rank}: ValueError: {exc}", flush=True)
        sys.exit(3)
    np.savez(f"{out}.rank{rank}.npz", **model.parameters())
    if rank == 0:
        history.pop("time")
        with open(f"{out}.json", "w") as f:
            json.dump(history, f)


if __name__ == "__main__":
    main()
