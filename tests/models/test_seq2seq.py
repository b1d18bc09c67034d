"""fr.Seq2Seq: gradient checks of the whole model (every attention, both
decoder paths, bidirectional bridge), padding never leaking, the stepwise
decoder equal to the fused one, greedy and beam search (beam 1 == greedy;
beam beating greedy on a constructed case), learning a reverse task,
attention matrices, save / load and bad input."""
import os

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.models._decoding import beam_search, greedy
from fastrnn.models.seq2seq import select_rows

from helpers.gradcheck import numeric_entry

SRC_LEN = np.array([4, 2, 3])
TGT_LEN = np.array([3, 4, 1])      # decoder inputs: SOS + target


def _batch(rng, src_vocab=9, tgt_vocab=8):
    src = rng.integers(3, src_vocab, size=(SRC_LEN.max(), 3))
    tgt = rng.integers(3, tgt_vocab, size=(TGT_LEN.max(), 3))
    tgt[0] = 1
    src[np.arange(len(src))[:, None] >= SRC_LEN] = 0
    tgt[np.arange(len(tgt))[:, None] >= TGT_LEN] = 0
    return src, tgt


def _weights(rng, shape):
    """Random loss weights, zero at padded target steps."""
    R = rng.standard_normal(shape)
    R[np.arange(shape[0])[:, None] >= TGT_LEN] = 0
    return R


CONFIGS = {
    "plain-lstm": dict(cell="lstm", attention=None),
    "dot-bi-lstm-2layers": dict(cell="lstm", attention="dot", bidirectional_encoder=True,
                                num_layers=2),
    "general-gru": dict(cell="gru", attention="general"),
    "additive-bi-gru": dict(cell="gru", attention="additive", bidirectional_encoder=True),
    "additive-rnn": dict(cell="rnn", attention="additive"),
}


def _model(name, dtype="float64", seed=0):
    return fr.Seq2Seq(9, 8, 4, 3, dtype=dtype, seed=seed, **CONFIGS[name])


@pytest.mark.parametrize("name, teacher_forcing",
                         [(name, 1.0) for name in sorted(CONFIGS)]
                         + [("general-gru", 0.0), ("additive-bi-gru", 0.0)])
def test_seq2seq_gradients_match_finite_differences(rng, name, teacher_forcing):
    """The loss w.r.t. every parameter; teacher_forcing=0 feeds the model's
    own argmax back (deterministic, and locally constant)."""
    model = _model(name)
    model._teacher_forcing = teacher_forcing
    src, tgt = _batch(rng)
    R = _weights(rng, model(src, tgt, SRC_LEN, TGT_LEN).shape)

    def loss():
        return float(np.sum(model.forward_train(src, tgt, SRC_LEN, TGT_LEN)[0] * R))

    model.zero_grad()
    logits, backprop = model.forward_train(src, tgt, SRC_LEN, TGT_LEN)
    assert backprop(R) is None
    grads = model.grads
    for pname, param in model.parameters().items():
        for flat in rng.choice(param.size, size=min(param.size, 4), replace=False):
            idx = np.unravel_index(flat, param.shape)
            if pname.endswith("embed.weight") and idx[0] == model.pad_id:
                continue  # the padding row is frozen (an own prediction may feed it)
            num = numeric_entry(loss, param, idx)
            assert abs(grads[pname][idx] - num) <= 1e-6 + 1e-5 * abs(num), (pname, idx)


