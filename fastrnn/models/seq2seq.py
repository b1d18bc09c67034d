"""``fr.Seq2Seq``: an encoder-decoder RNN with optional attention (many-to-many,
unaligned: translation).

The encoder reads the source; its final states, through a bridge,
initialise the decoder, which starts from SOS and predicts the target then
EOS.  Training feeds the decoder the true previous token (teacher forcing);
decoding feeds back its own (greedy or beam search).
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .. import _workspace as ws
from ..functional import tanh, tanh_train
from .._validation import as_lengths, check_bools, check_bytes, make_rng, positive_int
from ..layers.attention import AdditiveAttention, DotAttention, GeneralAttention
from ..layers.embedding import Embedding, as_ids
from ..layers.linear import Linear
from ._base import (CELLS, IGNORE, ComposedModel, InvalidConfig, check_distinct_ids, check_id,
                    child_seeds, config_count, output_backprop, step_loss)
from ._data import Dataset, length_batches, pad_time_major, token_sequences, valid_mask
from ._decoding import beam_search, check_length_penalty, greedy

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, Seed, Sequences

ATTENTIONS = {None: None, "dot": DotAttention, "general": GeneralAttention,
              "additive": AdditiveAttention}


def _batch_first(x):
    return np.ascontiguousarray(x.transpose(1, 0, 2))


class Seq2Seq(ComposedModel):
    """Encoder-decoder with teacher forcing, attention, greedy and beam decoding.

    Parameters
    ----------
    src_vocab_size, tgt_vocab_size : int
    embed_size, hidden_size : int
    cell : {"lstm", "gru", "rnn"}
    num_layers : int
    bidirectional_encoder : bool
    attention : {None, "dot", "general", "additive"}
    sos_id, eos_id, pad_id : int
        Target start / end tokens (added by the model: sequences are given
        without them) and the padding id of both vocabularies.
    dtype : {"float32", "float64"}
    seed : None, int or numpy Generator

    Notes
    -----
    The architecture:

    * Embeddings of ``embed_size`` for source and target (``pad_id`` rows
      stay zero); an encoder ``cell`` of ``num_layers`` layers with
      ``hidden_size`` units per direction, bidirectional on request.
    * The decoder has ``D * hidden_size`` units (D = 2 with a bidirectional
      encoder), so its states live in the encoder outputs' space (which dot
      attention needs).  **Bridge**: with a unidirectional encoder its final
      states initialise the decoder as they are; with a bidirectional one,
      each layer's final ``[forward; backward]`` states are *concatenated
      and projected*, ``tanh(Linear(.))`` (for LSTM, ``h`` and ``c`` each
      through its own projection).
    * ``attention=None``: logits ``= Linear(decoder output)``.
    * ``"dot"`` / ``"general"`` (**Luong**, attention after the decoder
      RNN): the decoder output ``s_t`` queries the encoder outputs, and
      ``logits = Linear(tanh(Linear([context_t; s_t])))``.  With teacher
      forcing 1.0 the whole target runs through the decoder in one fused
      call and the attention over all steps is one batched product (no
      input feeding).
    * ``"additive"`` (**Bahdanau**, attention before the decoder RNN): the
      previous decoder state queries the encoder outputs, and the context
      joins the embedded previous token as the decoder's input; the head is
      Luong's.  It steps the decoder one token at a time, as does any model
      trained with ``teacher_forcing < 1`` (scheduled sampling: each step
      feeds the model's own previous prediction with probability
      ``1 - teacher_forcing``).
    * Source padding is masked in the attention; target padding in the loss.

    Examples
    --------
    >>> import fastrnn as fr
    >>> src, tgt = fr.datasets.dates(300, seed=0)          # "24 January 2035" -> "2035-01-24"
    >>> src_tok, tgt_tok = fr.datasets.char_tokenizer(src), fr.datasets.char_tokenizer(tgt)
    >>> src_ids = [src_tok.encode(s) for s in src]
    >>> tgt_ids = [tgt_tok.encode(t) for t in tgt]
    >>> model = fr.Seq2Seq(len(src_tok), len(tgt_tok), 16, 32, bidirectional_encoder=True,
    ...                    attention="dot", seed=0)
    >>> _ = model.fit(src_ids, tgt_ids, epochs=1, validation=0.1, progress=False)
    >>> outputs = model.translate(src_ids[:2], beam_size=4)     # token ids
    >>> len(outputs), type(tgt_tok.decode(outputs[0])).__name__
    (2, 'str')
    """

    _config_keys = ("src_vocab_size", "tgt_vocab_size", "embed_size", "hidden_size", "cell",
                    "num_layers", "bidirectional_encoder", "attention", "sos_id", "eos_id",
                    "pad_id", "dtype")
    _recurrent_children = ("encoder", "decoder")

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int,
                 hidden_size: int, cell: str = "lstm", num_layers: int = 1,
                 bidirectional_encoder: bool = False, attention: str | None = None,
                 sos_id: int = 1, eos_id: int = 2, pad_id: int = 0,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(dtype)
        self.src_vocab_size = positive_int(src_vocab_size, "src_vocab_size")
        self.tgt_vocab_size = positive_int(tgt_vocab_size, "tgt_vocab_size")
        self.embed_size = positive_int(embed_size, "embed_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.num_layers = positive_int(num_layers, "num_layers")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {list(ATTENTIONS)}, got {attention!r}")
        check_bools(bidirectional_encoder=bidirectional_encoder)
        self.sos_id, self.eos_id, self.pad_id = (
            check_id(value, name, self.tgt_vocab_size, optional=False)
            for name, value in (("sos_id", sos_id), ("eos_id", eos_id), ("pad_id", pad_id)))
        check_distinct_ids(sos_id=self.sos_id, eos_id=self.eos_id, pad_id=self.pad_id)
        self.cell, self.bidirectional_encoder, self.attention = cell, bidirectional_encoder, attention
        self.bahdanau = attention == "additive"

        seeds = iter(child_seeds(seed, 10))
        self.decoder_size = (2 if bidirectional_encoder else 1) * self.hidden_size
        children = self._children(self.get_config())

        def add(name, **extra):
            return self._add_child(children, name, dtype=dtype, **extra)

        src_pad = self.pad_id if self.pad_id < self.src_vocab_size else None
        self.src_embed = add("src_embed", padding_idx=src_pad, seed=next(seeds))
        self.tgt_embed = add("tgt_embed", padding_idx=self.pad_id, seed=next(seeds))
        self.encoder = add("encoder", seed=next(seeds))
        self.bridges = [add(name, seed=next(seeds)) for name, _, _ in children
                        if name.startswith("bridge_")]
        self.decoder = add("decoder", seed=next(seeds))
        self.attn = None
        if attention is not None:
            # (dot attention has no parameters, hence no seed)
            self.attn = add("attn") if attention == "dot" else add("attn", seed=next(seeds))
            self.combine = add("combine", seed=next(seeds))
        self.out = add("out", seed=next(seeds))
        self._teacher_forcing = 1.0
        self._sampling_rng = make_rng(next(seeds))

    @classmethod
    def _children(cls, config):
        """The embeddings, the encoder, the bridges of a bidirectional
        encoder's final states (h, and c for LSTM), the decoder, the
        attention and its combining layer, the output layer."""
        E, H = config_count(config, "embed_size"), config_count(config, "hidden_size")
        L, V = config_count(config, "num_layers"), config_count(config, "tgt_vocab_size")
        layer, bidirectional = CELLS.get(config.get("cell")), config.get("bidirectional_encoder")
        attention = config.get("attention")
        if layer is None or not isinstance(bidirectional, bool) or attention not in ATTENTIONS:
            raise InvalidConfig("cell, bidirectional_encoder or attention")
        Hd = H * (2 if bidirectional else 1)
        children = [
            ("src_embed", Embedding, dict(num_embeddings=config_count(config, "src_vocab_size"),
                                          embedding_dim=E)),
            ("tgt_embed", Embedding, dict(num_embeddings=V, embedding_dim=E)),
            ("encoder", layer, dict(input_size=E, hidden_size=H, num_layers=L,
                                    bidirectional=bidirectional))]
        if bidirectional:
            children += [(f"bridge_{part}", Linear, dict(in_features=Hd, out_features=Hd))
                         for part in (("h", "c") if config.get("cell") == "lstm" else ("h",))]
        # Bahdanau (additive) attention feeds the context into the decoder's input.
        children.append(("decoder", layer, dict(
            input_size=E + (Hd if attention == "additive" else 0), hidden_size=Hd,
            num_layers=L)))
        if attention is not None:
            sizes = {"dot": {}, "general": dict(query_size=Hd, key_size=Hd),
                     "additive": dict(query_size=Hd, key_size=Hd, attn_size=Hd)}[attention]
            children += [("attn", ATTENTIONS[attention], sizes),
                         ("combine", Linear, dict(in_features=2 * Hd, out_features=Hd))]
        children.append(("out", Linear, dict(in_features=Hd, out_features=V)))
        return children

    # ------------------------------------------------------------- encoder
    def _encode(self, src, src_len, train, time_major=False):
        """Encoder pass -> memory dict (keys/values batch-first -- time-major
        with ``time_major``, for the fused decoder --, mask, lengths,
        projected keys, initial decoder state) and, in training, its backprop
        taking ``(dkeys_total, dproj, dinit)`` in the memory's layout
        (``dproj`` None: already in ``dkeys``)."""
        if not train:
            out, state = self.encoder(self.src_embed(src), None, src_len)
            keys = _batch_first(out)
            memory = {"keys": keys, "mask": valid_mask(src_len, len(src)).T,
                      "init": self._bridge(state, False)}
            if self.attn is not None:
                memory["proj"] = self.attn.project_keys(keys)
            return memory
        (out, state), enc_bp = self.encoder.forward_train_embedded(self.src_embed, src, None,
                                                                   src_len)
        keys = out if time_major else _batch_first(out)
        init, bridge_bp = self._bridge(state, True)
        memory = {"keys": keys, "mask": valid_mask(src_len, len(src)).T, "init": init,
                  "lengths": src_len}
        proj_bp = None
        if self.attn is not None:
            memory["proj"], proj_bp = self.attn.project_keys_train(keys)

        def backprop(dkeys, dproj, dinit):
            if proj_bp is not None and dproj is not None:
                dkeys = dkeys + proj_bp(dproj)
            enc_bp(dkeys if time_major else _batch_first(dkeys), bridge_bp(dinit))

        return memory, backprop

    def _bridge(self, state, train):
        """Encoder final states -> decoder initial states (see the class doc)."""
        if not self.bridges:
            return (state, lambda d: d) if train else state
        parts = state if isinstance(state, tuple) else (state,)
        L, H = self.num_layers, self.hidden_size
        new, bps = [], []
        for part, bridge in zip(parts, self.bridges):
            B = part.shape[1]
            cat = part.reshape(L, 2, B, H).transpose(0, 2, 1, 3).reshape(L, B, 2 * H)
            if train:
                a, lin_bp = bridge.forward_train(cat)
                z, tanh_bp = tanh_train(a)
                bps.append((lin_bp, tanh_bp, B))
            else:
                z = tanh(bridge(cat))
            new.append(np.ascontiguousarray(z))
        out = tuple(new) if isinstance(state, tuple) else new[0]
        if not train:
            return out

        def backprop(dnew):
            dparts = []
            for d, (lin_bp, tanh_bp, B) in zip(dnew if isinstance(dnew, tuple) else (dnew,), bps):
                dcat = lin_bp(tanh_bp(d))
                dparts.append(dcat.reshape(L, B, 2, H).transpose(0, 2, 1, 3).reshape(2 * L, B, H))
            return tuple(dparts) if isinstance(state, tuple) else dparts[0]

        return out, backprop

    # ------------------------------------------------------------- decoder
    def _top(self, state):
        """The top layer's hidden state ``(B, Hd)`` (Bahdanau's query)."""
        return (state[0] if isinstance(state, tuple) else state)[-1]

    def _head(self, s, ctx, train):
        """Logits from decoder outputs ``s`` (and attention contexts)."""
        if self.attn is None:
            return self.out.forward_train(s) if train else self.out(s)
        cat = np.concatenate([ctx, s], axis=-1)
        if not train:
            return self.out(tanh(self.combine(cat)))
        logits, cat_bp = self._attentional_head(cat)
        Hd = self.decoder_size

        def backprop(dlogits):
            dcat = cat_bp(dlogits)
            return dcat[..., Hd:], dcat[..., :Hd]     # ds, dctx

        return logits, backprop

    def _attentional_head(self, cat):
        """Training logits from ``[context; s]``; the backprop returns dcat."""
        a, comb_bp = self.combine.forward_train(cat)
        a, tanh_bp = tanh_train(a)
        logits, out_bp = self.out.forward_train(a)
        return logits, lambda dlogits: comb_bp(tanh_bp(out_bp(dlogits)))

    def _step(self, memory, tokens, state):
        """One inference step: ``(logits (N, V), state, weights)``."""
        emb = self.tgt_embed(tokens)
        ctx = weights = None
        if self.bahdanau:
            ctx, weights = self.attn.attend(self._top(state), memory["proj"], memory["keys"],
                                            memory["mask"])
            emb = np.concatenate([emb, ctx], axis=1)
        out, state = self.decoder(emb[None], state)
        s = out[0]
        if self.attn is not None and not self.bahdanau:
            ctx, weights = self.attn.attend(s, memory["proj"], memory["keys"], memory["mask"])
        return self._head(s, ctx, False), state, weights

    def _decode_fused(self, memory, tgt_in, tgt_len):
        """Teacher-forced Luong decoder over the whole target in one call,
        time-major throughout (``memory`` from ``_encode(time_major=True)``):
        logits ``(Td, B, V)``.  The attention of every step is one fused
        kernel call writing the context straight into the ``[context; s]``
        buffer of the head; no batch-first copies."""
        (s, _), dec_bp = self.decoder.forward_train_embedded(self.tgt_embed, tgt_in,   # (Td, B, Hd)
                                                             memory["init"], tgt_len)
        if self.attn is None:
            logits, out_bp = self.out.forward_train(s)
        else:
            Hd = self.decoder_size
            cat = np.empty(s.shape[:2] + (2 * Hd,), s.dtype)
            cat[..., Hd:] = s
            _, att_bp = self.attn.attend_time_major_train(
                s, memory["proj"], memory["keys"], memory["lengths"], out=cat[..., :Hd])
            logits, cat_bp = self._attentional_head(cat)

        def backprop(dlogits):
            keys = memory["keys"]
            # Pooled (the caller gives it back once the encoder has read it):
            # a fresh array this size would page-fault on every batch.
            dkeys, dproj = ws.zeros(keys.shape, keys.dtype), None
            if self.attn is None:
                ds = out_bp(dlogits)
            else:
                dcat = cat_bp(dlogits)
                ds = np.ascontiguousarray(dcat[..., Hd:])
                # Dot attention's proj is the keys: its gradient adds into dkeys.
                shared = memory["proj"] is keys
                dproj = None if shared else np.zeros_like(memory["proj"])
                att_bp(dcat[..., :Hd], ds, dkeys if shared else dproj, dkeys)
            return dkeys, dproj, dec_bp(ds, None)

        return logits, backprop

    def _decode_steps(self, memory, tgt_in, tgt_len):
        """The decoder one token at a time (Bahdanau, or scheduled sampling)."""
        Td, B = tgt_in.shape
        state, feed = memory["init"], tgt_in[0]
        sample = self._teacher_forcing < 1.0
        steps, logits_all = [], []
        for t in range(Td):
            x, embed_bp = self.tgt_embed.forward_train(feed)
            att_bp = ctx = None
            if self.bahdanau:
                (ctx, _), att_bp = self.attn.attend_train(self._top(state), memory["proj"],
                                                          memory["keys"], memory["mask"])
                x = np.concatenate([x, ctx], axis=1)
            (out, state), dec_bp = self.decoder.forward_train(x[None], state)
            s = out[0]
            if self.attn is not None and not self.bahdanau:
                (ctx, _), att_bp = self.attn.attend_train(s, memory["proj"], memory["keys"],
                                                          memory["mask"])
            logits, head_bp = self._head(s, ctx, True)
            logits_all.append(logits)
            steps.append((embed_bp, att_bp, dec_bp, head_bp))
            if t + 1 < Td:
                feed = tgt_in[t + 1]
                if sample:  # scheduled sampling: the model's own guess on some rows
                    own = self._sampling_rng.random(B) >= self._teacher_forcing
                    feed = np.where(own, logits.argmax(axis=1), feed)
        E = self.embed_size

        def backprop(dlogits):                                       # (B, Td, V)
            dkeys = np.zeros_like(memory["keys"])
            dproj = 0
            dstate = None
            for t in reversed(range(Td)):
                embed_bp, att_bp, dec_bp, head_bp = steps[t]
                if self.attn is None:
                    ds = head_bp(dlogits[:, t])
                else:
                    ds, dctx = head_bp(dlogits[:, t])
                    if not self.bahdanau:
                        dq, dp, dv = att_bp(dctx)
                        ds, dproj, dkeys = ds + dq, dproj + dp, dkeys + dv
                dx, dstate = dec_bp(ds[None], dstate)
                dx = dx[0]
                if self.bahdanau:
                    dq, dp, dv = att_bp(dx[:, E:] + dctx)
                    dproj, dkeys = dproj + dp, dkeys + dv
                    top = dstate[0] if isinstance(dstate, tuple) else dstate
                    top[-1] += dq                     # the query was the previous top state
                    dx = dx[:, :E]
                embed_bp(dx)
            return dkeys, (None if self.attn is None else dproj), dstate

        return np.stack(logits_all, axis=1), backprop

    # --------------------------------------------------------------- hooks
    def _dataset(self, src, tgt, where=""):
        sources = token_sequences(src, self.src_vocab_size, f"{where}src_seqs", min_length=1)
        if tgt is None:
            raise TypeError(f"{where}tgt_seqs is required: one target token list per source")
        targets = token_sequences(tgt, self.tgt_vocab_size, f"{where}tgt_seqs", min_length=0,
                                  what="target token ids")
        if len(targets) != len(sources):
            raise ValueError(f"{where}tgt_seqs must hold one sequence per source "
                             f"({len(sources)}), got {len(targets)}")
        return Dataset(sources, targets)

    def _collate(self, data, index):
        src, src_len = pad_time_major(data.inputs, index, self.pad_id, np.intp)
        batch = {"src": src, "src_len": src_len}
        if data.targets is not None:
            # Decoder input SOS + target, and target + EOS, both one step longer.
            tgt, n = pad_time_major(data.targets, index, self.pad_id, np.intp)
            T, B = tgt.shape
            tin = np.empty((T + 1, B), np.intp)
            tin[0], tin[1:] = self.sos_id, tgt
            tout = np.full((T + 1, B), IGNORE, np.intp)
            tout[:T][valid_mask(n, T)] = tgt[valid_mask(n, T)]
            tout[n, np.arange(B)] = self.eos_id
            batch.update(tgt_in=tin, tgt_len=n + 1, targets=tout)
        return batch

    def _forward(self, batch, train):
        """Teacher-forced logits ``(Td, B, V)``; training adds the backprop."""
        if not train:
            memory = self._encode(batch["src"], batch["src_len"], False)
            return self._teacher_forced_logits(memory, batch)
        stepwise = self.bahdanau or self._teacher_forcing < 1.0
        memory, encode_bp = self._encode(batch["src"], batch["src_len"], True,
                                         time_major=not stepwise)
        if stepwise:   # batch-first logits (B, Td, V)
            logits, decode_bp = self._decode_steps(memory, batch["tgt_in"], batch["tgt_len"])
            logits = _batch_first(logits)
        else:
            logits, decode_bp = self._decode_fused(memory, batch["tgt_in"], batch["tgt_len"])
        padded = ~valid_mask(batch["tgt_len"], batch["tgt_in"].shape[0])      # (Td, B)

        def backprop(dlogits):
            d = dlogits
            if padded.any() and d[padded].any():  # padded steps must not teach the head
                d = d.copy()
                d[padded] = 0
            dkeys, dproj, dinit = decode_bp(_batch_first(d) if stepwise else d)
            encode_bp(dkeys, dproj, dinit)
            ws.release(dkeys)

        return logits, backprop

    def _teacher_forced_logits(self, memory, batch):
        """Inference twin of the fused decoder (evaluation loss)."""
        if self.bahdanau:
            state, out = memory["init"], []
            for tokens in batch["tgt_in"]:
                logits, state, _ = self._step(memory, tokens, state)
                out.append(logits)
            return np.stack(out)
        dec, _ = self.decoder(self.tgt_embed(batch["tgt_in"]), memory["init"], batch["tgt_len"])
        s = _batch_first(dec)
        ctx = None
        if self.attn is not None:
            ctx, _ = self.attn.attend(s, memory["proj"], memory["keys"], memory["mask"])
        return _batch_first(self._head(s, ctx, False))

    def _loss(self, logits, batch):
        return step_loss(logits, batch["targets"])

    # -------------------------------------------------------- module protocol
    def _user_batch(self, src, tgt, src_lengths, tgt_lengths):
        """A padded time-major batch given as arrays (no SOS / EOS added:
        ``tgt`` is the decoder input, starting with SOS)."""
        src = as_ids(src, self.src_vocab_size, "src")
        tgt = as_ids(tgt, self.tgt_vocab_size, "tgt")
        for name, arr in (("src", src), ("tgt", tgt)):
            if arr.ndim != 2 or 0 in arr.shape:
                raise ValueError(f"{name} must be a non-empty (T, B) id array, got {arr.shape}")
        if src.shape[1] != tgt.shape[1]:
            raise ValueError(f"src and tgt must have the same batch size, got {src.shape[1]} "
                             f"and {tgt.shape[1]}")
        lens = []
        for name, arr, given in (("src_lengths", src, src_lengths),
                                 ("tgt_lengths", tgt, tgt_lengths)):
            n = np.full(arr.shape[1], arr.shape[0], np.intp) if given is None else \
                as_lengths(given, arr.shape[1], arr.shape[0])
            if n.min() < 1:
                raise ValueError(f"{name} must be >= 1, got min {n.min()}")
            lens.append(n)
        return {"src": src, "src_len": lens[0], "tgt_in": tgt, "tgt_len": lens[1]}

    def __call__(self, src: ArrayLike, tgt: ArrayLike, src_lengths: ArrayLike | None = None,
                 tgt_lengths: ArrayLike | None = None) -> np.ndarray:
        """Teacher-forced logits ``(Td, B, tgt_vocab_size)`` of a padded
        time-major batch: ``src`` (Ts, B) ids, ``tgt`` (Td, B) the decoder
        inputs (SOS first)."""
        return self._forward(self._user_batch(src, tgt, src_lengths, tgt_lengths), False)

    def forward_train(self, src: ArrayLike, tgt: ArrayLike, src_lengths: ArrayLike | None = None,
                      tgt_lengths: ArrayLike | None = None
                      ) -> tuple[np.ndarray, Callable[[ArrayLike], None]]:
        """``(logits, backprop)`` as :meth:`__call__`; ``backprop(dlogits)``
        accumulates every parameter's gradient and returns None."""
        # Owned copies: the backprop reads the ids and lengths again, and a
        # caller reusing its arrays in between must not change its gradient.
        batch = {k: np.array(v) for k, v in
                 self._user_batch(src, tgt, src_lengths, tgt_lengths).items()}
        logits, backprop = self._forward(batch, True)
        return logits, output_backprop(backprop, logits, "dlogits", self.dtype)

    # ------------------------------------------------------------ training
    def fit(self, src_seqs: Sequences, tgt_seqs: Sequences, epochs: int = 10,
            batch_size: int = 64, lr: float = 1e-3, teacher_forcing: float = 1.0,
            clip: float | None = 5.0, validation: tuple[Sequences, Sequences] | float | None = None,
            progress: bool = True, **kwargs: Any) -> dict[str, list[float]]:
        """Train on pairs of token lists (no SOS / EOS: the model adds them).

        ``teacher_forcing`` is the probability of feeding the true previous
        token (1.0: always, and the Luong decoder runs fused); other keywords
        (``optimizer``, ``early_stopping``, ``shuffle``, ``seed``) and the
        returned history as :meth:`SequenceClassifier.fit`; the metrics are
        the per-token loss and accuracy under teacher forcing.
        """
        if isinstance(teacher_forcing, bool) or not isinstance(teacher_forcing, numbers.Real) \
                or not 0.0 <= teacher_forcing <= 1.0:
            raise ValueError(f"teacher_forcing must be a float in [0, 1], got {teacher_forcing!r}")
        self._teacher_forcing = float(teacher_forcing)
        try:
            return super().fit(src_seqs, tgt_seqs, epochs=epochs, batch_size=batch_size, lr=lr,
                               clip=clip, validation=validation, progress=progress, **kwargs)
        finally:
            self._teacher_forcing = 1.0

    # ------------------------------------------------------------ decoding
    def translate(self, src_seqs: Sequences, max_len: int = 50, beam_size: int = 1,
                  return_attention: bool = False, length_penalty: float = 1.0,
                  batch_size: int = 256
                  ) -> list[list[int]] | tuple[list[list[int]], list[np.ndarray]]:
        """Decode each source: greedy (``beam_size=1``) or beam search.

        Returns
        -------
        list of list of int
            The output tokens of each source, SOS and EOS stripped.
        list of ndarray, only with ``return_attention=True``
            Per source, the attention weights ``(len(output), len(source))``
            of each output token (requires an attention model).

        Raises
        ------
        ValueError
            ``max_len`` / ``beam_size`` whose search would not fit in this
            machine's memory (refused before decoding).
        """
        max_len, beam_size = positive_int(max_len, "max_len"), positive_int(beam_size, "beam_size")
        check_bools(return_attention=return_attention)
        check_length_penalty(length_penalty)
        if return_attention and self.attn is None:
            raise ValueError("return_attention=True needs a model with attention")
        batch_size = positive_int(batch_size, "batch_size")
        sources = token_sequences(src_seqs, self.src_vocab_size, "src_seqs", min_length=1)
        data = Dataset(sources)
        self._check_decoding_bytes(len(data), int(data.lengths.max()), batch_size, beam_size,
                                   max_len, return_attention)
        outs, attns = [None] * len(data), [None] * len(data)
        for index in length_batches(data.lengths, batch_size):
            batch = self._collate(data, index)
            memory = self._encode(batch["src"], batch["src_len"], False)
            tokens, weights = self._search(memory, len(index), beam_size, max_len, length_penalty)
            for b, i in enumerate(index):
                outs[i] = tokens[b]
                if weights[b] is not None:
                    attns[i] = weights[b][:, :batch["src_len"][b]]
        return (outs, attns) if return_attention else outs

    predict = translate

    def _check_decoding_bytes(self, n, Ts, batch_size, beam_size, max_len, return_attention):
        """Refuse (``ValueError``) a ``max_len`` / ``beam_size`` whose search
        cannot fit in memory, before decoding anything: per batch, every
        beam's tokens and attention rows over ``max_len`` steps, the memory
        repeated per beam and a step's (N, V) float64 scores; over all
        sources, the outputs (and attention) returned."""
        N = min(batch_size, n) * beam_size
        item = self.dtype.itemsize
        attn_row = Ts * item if self.attn is not None else 0
        need = N * (max_len * (8 + attn_row) + 3 * 8 * self.tgt_vocab_size
                    + 2 * Ts * self.decoder_size * item)
        need += n * max_len * (8 + (attn_row if return_attention else 0))
        check_bytes(need, f"max_len={max_len}, beam_size={beam_size} (batches of "
                          f"{min(batch_size, n)} sources of up to {Ts} tokens)", ValueError)

    def _search(self, memory, B, beam_size, max_len, length_penalty):
        if beam_size > 1:  # every source's memory repeated for its beams
            rows = np.repeat(np.arange(B), beam_size)
            memory = {k: (select_rows(v, rows) if k == "init" else v[rows])
                      for k, v in memory.items()}

        def step(tokens, state):
            return self._step(memory, tokens, state)

        if beam_size == 1:
            return greedy(step, memory["init"], B, self.sos_id, self.eos_id, max_len)
        return beam_search(step, select_rows, memory["init"], B, beam_size, self.sos_id,
                           self.eos_id, max_len, length_penalty)


def select_rows(state, rows):
    """Reorder a recurrent state's batch rows (axis 1; LSTM's ``(h, c)`` both)."""
    if isinstance(state, tuple):
        return tuple(np.ascontiguousarray(s[:, rows]) for s in state)
    return np.ascontiguousarray(state[:, rows])
