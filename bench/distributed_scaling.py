"""Data-parallel training over MPI: steps per second with 1 and N ranks,
and what the gradient Allreduce costs per step.

    python bench/distributed_scaling.py [--ranks 1 2] [--threads 1] [--n 6000]
                                        [--batch-size 64] [--epochs 2]

For each rank count R the script launches ``mpiexec -n R`` on itself (the
``--worker`` mode).  Every rank builds the ``fastrnn demo dates`` model
(bidirectional LSTM-64 encoder, LSTM-128 decoder, dot attention: 203,278
float32 parameters) on the same ``datasets.dates(n)`` pairs, runs ``--threads``
OpenMP threads, and trains with ``fit(..., distributed=comm)`` at
``--batch-size`` sequences per rank (so a step covers R * batch-size
sequences).  After one untimed warm-up epoch on a slice of the data, rank 0
reports the median epoch time over ``--epochs`` epochs, steps/s, sequences/s,
and the communicator's totals (Allreduce calls, bytes, seconds).  A separate
loop then times 200 Allreduces of the gradient buffer alone.

``--threads 2 --ranks 1`` gives the shared-memory alternative on the same
cores (one process, two OpenMP threads), to compare with ``--ranks 2``.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HIDDEN, EMBED = 64, 32


def worker(args):
    import fastrnn as fr
    from fastrnn import datasets, distributed as dist

    comm = dist.world()
    fr.set_num_threads(args.threads)
    sources, targets = datasets.dates(args.n, seed=0)
    src_tok, tgt_tok = datasets.char_tokenizer(sources), datasets.char_tokenizer(targets)
    src = [src_tok.encode(s) for s in sources]
    tgt = [tgt_tok.encode(t) for t in targets]
    model = fr.Seq2Seq(len(src_tok), len(tgt_tok), embed_size=EMBED, hidden_size=HIDDEN,
                       attention="dot", bidirectional_encoder=True, seed=0)
    fit = dict(batch_size=args.batch_size, lr=1e-3, clip=5.0, progress=False, seed=0,
               distributed=comm)
    warm = args.batch_size * comm.size * 4
    model.fit(src[:warm], tgt[:warm], epochs=1, **fit)
    calls0, bytes0, secs0 = comm.allreduce_calls, comm.allreduce_bytes, comm.allreduce_seconds
    times = []
    for _ in range(args.epochs):
        comm.comm.Barrier()
        t0 = time.perf_counter()
        model.fit(src, tgt, epochs=1, **fit)
        times.append(time.perf_counter() - t0)
    steps = -(-args.n // (args.batch_size * comm.size))
    calls = comm.allreduce_calls - calls0
    per_epoch_bytes = (comm.allreduce_bytes - bytes0) / args.epochs
    per_epoch_secs = (comm.allreduce_seconds - secs0) / args.epochs

    grads = np.zeros(model._flat[1].size + 1, dtype=np.float32)
    lat = []
    for _ in range(200):
        comm.comm.Barrier()
        t0 = time.perf_counter()
        comm.allreduce_(grads)
        lat.append(time.perf_counter() - t0)
    if comm.is_root:
        epoch = statistics.median(times)
        print(json.dumps(dict(
            ranks=comm.size, threads=args.threads, epoch_s=epoch, steps=steps,
            steps_per_s=steps / epoch, seqs_per_s=args.n / epoch,
            allreduce_calls_per_epoch=calls / args.epochs, bytes_per_epoch=per_epoch_bytes,
            allreduce_s_per_epoch=per_epoch_secs, grad_buffer_bytes=grads.nbytes,
            allreduce_alone_ms=statistics.median(lat) * 1e3,
            params=int(model._flat[0].size))), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    exe = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.access(exe, os.X_OK):
        exe = "mpiexec"
    rows = []
    for r in args.ranks:
        cmd = [exe, "-n", str(r), sys.executable, os.path.abspath(__file__), "--worker",
               "--threads", str(args.threads), "--n", str(args.n),
               "--batch-size", str(args.batch_size), "--epochs", str(args.epochs)]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]
    print(f"dates seq2seq, {base['params']} parameters, n={args.n}, {args.batch_size} sequences "
          f"per rank per step, {args.threads} thread(s) per rank")
    print(f"{'ranks':>5} {'epoch s':>8} {'steps/s':>8} {'seqs/s':>8} {'speed-up':>8} "
          f"{'AR/step ms':>10} {'AR share':>8} {'AR alone ms':>11} {'bytes/step':>10}")
    for row in rows:
        per_step_ms = row["allreduce_s_per_epoch"] / row["steps"] * 1e3
        print(f"{row['ranks']:>5} {row['epoch_s']:>8.2f} {row['steps_per_s']:>8.1f} "
              f"{row['seqs_per_s']:>8.0f} {row['seqs_per_s'] / base['seqs_per_s']:>7.2f}x "
              f"{per_step_ms:>10.2f} {row['allreduce_s_per_epoch'] / row['epoch_s']:>7.1%} "
              f"{row['allreduce_alone_ms']:>11.2f} {row['grad_buffer_bytes']:>10}")


if __name__ == "__main__":
    main()
