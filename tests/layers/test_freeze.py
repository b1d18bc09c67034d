"""fr.freeze: inference-only copies with their weights packed once, and
streams stepped one input at a time.  Every result is compared bit for bit
with the unfrozen module's: the frozen path runs the same kernels on the
same packed values."""

import numpy as np
import pytest

import fastrnn as fr

from helpers.running import docstring_examples, run_in_threads
from helpers.cases import CELLS, IDS, LAYERS
from fastrnn import functional as F



def _parts(state):
    return state if isinstance(state, tuple) else (state,)


def _assert_same(got, want):
    """Equal bit for bit, through nested tuples."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
    else:
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", ["plain", "stacked_bidirectional", "batch_first_sum"])
def test_a_frozen_layer_returns_what_the_layer_returns(rng, plan, cls, kw, dtype, shape):
    opts = {"plain": {}, "stacked_bidirectional": {"num_layers": 2, "bidirectional": True},
            "batch_first_sum": {"num_layers": 2, "bidirectional": True, "batch_first": True,
                                "merge_mode": "sum"}}[shape]
    layer = cls(6, 8, dtype=dtype, seed=3, **kw, **opts)
    frozen = fr.freeze(layer)
    B, T = 5, 7
    LD = layer.num_layers * layer.num_directions
    x = rng.standard_normal((B, T, 6) if layer.batch_first else (T, B, 6))
    h0 = rng.standard_normal((LD, B, 8))
    hx = (h0, rng.standard_normal((LD, B, 8))) if cls is fr.LSTM else h0
    lengths = np.array([7, 3, 1, 7, 5])
    _assert_same(frozen(x), layer(x))
    _assert_same(frozen(x, hx, lengths), layer(x, hx, lengths))
    if not layer.batch_first:
        _assert_same(frozen(x[:, 0]), layer(x[:, 0]))       # unbatched (T, I)


@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
def test_batch_one_on_every_split_matches(rng, plan, cls, kw):
    """B = 1 takes the hidden-unit split on several threads (which packs
    per thread); the frozen layer must agree there too."""
    layer = cls(64, 96, num_layers=2, seed=0, **kw)
    x = rng.standard_normal((9, 1, 64)).astype(np.float32)
    _assert_same(fr.freeze(layer)(x), layer(x))


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_the_unit_split_packed_once_per_team_size_matches(rng, monkeypatch, threads):
    """A frozen layer packs the hidden-unit split's operands once per team
    size (their layout depends on it): calls on teams of different sizes,
    in turn, each read their own (the two most recent sizes are kept: the
    sequence evicts and packs again) and agree with the live layer.  H = 100
    ends in a partial block of units."""
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(F, "UNIT_SPLIT_MIN_CALL_MACS", 0)
    layer = fr.LSTM(20, 100, num_layers=2, seed=0)
    frozen = fr.freeze(layer)
    x = rng.standard_normal((6, 1, 20)).astype(np.float32)
    before = fr.get_num_threads()
    try:
        for n in (threads, 1, 2, 4, threads):
            fr.set_num_threads(n)
            _assert_same(frozen(x), layer(x))
    finally:
        fr.set_num_threads(before)


def test_freezing_copies_the_weights(rng):
    layer = fr.LSTM(4, 6, seed=0)
    x = rng.standard_normal((5, 2, 4)).astype(np.float32)
    frozen = fr.freeze(layer)
    before = frozen(x)
    # Train the module and scribble over its arrays: the frozen copy stays.
    (out, _), backprop = layer.forward_train(x)
    backprop(np.ones_like(out))
    fr.optim.SGD(layer, lr=0.5).step()
    for p in layer.parameters().values():
        p *= -3
    assert not np.array_equal(layer(x)[0], before[0])
    _assert_same(frozen(x), before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls, kw", CELLS, ids=IDS)
def test_a_frozen_cell_returns_what_the_cell_returns(rng, plan, cls, kw, dtype):
    cell = cls(5, 7, dtype=dtype, seed=1, **kw)
    frozen = fr.freeze(cell)
    x = rng.standard_normal((3, 5))
    h = rng.standard_normal((3, 7))
    state = (h, rng.standard_normal((3, 7))) if cls is fr.LSTMCell else h
    _assert_same(frozen(x), cell(x))
    _assert_same(frozen(x, state), cell(x, state))
    unbatched = tuple(s[0] for s in state) if cls is fr.LSTMCell else h[0]
    _assert_same(frozen(x[0], unbatched), cell(x[0], unbatched))
    _assert_same(frozen(x[:0]), cell(x[:0]))                # no rows: empty, as the cell


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
@pytest.mark.parametrize("B", [1, 4])
def test_stepping_a_stream_gives_the_whole_sequence_call(rng, cls, kw, dtype, B):
    layer = cls(6, 10, num_layers=2, dtype=dtype, seed=2, **kw)
    frozen = fr.freeze(layer)
    x = rng.standard_normal((8, B, 6))
    h0 = rng.standard_normal((2, B, 10))
    hx = (h0, rng.standard_normal((2, B, 10))) if cls is fr.LSTM else h0
    out, state = frozen(x, hx)
    stream = frozen.stream(batch_size=B)
    stream.state = hx
    ys = [stream.step(x_t) for x_t in x]
    _assert_same(np.stack(ys), out)
    _assert_same(stream.state, state)
    assert ys[0] is not ys[1] and not np.shares_memory(ys[0], ys[1])   # safe to keep


@pytest.mark.parametrize("cls, kw", CELLS, ids=IDS)
def test_a_cell_stream_steps_like_the_cell(rng, cls, kw):
    cell = cls(4, 6, dtype="float64", seed=0, **kw)
    stream = fr.freeze(cell).stream(batch_size=2)
    state = None
    for x_t in rng.standard_normal((5, 2, 4)):
        state = cell(x_t, state)
        h = stream.step(x_t)
        _assert_same(h, _parts(state)[0])
    _assert_same(stream.state, state)


@pytest.mark.parametrize("B", [1, 9])
def test_large_steps_run_on_the_threads_with_the_same_bits(rng, monkeypatch, B):
    """A step above STEP_SPLIT_MIN_MACS with rows enough for the batch split
    goes through the threaded kernel (B = 9 on 2 threads); B = 1 stays on
    the calling thread."""
    monkeypatch.setattr(F, "STEP_SPLIT_MIN_MACS", 0)
    calls = []
    real = F._infer
    monkeypatch.setattr(F, "_infer", lambda *a, **k: calls.append(1) or real(*a, **k))
    before = fr.get_num_threads()
    fr.set_num_threads(2)
    try:
        for cls, kw in LAYERS:
            frozen = fr.freeze(cls(32, 48, num_layers=2, seed=0, **kw))
            x = rng.standard_normal((6, B, 32)).astype(np.float32)
            stream = frozen.stream(B)
            calls.clear()
            ys = np.stack([stream.step(x_t) for x_t in x])
            assert len(calls) == (12 if B == 9 and fr.functional.openmp_enabled() else 0)
            _assert_same(ys, frozen(x)[0])
    finally:
        fr.set_num_threads(before)


def test_reset_restarts_only_the_given_streams(rng):
    frozen = fr.freeze(fr.LSTM(3, 5, dtype="float64", seed=0))
    x = rng.standard_normal((10, 3, 3))
    stream = frozen.stream(3)
    ys = []
    for t, x_t in enumerate(x):
        if t == 4:
            stream.reset(rows=[1])
        if t == 6:
            stream.reset(rows=np.array([True, False, False]))
        ys.append(stream.step(x_t))
    ys = np.stack(ys)
    whole = frozen(x)[0]
    _assert_same(ys[:, 2], whole[:, 2])                       # never reset
    _assert_same(ys[4:, 1], frozen(x[4:])[0][:, 1])           # restarted at step 4
    _assert_same(ys[6:, 0], frozen(x[6:])[0][:, 0])           # restarted at step 6
    stream.reset()
    h, c = stream.state
    assert not h.any() and not c.any()


def test_the_state_is_read_and_set_as_copies(rng):
    stream = fr.freeze(fr.GRU(3, 4, num_layers=2, seed=0)).stream(2)
    stream.step(np.ones((2, 3), np.float32))
    state = stream.state
    state[...] = 7
    assert not (stream.state == 7).any()
    given = rng.standard_normal((2, 2, 4)).astype(np.float32)
    stream.state = given
    given[...] = 0
    assert stream.state.any()


def test_one_frozen_layer_serves_several_threads(rng):
    frozen = fr.freeze(fr.LSTM(16, 32, num_layers=2, seed=0))
    inputs = [rng.standard_normal((12, b, 16)).astype(np.float32) for b in (1, 2, 3, 5)]
    serial = [frozen(x) for x in inputs]
    streamed = [np.stack([s.step(x_t) for x_t in x])
                for x, s in ((x, frozen.stream(x.shape[1])) for x in inputs)]
    results = {}

    def work(i):
        for _ in range(20):
            _assert_same(frozen(inputs[i]), serial[i])
        stream = frozen.stream(inputs[i].shape[1])
        results[i] = np.stack([stream.step(x_t) for x_t in inputs[i]])

    run_in_threads(work, len(inputs))
    assert len(results) == len(inputs)
    for i, ys in results.items():
        _assert_same(ys, streamed[i])


def test_a_frozen_sequential_runs_its_frozen_children(rng):
    model = fr.Sequential(fr.Embedding(11, 6, seed=0), fr.GRU(6, 8, seed=1), fr.Dropout(0.5),
                          fr.Sequential(fr.LSTM(8, 8, seed=2), fr.Linear(8, 3, seed=3)))
    frozen = fr.freeze(model)
    ids = rng.integers(0, 11, (7, 4))
    _assert_same(frozen(ids), model(ids))
    assert frozen.module_type is fr.Sequential and len(frozen) == 4
    assert frozen[1].module_type is fr.GRU
    assert repr(frozen) == (
        "fr.freeze(Sequential(Embedding(num_embeddings=11, embedding_dim=6, padding_idx=None), "
        "GRU(6, 8), Dropout(p=0.5), Sequential(LSTM(8, 8), Linear(in_features=8, "
        "out_features=3, bias=True))))")
    assert repr(frozen) == f"fr.freeze({model!r})"


def test_frozen_linear_and_embedding_copy_their_weights(rng):
    lin = fr.Linear(4, 3, seed=0)
    frozen = fr.freeze(lin)
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    before = frozen(x)
    _assert_same(before, lin(x))
    lin.parameters()["weight"][...] = 0
    _assert_same(frozen(x), before)


def test_pack_direction_keeps_copies(rng):
    w_ih = rng.standard_normal((9, 3))
    w_hh = rng.standard_normal((9, 3))
    packed = F.pack_direction("gru", w_ih, w_hh)
    x = rng.standard_normal((2, 3))
    h = np.zeros((2, 3))
    out = np.empty((2, 3))
    F.step(packed, x, h, None, out, F.StepBuffers(packed, 2))
    w_ih[...] = 0
    h2 = np.zeros((2, 3))
    out2 = np.empty((2, 3))
    F.step(packed, x, h2, None, out2, F.StepBuffers(packed, 2))
    _assert_same(out2, out)
    want, _, _ = F.recurrent("gru", x[None], packed.weights[0], packed.weights[1])
    _assert_same(out, want[0])
    assert not packed.w_ih_t.flags.writeable and not packed.weights[0].flags.writeable


def test_the_docstring_examples_run():
    result = docstring_examples(fr.freeze, fr.layers.Stream)
    assert result.attempted >= 10 and result.failed == 0



def _ids(rng, n, vocab=20):
    return [rng.integers(1, vocab, rng.integers(2, 9)) for _ in range(n)]


def test_frozen_task_models_predict_what_the_models_predict(rng):
    X = _ids(rng, 12)
    clf = fr.SequenceClassifier(3, vocab_size=20, embed_size=8, hidden_size=16,
                                bidirectional=True, num_layers=2, seed=0)
    tagger = fr.SequenceTagger(4, vocab_size=20, embed_size=8, hidden_size=16, cell="gru",
                               seed=1)
    lm = fr.LanguageModel(20, embed_size=8, hidden_size=16, cell="rnn", seed=2)
    reg = fr.SequenceRegressor(input_size=3, output_size=2, hidden_size=8, seed=3)
    Xr = [rng.standard_normal((n, 3)) for n in (4, 6, 5, 2)]
    frozen = [fr.freeze(m) for m in (clf, tagger, lm, reg)]
    # Train the originals afterwards: the frozen copies keep the old weights.
    before = (clf.predict_proba(X), tagger.predict(X), lm.predict(X), reg.predict(Xr),
              clf.evaluate(X, np.zeros(12, int)), lm.generate(2, max_len=6, prompt=[3], seed=4))
    _assert_same(frozen[0].predict_proba(X), before[0])
    for a, b in zip(frozen[1].predict(X), before[1]):
        _assert_same(a, b)
    for a, b in zip(frozen[2].predict(X), before[2]):
        _assert_same(a, b)
    _assert_same(frozen[3].predict(Xr), before[3])
    assert frozen[0].evaluate(X, np.zeros(12, int)) == before[4]
    assert frozen[2].generate(2, max_len=6, prompt=[3], seed=4) == before[5]
    clf.fit(X, rng.integers(0, 3, 12), epochs=1, progress=False)
    _assert_same(frozen[0].predict_proba(X), before[0])
    assert frozen[0].num_classes == 3 and frozen[0].module_type is fr.SequenceClassifier
    with pytest.raises(AttributeError, match="a frozen SequenceClassifier has no attribute "
                                             "'fit' \\(it runs inference only\\)"):
        frozen[0].fit(X, np.zeros(12, int))


@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_a_frozen_seq2seq_translates_like_the_model(rng, attention):
    s2s = fr.Seq2Seq(20, 18, 8, 12, attention=attention, bidirectional_encoder=True, seed=0)
    frozen = fr.freeze(s2s)
    src = _ids(rng, 5)
    for beam in (1, 3):
        got = frozen.translate(src, max_len=7, beam_size=beam)
        want = s2s.translate(src, max_len=7, beam_size=beam)
        assert [list(map(int, g)) for g in got] == [list(map(int, w)) for w in want]


@pytest.mark.parametrize("batch_first", [False, True])
def test_batched_scoring_gives_the_one_call_results(rng, tmp_path, batch_first, capsys):
    layer = fr.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=batch_first, seed=0)
    frozen = fr.freeze(layer)
    B, T = 11, 7
    shape = (B, T, 4) if batch_first else (T, B, 4)
    x = np.lib.format.open_memmap(str(tmp_path / "x.npy"), "w+", np.float64, shape)
    x[...] = rng.standard_normal(shape)                         # float64 on disk: cast per slice
    lengths = rng.integers(1, T + 1, B)
    hx = (rng.standard_normal((4, B, 5)), rng.standard_normal((4, B, 5)))
    want = layer(np.asarray(x), hx, lengths)
    _assert_same(frozen.batched(x, hx, lengths, batch_size=3, progress=True), want)
    assert "11" in capsys.readouterr().err                      # the bar counted every row
    _assert_same(frozen.batched(x, batch_size=100), layer(np.asarray(x)))
    gru = fr.freeze(fr.GRU(4, 5, seed=1))
    empty = np.zeros((T, 0, 4), np.float32)                    # no rows: empty results
    _assert_same(gru.batched(empty), gru(empty))


def test_one_frozen_model_predicts_from_several_threads(rng):
    clf = fr.SequenceClassifier(3, vocab_size=20, embed_size=8, hidden_size=16,
                                bidirectional=True, seed=0)
    frozen = fr.freeze(clf)
    batches = [_ids(rng, n) for n in (3, 7, 12, 20)]
    serial = [frozen.predict_proba(X, batch_size=5) for X in batches]

    def work(i):
        for _ in range(10):
            _assert_same(frozen.predict_proba(batches[i], batch_size=5), serial[i])

    run_in_threads(work, len(batches))