@pytest.mark.parametrize("name", ["plain-lstm", "dot-bi-lstm-2layers", "general-gru"])
def test_stepwise_decoder_equals_the_fused_one(rng, name):
    """Luong models train fused under full teacher forcing; the cell-by-cell
    path (used for scheduled sampling) gives the same logits and gradients."""
    src, tgt = _batch(rng)
    model = _model(name)
    R = _weights(rng, model(src, tgt, SRC_LEN, TGT_LEN).shape)
    results = []
    for tf in (1.0, 1.0 - 1e-15):     # below 1: the stepwise path, sampling never fires
        model._teacher_forcing = tf
        model.zero_grad()
        logits, backprop = model.forward_train(src, tgt, SRC_LEN, TGT_LEN)
        backprop(R)
        results.append((logits, {k: g.copy() for k, g in model.grads.items()}))
    valid = np.arange(len(tgt))[:, None] < TGT_LEN
    np.testing.assert_allclose(results[0][0][valid], results[1][0][valid], rtol=1e-10, atol=1e-12)
    for k in results[0][1]:
        np.testing.assert_allclose(results[0][1][k], results[1][1][k], rtol=1e-9, atol=1e-12,
                                   err_msg=k)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_padding_never_leaks(rng, name):
    """A padded batch gives, per pair, the logits and summed gradients of the
    pair run alone."""
    model = _model(name)
    src, tgt = _batch(rng)
    R = _weights(rng, model(src, tgt, SRC_LEN, TGT_LEN).shape)

    def run(s, t, sl, tl, r):
        model.zero_grad()
        out, bp = model.forward_train(s, t, sl, tl)
        bp(r)
        return out, {k: g.copy() for k, g in model.grads.items()}

    out, grads = run(src, tgt, SRC_LEN, TGT_LEN, R)
    total = {k: np.zeros_like(g) for k, g in grads.items()}
    for b in range(3):
        ns, nt = SRC_LEN[b], TGT_LEN[b]
        o, g = run(src[:ns, b:b + 1], tgt[:nt, b:b + 1], None, None, R[:nt, b:b + 1])
        np.testing.assert_allclose(o, out[:nt, b:b + 1], rtol=1e-10, atol=1e-12)
        for k in total:
            total[k] += g[k]
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], rtol=1e-9, atol=1e-12, err_msg=k)


# ------------------------------------------------------------------ search
def _markov_step(table):
    """A toy decoder: the next-token log-probabilities depend on the last token only."""
    logp = np.log(np.asarray(table, dtype=np.float64) + 1e-300)

    def step(tokens, state):
        return logp[tokens], state, None

    return step


def test_beam_search_beats_greedy_on_a_constructed_case():
    # tokens: 0 pad, 1 sos, 2 eos, 3 "a", 4 "b"
    table = np.zeros((5, 5))
    table[1, 3], table[1, 4] = 0.6, 0.4            # from SOS: "a" is likelier ...
    table[3, 2], table[3, 3], table[3, 4] = 0.4, 0.3, 0.3   # ... but "a" ends weakly
    table[4, 2], table[4, 3] = 0.99, 0.01           # "b" ends almost surely
    table[0, 2] = table[2, 2] = 1.0
    step = _markov_step(table)
    state = np.zeros((1, 2, 1))
    g, _ = greedy(step, state, 2, 1, 2, 10)
    b, _ = beam_search(step, select_rows, np.zeros((1, 4, 1)), 2, 2, 1, 2, 10,
                       length_penalty=0.0)
    assert g == [[3], [3]] and b == [[4], [4]]
    assert np.log(0.4 * 0.99) > np.log(0.6 * 0.4)


def test_beam_size_one_is_greedy_on_the_toy_and_a_trained_model(rng):
    table = rng.random((6, 6)) ** 3
    table /= table.sum(axis=1, keepdims=True)
    step = _markov_step(table)
    g = greedy(step, np.zeros((1, 5, 1)), 5, 1, 2, 12)[0]
    assert beam_search(step, select_rows, np.zeros((1, 5, 1)), 5, 1, 1, 2, 12)[0] == g

    model, src = _trained_reverser()
    out, attn = model.translate(src[:40], return_attention=True)
    out1, attn1 = model.translate(src[:40], beam_size=1, return_attention=True)
    assert out == out1
    beam, battn = model.translate(src[:40], beam_size=3, return_attention=True)
    assert all(a.shape == (len(o), len(s)) for a, o, s in zip(battn, beam, src[:40]))


# ---------------------------------------------------------------- learning
_CACHE = {}


