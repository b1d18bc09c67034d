"""Greedy and beam-search decoding over any step function, batched.

A decoder is described by ``step(tokens (N,), state) -> (logits (N, V),
state, weights (N, Ts) or None)`` and ``select(state, rows) -> state``
(reorder the state's batch rows).  Both searches run all sequences of the
batch at once; beam search keeps ``beam_size`` rows per sequence.
"""
import math
import numbers

import numpy as np


def _log_softmax(logits):
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _until_eos(tokens, weights, eos_id):
    """Tokens before the first EOS, and the weight rows that produced them."""
    tokens = list(tokens)
    n = tokens.index(eos_id) if eos_id in tokens else len(tokens)
    return tokens[:n], None if weights is None else weights[:n]


def greedy(step, state, batch, sos_id, eos_id, max_len):
    """Most likely token at every step.  Returns ``(tokens, weights)``: per
    sequence the token list (EOS excluded) and the ``(n, Ts)`` attention
    rows of its tokens (None without attention)."""
    tokens = np.full(batch, sos_id, dtype=np.intp)
    made, attn = [], []
    done = np.zeros(batch, dtype=bool)
    for _ in range(max_len):
        logits, state, weights = step(tokens, state)
        tokens = logits.argmax(axis=1)
        made.append(tokens)
        attn.append(weights)
        done |= tokens == eos_id
        if done.all():
            break
    made = np.stack(made, axis=1)
    attn = None if attn[0] is None else np.stack(attn, axis=1)
    results = [_until_eos(made[b], None if attn is None else attn[b], eos_id)
               for b in range(batch)]
    return [r[0] for r in results], [r[1] for r in results]


def check_length_penalty(length_penalty):
    """``length_penalty`` must be a finite real number."""
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real):
        raise TypeError(f"length_penalty must be a real number, got "
                        f"{type(length_penalty).__name__} ({length_penalty!r})")
    if not math.isfinite(length_penalty):
        raise ValueError(f"length_penalty must be finite, got {length_penalty}")


def beam_search(step, select, state, batch, beam_size, sos_id, eos_id, max_len,
                length_penalty=1.0):
    """Beam search with ``beam_size`` hypotheses per sequence.

    ``state`` holds ``batch * beam_size`` rows (each sequence's row repeated
    ``beam_size`` times, consecutively).  At each step the ``2 * beam_size``
    best continuations of a sequence's beams are ranked; those among the
    first ``beam_size`` that end in EOS become finished hypotheses, and the
    best ``beam_size`` others live on.  A finished hypothesis scores
    ``log p / length ** length_penalty`` (length counting its EOS; 0: no
    normalisation, 1: per-token mean).  The search stops for good when no
    live beam can still beat a sequence's best finished hypothesis (its
    log-probability only falls, and its length is at most ``max_len``), or
    after ``max_len`` steps, where a sequence without a finished hypothesis
    takes its best live beam.  With ``beam_size == 1`` this is exactly
    greedy decoding.

    Returns ``(tokens, weights)`` as :func:`greedy`.

    Each step records only its tokens, parent rows and attention rows
    (back-pointers); a hypothesis's tokens are traced back once, at the end,
    so a search of T steps costs O(T) bookkeeping, not O(T^2) re-copied
    histories.
    """
    check_length_penalty(length_penalty)
    K = beam_size
    N = batch * K
    tokens = np.full(N, sos_id, dtype=np.intp)
    scores = np.full((batch, K), -np.inf)
    scores[:, 0] = 0.0                      # one live beam per sequence to start
    chosen, parents, attn = [], [], []     # per step: new rows' tokens and parents, weights
    best = np.full(batch, -np.inf)          # best finished (normalised) score
    best_at = [None] * batch                # its (step, row): the path to trace back
    rows = np.arange(batch)[:, None]
    for t in range(max_len):
        logits, state, weights = step(tokens, state)
        V = logits.shape[1]
        cand = (scores[:, :, None] + _log_softmax(logits).reshape(batch, K, V)).reshape(batch, -1)
        take = min(2 * K, cand.shape[1])
        top = np.argpartition(-cand, take - 1, axis=1)[:, :take]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(cand, top, 1), axis=1,
                                                 kind="stable"), 1)
        top_scores = np.take_along_axis(cand, top, 1)
        parent = top // V + rows * K            # rows of the state
        token = top % V
        attn.append(weights)

        # Finished: EOS among the first K candidates.
        ends = (token == eos_id) & (np.arange(take) < K) & np.isfinite(top_scores)
        normalised = np.where(ends, top_scores / float(t + 1) ** length_penalty, -np.inf)
        pick = normalised.argmax(axis=1)
        better = normalised[np.arange(batch), pick] > best
        for b in np.flatnonzero(better):
            best[b] = normalised[b, pick[b]]
            best_at[b] = (t, parent[b, pick[b]])   # EOS excluded: the path up to step t

        # Live on: the best K candidates that do not end in EOS.
        order = np.argsort(token == eos_id, axis=1, kind="stable")[:, :K]
        live_parent = np.take_along_axis(parent, order, 1).reshape(-1)
        tokens = np.take_along_axis(token, order, 1).reshape(-1)
        scores = np.take_along_axis(top_scores, order, 1)
        chosen.append(tokens)
        parents.append(live_parent)
        state = select(state, live_parent)
        bound = scores.max(axis=1) / float(max_len) ** length_penalty
        if np.all(best >= bound):
            break
    results = [_trace(*(best_at[b] if best_at[b] is not None else   # else the best live beam
                        (len(chosen), b * K + int(scores[b].argmax()))), chosen, parents, attn)
               for b in range(batch)]
    return [r[0] for r in results], [r[1] for r in results]


def _trace(steps, row, chosen, parents, attn):
    """The tokens chosen over the first ``steps`` steps on the path of
    ``row`` (a row of the state at step ``steps``), and the attention rows
    of those steps (None without attention)."""
    tokens, weights = [], []
    for s in range(steps - 1, -1, -1):
        tokens.append(int(chosen[s][row]))
        row = parents[s][row]               # the row at step s that chose it
        if attn[s] is not None:
            weights.append(attn[s][row])
    tokens.reverse()
    if attn[0] is None:
        return tokens, None
    weights.reverse()
    return tokens, np.array(weights) if weights else np.empty((0, attn[0].shape[1]), attn[0].dtype)