def _reverse_data(seed, n):
    rng = np.random.default_rng(seed)
    src = [rng.integers(3, 12, size=int(rng.integers(2, 8))).tolist() for _ in range(n)]
    return src, [s[::-1] for s in src]


def _trained_reverser():
    if "model" not in _CACHE:
        src, tgt = _reverse_data(0, 2000)
        model = fr.Seq2Seq(12, 12, 16, 32, bidirectional_encoder=True, attention="dot", seed=0)
        model.fit(src, tgt, epochs=4, batch_size=32, lr=1e-2, progress=False, seed=0)
        _CACHE["model"] = model
    return _CACHE["model"], _reverse_data(1, 200)[0]


def test_seq2seq_learns_to_reverse_and_its_attention_looks_back():
    model, src = _trained_reverser()
    out, attn = model.translate(src, return_attention=True)
    exact = np.mean([o == s[::-1] for o, s in zip(out, src)])
    assert exact > 0.85
    for a, o, s in zip(attn, out, src):
        assert a.shape == (len(o), len(s))
        np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-5)
    # reversing: output step i attends mostly to source step len - 1 - i
    hits = [np.mean(a.argmax(axis=1) == np.arange(len(s) - 1, len(s) - 1 - len(a), -1))
            for a, o, s in zip(attn, out, src) if len(o) == len(s)]
    assert np.mean(hits) > 0.8
    assert model.evaluate(*_reverse_data(2, 100))["accuracy"] > 0.9


@pytest.mark.parametrize("name", ["additive-bi-gru", "plain-lstm"])
def test_other_decoders_learn_and_scheduled_sampling_runs(name):
    src, tgt = _reverse_data(3, 1200)
    model = fr.Seq2Seq(12, 12, 16, 32, seed=0, **{**CONFIGS[name], "num_layers": 1})
    history = model.fit(src, tgt, epochs=3, batch_size=32, lr=1e-2, teacher_forcing=0.8,
                        progress=False, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    test_src, test_tgt = _reverse_data(4, 100)
    assert model.evaluate(test_src, test_tgt)["accuracy"] > 0.5


def test_save_load_round_trip(tmp_path, rng):
    model = _model("additive-bi-gru", dtype="float32", seed=5)
    path = os.path.join(tmp_path, "s2s.frnn")
    fr.save(model, path)
    loaded = fr.load(path)
    assert loaded.get_config() == model.get_config()
    src, tgt = _batch(rng)
    np.testing.assert_array_equal(loaded(src, tgt, SRC_LEN, TGT_LEN),
                                  model(src, tgt, SRC_LEN, TGT_LEN))
    assert loaded.translate([[3, 4, 5]], max_len=5) == model.translate([[3, 4, 5]], max_len=5)


def test_bad_input():
    with pytest.raises(ValueError, match="attention must be one of"):
        fr.Seq2Seq(5, 5, 4, 4, attention="luong")
    with pytest.raises(ValueError, match="must differ"):
        fr.Seq2Seq(5, 5, 4, 4, sos_id=1, eos_id=1)
    with pytest.raises(ValueError, match=r"eos_id must be an id in \[0, 5\)"):
        fr.Seq2Seq(5, 5, 4, 4, eos_id=7)
    model = fr.Seq2Seq(5, 5, 4, 4)
    with pytest.raises(ValueError, match=r"tgt_seqs must hold one sequence per source \(2\)"):
        model.fit([[3], [4]], [[3]], progress=False)
    with pytest.raises(ValueError, match=r"src_seqs\[0\] must have at least 1 token"):
        model.fit([[]], [[3]], progress=False)
    with pytest.raises(ValueError, match="teacher_forcing"):
        model.fit([[3]], [[3]], teacher_forcing=1.5, progress=False)
    with pytest.raises(ValueError, match="return_attention=True needs a model with attention"):
        model.translate([[3]], return_attention=True)
    with pytest.raises(ValueError, match="same batch size"):
        model(np.ones((2, 3), int), np.ones((2, 2), int))


# ------------------------------------------------------- load-time safety
SHAPE_CASES = [
    (fr.SequenceClassifier, dict(num_classes=3, vocab_size=11, embed_size=4, hidden_size=5,
                                 num_layers=2, bidirectional=True)),
    (fr.SequenceClassifier, dict(num_classes=2, input_size=3, hidden_size=4, cell="gru")),
    (fr.SequenceTagger, dict(num_tags=4, vocab_size=9, embed_size=3, hidden_size=4, cell="rnn")),
    (fr.SequenceRegressor, dict(input_size=2, output_size=3, horizon=4, hidden_size=5,
                                num_layers=2)),
    (fr.SequenceRegressor, dict(input_size=2, hidden_size=5, bidirectional=True)),
    (fr.LanguageModel, dict(vocab_size=7, embed_size=3, hidden_size=4, num_layers=2,
                            condition_size=5)),
    (fr.LanguageModel, dict(vocab_size=7, hidden_size=4, cell="gru", condition_size=2)),
] + [(fr.Seq2Seq, dict(src_vocab_size=9, tgt_vocab_size=8, embed_size=4, hidden_size=3,
                       **CONFIGS[name])) for name in sorted(CONFIGS)] + [
    (fr.Seq2Seq, dict(src_vocab_size=9, tgt_vocab_size=8, embed_size=4, hidden_size=3,
                      cell="lstm", bidirectional_encoder=True, attention="general",
                      num_layers=3)),
]


@pytest.mark.parametrize("cls, config", SHAPE_CASES)
def test_predicted_parameter_shapes_match_the_built_model(cls, config):
    predicted = fr.io.predict_param_shapes(cls, **config)
    built = {k: v.shape for k, v in cls(**config).parameters().items()}
    assert dict(predicted) == built


def test_a_forged_huge_model_config_is_refused_before_building(tmp_path):
    import json
    import time
    import zipfile

    path = os.path.join(tmp_path, "s2s.frnn")
    fr.save(fr.Seq2Seq(9, 8, 4, 3, attention="dot", seed=0), path)
    with zipfile.ZipFile(path) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()}
    header = json.loads(entries["header.json"])
    header["config"]["hidden_size"] = 10 ** 6         # 4e12 weights if it were built
    entries["header.json"] = json.dumps(header).encode()
    forged = os.path.join(tmp_path, "forged.frnn")
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    start = time.perf_counter()
    with pytest.raises(fr.FormatError, match="do not match what Seq2Seq builds"):
        fr.load(forged)
    assert time.perf_counter() - start < 2.0


def test_a_long_beam_search_traces_its_paths_back_once():
    """Back-pointers: a search of T steps keeps O(T) bookkeeping (it used to
    re-copy every hypothesis's token and attention history each step); the
    traced paths are those of greedy decoding at beam size 1."""
    V, Ts, T = 5, 8, 3000
    table = np.random.default_rng(0).standard_normal((V, V))
    table[:, 1] = -1e9                      # EOS (id 1) never wins: every search runs T steps

    def step(tokens, state):
        weights = np.abs(np.sin(state[:, None] * np.arange(1, Ts + 1))).astype(np.float32)
        return table[tokens] + 0.01 * np.cos(state)[:, None], state + tokens + 1, weights

    def select(state, rows):
        return state[rows]

    for K in (1, 3):
        tokens, weights = beam_search(step, select, np.zeros(2 * K), 2, K, 0, 1, T)
        assert [len(t) for t in tokens] == [T, T]
        assert [(w.shape, w.dtype) for w in weights] == [((T, Ts), np.float32)] * 2
    greedy_tokens, greedy_weights = greedy(step, np.zeros(2), 2, 0, 1, T)
    tokens, weights = beam_search(step, select, np.zeros(2), 2, 1, 0, 1, T)
    assert tokens == greedy_tokens
    for w, g in zip(weights, greedy_weights):
        np.testing.assert_array_equal(w, g)
