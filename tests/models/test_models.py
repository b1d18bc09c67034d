"""Task models (fr.SequenceClassifier, SequenceTagger, SequenceRegressor,
LanguageModel): gradient checks of the whole model (float64, ragged
batches), padding never leaking, each model learning a small generated task
in seconds, fit's machinery (validation, early stopping, history, progress,
seeds), generation, save / load and bad input."""
import os
import warnings

import numpy as np
import pytest

import fastrnn as fr

from helpers.gradcheck import numeric_entry

LENGTHS = np.array([5, 2, 4])          # ragged, longest not first


def _tokens(rng, vocab, lengths, pad=0):
    T = int(max(lengths))
    ids = rng.integers(1, vocab, size=(T, len(lengths)))
    ids[np.arange(T)[:, None] >= np.asarray(lengths)[None, :]] = pad
    return ids


def _features(rng, size, lengths):
    x = rng.standard_normal((int(max(lengths)), len(lengths), size))
    x[np.arange(len(x))[:, None] >= np.asarray(lengths)[None, :]] = 0
    return x


def _valid_weights(rng, shape, lengths, many_to_many):
    """Random loss weights; zero at padded steps of per-step outputs."""
    R = rng.standard_normal(shape)
    if many_to_many:
        R[np.arange(shape[0])[:, None] >= lengths[None, :]] = 0
    return R


# One small float64 model of every kind, its batch and whether its outputs
# are per step.  (name, factory(dtype, **kw), inputs(rng), conditions, per-step)
def _models():
    return {
        "classifier-last-bi": (lambda **kw: fr.SequenceClassifier(
            3, vocab_size=9, embed_size=4, hidden_size=5, bidirectional=True, num_layers=2, **kw),
            lambda rng: _tokens(rng, 9, LENGTHS), None, False),
        "classifier-mean-gru": (lambda **kw: fr.SequenceClassifier(
            3, input_size=3, hidden_size=5, cell="gru", pooling="mean", **kw),
            lambda rng: _features(rng, 3, LENGTHS), None, False),
        "classifier-max-rnn-bi": (lambda **kw: fr.SequenceClassifier(
            2, vocab_size=9, embed_size=4, hidden_size=5, cell="rnn", pooling="max",
            bidirectional=True, **kw),
            lambda rng: _tokens(rng, 9, LENGTHS), None, False),
        "tagger": (lambda **kw: fr.SequenceTagger(
            4, vocab_size=9, embed_size=4, hidden_size=5, **kw),
            lambda rng: _tokens(rng, 9, LENGTHS), None, True),
        "regressor": (lambda **kw: fr.SequenceRegressor(
            2, output_size=1, horizon=3, hidden_size=5, **kw),
            lambda rng: _features(rng, 2, LENGTHS), None, False),
        "lm-conditioned": (lambda **kw: fr.LanguageModel(
            9, embed_size=4, hidden_size=5, num_layers=2, condition_size=3, **kw),
            lambda rng: _tokens(rng, 9, LENGTHS), np.linspace(-1, 1, 9).reshape(3, 3), True),
        "lm-gru": (lambda **kw: fr.LanguageModel(9, embed_size=4, hidden_size=5, cell="gru", **kw),
                   lambda rng: _tokens(rng, 9, LENGTHS), None, True),
    }


MODELS = _models()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_gradients_match_finite_differences(rng, name):
    factory, make_inputs, cond, per_step = MODELS[name]
    model = factory(dtype="float64", seed=3)
    inputs = make_inputs(rng)
    out = model(inputs, LENGTHS, cond)
    R = _valid_weights(rng, out.shape, LENGTHS, per_step)

    def loss():
        return float(np.sum(model(inputs, LENGTHS, cond) * R))

    model.zero_grad()
    out_train, backprop = model.forward_train(inputs, LENGTHS, cond)
    np.testing.assert_allclose(out_train * (R != 0), out * (R != 0), rtol=1e-12, atol=1e-12)
    assert backprop(R) is None
    grads = model.grads
    for pname, param in model.parameters().items():
        picks = rng.choice(param.size, size=min(param.size, 6), replace=False)
        for flat in picks:
            idx = np.unravel_index(flat, param.shape)
            num = numeric_entry(loss, param, idx)
            assert abs(grads[pname][idx] - num) <= 1e-6 + 1e-5 * abs(num), (pname, idx)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padding_never_leaks(rng, name):
    """A padded batch gives, per sequence, the outputs and the summed
    gradients of each sequence run alone; garbage in the padding changes
    nothing."""
    factory, make_inputs, cond, per_step = MODELS[name]
    model = factory(dtype="float64", seed=4)
    inputs = make_inputs(rng)
    R = _valid_weights(rng, model(inputs, LENGTHS, cond).shape, LENGTHS, per_step)

    def run(x, lengths, c, r):
        model.zero_grad()
        out, bp = model.forward_train(x, lengths, c)
        bp(r)
        return out, {k: g.copy() for k, g in model.grads.items()}

    out, grads = run(inputs, LENGTHS, cond, R)
    total = {k: np.zeros_like(g) for k, g in grads.items()}
    for b, n in enumerate(LENGTHS):
        alone_x = inputs[:n, b:b + 1]
        alone_c = None if cond is None else cond[b:b + 1]
        alone_r = R[:n, b:b + 1] if per_step else R[b:b + 1]
        out_b, grads_b = run(alone_x, None, alone_c, alone_r)
        expect = out[:n, b:b + 1] if per_step else out[b:b + 1]
        np.testing.assert_allclose(out_b, expect, rtol=1e-10, atol=1e-12)
        for k in total:
            total[k] += grads_b[k]
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], rtol=1e-9, atol=1e-12, err_msg=k)

    garbage = inputs.copy()
    pad = np.arange(len(inputs))[:, None] >= LENGTHS[None, :]
    garbage[pad] = (rng.integers(1, 9, size=garbage[pad].shape) if garbage.dtype.kind == "i"
                    else 1e3)
    out_g, grads_g = run(garbage, LENGTHS, cond, R)
    valid = ~pad if per_step else np.ones(len(LENGTHS), bool)
    np.testing.assert_allclose(out_g[valid], out[valid], rtol=1e-12, atol=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads_g[k], grads[k], rtol=1e-10, atol=1e-12, err_msg=k)


# ------------------------------------------------------------ small tasks
def _order_task(rng, n):
    """Label: does token 3 come before token 4?  (Word order, not counts.)"""
    X, y = [], []
    for _ in range(n):
        L = int(rng.integers(3, 16))
        s = rng.integers(5, 20, size=L)
        a, b = rng.choice(L, 2, replace=False)
        s[a], s[b] = 3, 4
        X.append(s.tolist())
        y.append(int(a < b))
    return X, np.array(y)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_learns_word_order(pooling):
    rng = np.random.default_rng(0)
    X, y = _order_task(rng, 1500)
    Xv, yv = _order_task(rng, 300)
    clf = fr.SequenceClassifier(2, vocab_size=20, embed_size=16, hidden_size=32,
                                pooling=pooling, seed=0)
    history = clf.fit(X, y, epochs=6, lr=1e-2, validation=(Xv, yv), progress=False, seed=0)
    assert history["val_accuracy"][-1] > 0.95
    assert clf.evaluate(Xv, yv)["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert np.mean(clf.predict(Xv) == yv) > 0.95
    proba = clf.predict_proba(Xv[:7])
    assert proba.shape == (7, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)


def test_tagger_learns_a_task_needing_the_right_context():
    """Tag = (next token) mod 3: only the reverse direction can see it."""
    rng = np.random.default_rng(1)

    def make(n):
        X, Y = [], []
        for _ in range(n):
            s = rng.integers(1, 10, size=int(rng.integers(1, 14)))
            X.append(s.tolist())
            Y.append((np.r_[s[1:], 0] % 3).tolist())
        return X, Y

    X, Y = make(1500)
    Xv, Yv = make(200)
    tagger = fr.SequenceTagger(3, vocab_size=10, embed_size=16, hidden_size=32, seed=0)
    history = tagger.fit(X, Y, epochs=4, lr=1e-2, validation=(Xv, Yv), progress=False, seed=0)
    assert history["val_accuracy"][-1] > 0.97
    pred = tagger.predict(Xv)
    assert [len(p) for p in pred] == [len(s) for s in Xv]
    assert np.mean(np.concatenate(pred) == np.concatenate(Yv)) > 0.97


def test_regressor_forecasts_a_sine_many_steps_ahead():
    series = fr.datasets.sine_wave(1500, period=40.0)
    X, y = fr.datasets.sliding_windows(series, window=30, horizon=5)
    reg = fr.SequenceRegressor(1, horizon=5, hidden_size=32, cell="gru", seed=0)
    history = reg.fit(X, y, epochs=5, batch_size=64, lr=1e-2, validation=0.2, progress=False,
                      seed=0)
    assert history["val_loss"][-1] < 2e-3          # the series' variance is 0.5
    assert reg.predict(X[:4]).shape == (4, 5, 1)
    ahead = reg.forecast(series[:30], 40)
    truth = np.sin(2 * np.pi * np.arange(30, 70) / 40.0)
    assert ahead.shape == (40, 1) and np.abs(ahead[:, 0] - truth).max() < 0.15


def test_regressor_target_shapes():
    X = np.zeros((4, 6, 1), dtype=np.float32)
    one = fr.SequenceRegressor(1, hidden_size=4, seed=0)
    for y in (np.zeros(4), np.zeros((4, 1)), np.zeros((4, 1, 1))):
        one.fit(X, y, epochs=1, progress=False)
    assert one.predict(X).shape == (4, 1)
    with pytest.raises(ValueError, match=r"y must have shape \(4, 1, 1\) or \(4, 1\) or \(4,\)"):
        one.fit(X, np.zeros((4, 2)), progress=False)
    multi = fr.SequenceRegressor(1, output_size=2, hidden_size=4, seed=0)
    with pytest.raises(ValueError, match="output_size"):
        multi.forecast(np.zeros(5), 3)


def _forecast_before_the_fix(reg, context, steps):
    """The old SequenceRegressor.forecast (it re-counted every chunk made so
    far on each round: quadratic in ``steps``), kept as the reference."""
    window = np.asarray(context, dtype=reg.dtype).reshape(len(context), reg.input_size)
    T, made = len(window), []
    while sum(len(m) for m in made) < steps:
        ahead = reg.predict([window]).reshape(reg.horizon, reg.output_size)
        made.append(ahead)
        window = np.concatenate([window, ahead])[-T:]
    return np.concatenate(made)[:steps]


@pytest.mark.parametrize("horizon, steps", [(1, 7), (3, 10), (4, 4), (5, 2)])
def test_forecast_equals_the_old_algorithm(rng, horizon, steps):
    reg = fr.SequenceRegressor(2, horizon=horizon, hidden_size=5, seed=0)
    context = rng.standard_normal((6, 2)).astype(np.float32)
    kept = context.copy()
    got = reg.forecast(context, steps)
    assert got.shape == (steps, 2) and got.dtype == np.float32
    np.testing.assert_array_equal(got, _forecast_before_the_fix(reg, context, steps))
    np.testing.assert_array_equal(context, kept)        # the caller's context is not touched


def test_forecast_is_linear_in_steps():
    """20,000 one-step rounds with a constant-time stand-in for the network:
    linear, this takes well under a second; the old re-count made ~2 * 10**8
    list operations (tens of seconds).  No time is measured: the stand-in
    also checks that each round's prediction is fed back in, in order."""
    reg = fr.SequenceRegressor(1, horizon=1, hidden_size=4, seed=0)
    calls = []

    def next_value(X, batch_size=256):         # the window's last value + 1
        calls.append(1)
        return np.array([[X[0][-1, 0] + 1]], dtype=reg.dtype)

    reg.predict = next_value
    out = reg.forecast(np.zeros(3), 20000)
    assert len(calls) == 20000
    np.testing.assert_array_equal(out[:, 0], np.arange(1, 20001, dtype=np.float32))


def test_forecast_refuses_steps_that_cannot_fit_before_predicting():
    reg = fr.SequenceRegressor(1, horizon=2, hidden_size=4, seed=0)
    reg.predict = lambda *a, **k: pytest.fail("forecast predicted before refusing")
    with pytest.raises(ValueError, match=r"steps=1000000000000 \(output_size 1, float32\) "
                                         r"needs 4000000000000 bytes \(3725.3 GiB\)"):
        reg.forecast(np.zeros(3), 10**12)


def test_language_model_learns_and_generates():
    text = "the cat sat on the mat. " * 60
    ids, alphabet = fr.datasets.char_vocab(text)
    windows = [ids[i:i + 25] for i in range(0, len(ids) - 25, 5)]
    lm = fr.LanguageModel(len(alphabet), embed_size=16, hidden_size=64, seed=0)
    history = lm.fit(windows, epochs=6, lr=1e-2, progress=False, seed=0)
    assert history["accuracy"][-1] > 0.9
    result = lm.evaluate(windows[:20])
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]))
    prompt = ids[:8].tolist()
    greedy = lm.generate(2, 24, prompt=prompt, temperature=0)
    assert greedy[0] == greedy[1]
    assert fr.datasets.decode_chars(prompt + greedy[0], alphabet) == text[:32]
    assert lm.generate(1, 24, prompt=prompt, top_k=1, seed=5) == greedy[:1]
    a = lm.generate(3, 10, prompt=prompt, temperature=1.5, seed=7)
    assert a == lm.generate(3, 10, prompt=prompt, temperature=1.5, seed=7)
    proba = lm.predict([prompt])
    assert proba.shape == (1, len(alphabet)) and proba[0].argmax() == greedy[0][0]


def test_conditioned_language_model_follows_its_condition():
    """One-to-many: the condition alone says which token to repeat and how often."""
    rng = np.random.default_rng(2)
    cond = rng.standard_normal((600, 4)).astype(np.float32)
    seqs = [[3 + int(np.argmax(c))] * (1 + int(np.argmax(c))) for c in cond]
    lm = fr.LanguageModel(8, embed_size=8, hidden_size=32, condition_size=4, cell="gru",
                          sos_id=1, eos_id=2, pad_id=0, seed=0)
    lm.fit(seqs, cond, epochs=8, lr=1e-2, progress=False, seed=0)
    made = lm.generate(20, 10, condition=cond[:20], temperature=0)
    assert np.mean([m == s for m, s in zip(made, seqs[:20])]) >= 0.9
    # one condition broadcast to every sample
    assert lm.generate(3, 10, condition=cond[0], temperature=0) == [seqs[0]] * 3
    with pytest.raises(TypeError, match="conditions is required"):
        lm.fit(seqs, progress=False)
    with pytest.raises(ValueError, match="generate needs a prompt"):
        fr.LanguageModel(5, hidden_size=4).generate()


# ------------------------------------------------------------ fit machinery
def _tiny_classification(rng, n=64):
    X, y = _order_task(rng, n)
    return X, y, fr.SequenceClassifier(2, vocab_size=20, embed_size=4, hidden_size=8, seed=0)


def test_fit_history_validation_fraction_and_seeded_reproducibility(rng):
    X, y, clf = _tiny_classification(rng)
    state = clf.state_dict()
    h1 = clf.fit(X, y, epochs=3, batch_size=8, validation=0.25, progress=False, seed=9)
    assert sorted(h1) == ["accuracy", "loss", "time", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in h1.values())
    after = clf.state_dict()
    clf.load_state_dict(state)
    h2 = clf.fit(X, y, epochs=3, batch_size=8, validation=0.25, progress=False, seed=9)
    assert h1["loss"] == h2["loss"]
    for k, v in clf.state_dict().items():
        np.testing.assert_array_equal(v, after[k])


def test_early_stopping_stops_and_restores_the_best_weights(rng):
    X, y, clf = _tiny_classification(rng)
    Xv, yv = _order_task(rng, 32)
    yv = 1 - yv     # validation disagrees with training: val loss soon rises
    history = clf.fit(X, y, epochs=40, lr=3e-2, validation=(Xv, yv), early_stopping=2,
                      progress=False, seed=0)
    ran = len(history["loss"])
    assert ran < 40
    best = int(np.argmin(history["val_loss"]))
    assert ran == best + 3
    assert clf.evaluate(Xv, yv)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_progress_bar_is_silenceable(rng, capsys):
    X, y, clf = _tiny_classification(rng)
    clf.fit(X, y, epochs=1, progress=False)
    assert capsys.readouterr().err == ""
    clf.fit(X, y, epochs=1, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


def test_optimizer_instance_and_names(rng):
    X, y, clf = _tiny_classification(rng)
    opt = fr.optim.SGD(clf, lr=0.1, momentum=0.9)
    clf.fit(X, y, epochs=1, optimizer=opt, progress=False)
    assert opt.state_dict()["state"]
    for name in ("adam", "adamw", "sgd", "rmsprop"):
        clf.fit(X, y, epochs=1, optimizer=name, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        clf.fit(X, y, optimizer="lbfgs")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_non_finite_step_is_skipped_with_a_warning(rng):
    X, y, clf = _tiny_classification(rng, n=16)
    clf.parameters()["head.bias"][:] = np.inf
    before = clf.state_dict()
    with pytest.warns(RuntimeWarning, match="skipped on a non-finite gradient"):
        clf.fit(X, y, epochs=1, batch_size=16, progress=False)
    for k, v in clf.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_checkpoint_saves_the_model_after_every_epoch(tmp_path, rng, monkeypatch):
    X, y, clf = _tiny_classification(rng)
    path = os.path.join(tmp_path, "ckpt.frnn")
    saved = []
    real_save = fr.models._fit.save
    monkeypatch.setattr(fr.models._fit, "save", lambda m, p: saved.append(p) or real_save(m, p))
    clf.fit(X, y, epochs=2, checkpoint=path, progress=False, seed=0)
    assert saved == [path, path]
    loaded = fr.load(path)
    for k, v in clf.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    with pytest.raises(TypeError, match="checkpoint must be None, a str or an os.PathLike, got int"):
        clf.fit(X, y, epochs=1, checkpoint=3, progress=False)


def _no_training(monkeypatch):
    monkeypatch.setattr(fr.models._fit, "_train_step",
                        lambda *a, **k: pytest.fail("an epoch ran before the refusal"))


@pytest.mark.parametrize("where, problem", [
    ("missing/ckpt.frnn", r"'.*missing' does not exist"),
    ("a-file/ckpt.frnn", r"'.*a-file' is not a folder"),
    ("a-folder", r"'.*a-folder' is a folder"),
])
def test_a_bad_checkpoint_path_is_refused_before_training(tmp_path, rng, monkeypatch, where,
                                                          problem):
    X, y, clf = _tiny_classification(rng, n=8)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match="checkpoint must be a file path this process can "
                                         "write, got .*" + problem):
        clf.fit(X, y, epochs=1, checkpoint=str(tmp_path / where), progress=False)


def test_a_checkpoint_in_a_read_only_folder_is_refused_before_training(tmp_path, rng,
                                                                        monkeypatch):
    """Simulated: these tests run as root, for whom every folder is writable
    (os.access says so, and so would the write); os.access is made to say
    no for this folder -- what it says to a user without write permission.
    test_a_really_read_only_checkpoint_folder covers the real thing as a
    normal user."""
    X, y, clf = _tiny_classification(rng, n=8)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path)
                        and mode & os.W_OK else real_access(p, mode))
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match=r"checkpoint must be a file path this process can "
                                         r"write, got .*ckpt.frnn' \('.*' is not writable\)"):
        clf.fit(X, y, epochs=1, checkpoint=str(tmp_path / "ckpt.frnn"), progress=False)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write into any folder")
def test_a_really_read_only_checkpoint_folder(tmp_path, rng, monkeypatch):
    X, y, clf = _tiny_classification(rng, n=8)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    _no_training(monkeypatch)
    try:
        with pytest.raises(ValueError, match="is not writable"):
            clf.fit(X, y, epochs=1, checkpoint=str(folder / "ckpt.frnn"), progress=False)
    finally:
        folder.chmod(0o700)


def test_an_unregistered_model_class_is_refused_before_training(tmp_path, rng, monkeypatch):
    class Mine(fr.SequenceClassifier):
        pass

    X, y, _ = _tiny_classification(rng, n=8)
    _no_training(monkeypatch)
    with pytest.raises(TypeError, match=r"checkpoint='.*ckpt.frnn' needs a model fr.save can "
                                        r"write: save: Mine is not a registered"):
        Mine(2, vocab_size=20, embed_size=4, hidden_size=8, seed=0).fit(
            X, y, epochs=1, checkpoint=str(tmp_path / "ckpt.frnn"), progress=False)


@pytest.mark.parametrize("val_losses, best", [
    ([3.0, 1.0, 2.0, 4.0], 1),               # stops after epoch 4, returns epoch 2
    ([3.0, 2.0, 1.0, 0.5, 0.4], 4),          # never stops early: the last is the best
    ([float("nan")] * 3, None),              # nothing ever scored: the last is returned
])
def test_the_checkpoint_holds_what_fit_returns(tmp_path, rng, monkeypatch, val_losses, best):
    """Scripted validation losses; the weights after every epoch are
    recorded, so the file can be compared with the epoch fit returned."""
    X, y, clf = _tiny_classification(rng, n=16)
    after_epoch, scores = [], iter(val_losses)

    def scripted(model, data, batch_size, comm=None):
        after_epoch.append(model.state_dict())
        return {"loss": next(scores)}

    monkeypatch.setattr(fr.models._fit, "evaluate", scripted)
    path = str(tmp_path / "ckpt.frnn")
    history = clf.fit(X, y, epochs=len(val_losses), batch_size=4, lr=0.05,
                      validation=(X[:4], y[:4]), early_stopping=2, checkpoint=path,
                      progress=False, seed=0)
    returned = clf.state_dict()
    want = after_epoch[-1 if best is None else best]
    saved = fr.load(path).state_dict()
    for k, v in returned.items():
        np.testing.assert_array_equal(v, want[k], err_msg=k)
        np.testing.assert_array_equal(saved[k], v, err_msg=k)
    if best == 1:
        assert len(history["loss"]) == 4
        assert any(not np.array_equal(after_epoch[-1][k], v) for k, v in returned.items())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_round_trip(tmp_path, rng, name):
    factory, make_inputs, cond, _ = MODELS[name]
    model = factory(dtype="float32", seed=6)
    path = os.path.join(tmp_path, "model.frnn")
    fr.save(model, path)
    loaded = fr.load(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    inputs = make_inputs(rng)
    c = None if cond is None else cond.astype(np.float32)
    np.testing.assert_array_equal(loaded(inputs, LENGTHS, c), model(inputs, LENGTHS, c))


# ---------------------------------------------------------------- bad input
def test_bad_construction_arguments():
    with pytest.raises(ValueError, match="exactly one of vocab_size"):
        fr.SequenceClassifier(2)
    with pytest.raises(ValueError, match="exactly one of vocab_size"):
        fr.SequenceClassifier(2, vocab_size=5, input_size=3)
    with pytest.raises(ValueError, match="cell must be one of"):
        fr.SequenceTagger(2, vocab_size=5, cell="transformer")
    with pytest.raises(ValueError, match="pooling must be one of"):
        fr.SequenceClassifier(2, vocab_size=5, pooling="first")
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        fr.SequenceClassifier(1, vocab_size=5)
    with pytest.raises(ValueError, match="dropout"):
        fr.SequenceClassifier(2, vocab_size=5, dropout=1.0)
    with pytest.raises(ValueError, match="sos_id"):
        fr.LanguageModel(5, sos_id=5)


def test_bad_data_names_the_argument(rng):
    X, y, clf = _tiny_classification(rng, n=8)
    with pytest.raises(ValueError, match=r"X\[1\] must hold ids in \[0, 20\)"):
        clf.fit([[1, 2], [3, 25]], [0, 1])
    with pytest.raises(ValueError, match=r"X\[0\] must have at least 1 token"):
        clf.fit([[], [3]], [0, 1])
    with pytest.raises(TypeError, match=r"X\[0\] must hold integer token ids"):
        clf.predict([[0.5, 1.0]])
    with pytest.raises(ValueError, match=r"y must have shape \(8,\)"):
        clf.fit(X, y[:5])
    with pytest.raises(TypeError, match="y is required"):
        clf.fit(X)
    with pytest.raises(ValueError, match=r"validation y must hold labels in \[0, 2\)"):
        clf.fit(X, y, validation=(X, y + 2))
    with pytest.raises(ValueError, match="validation as a fraction"):
        clf.fit(X, y, validation=1.5)
    with pytest.raises(TypeError, match="epochs must be a positive int"):
        clf.fit(X, y, epochs=2.0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        clf.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match=r"y\[0\] must have one tag per step \(2\)"):
        fr.SequenceTagger(3, vocab_size=5).fit([[1, 2]], [[0]])
    with pytest.raises(ValueError, match=r"X\[0\] must have shape \(T, 2\)"):
        fr.SequenceRegressor(2).fit([np.zeros((3, 3))], np.zeros(1))
    with pytest.raises(ValueError, match="lengths must be >= 1"):
        clf(np.ones((3, 2), dtype=int), lengths=[3, 0])
    with pytest.raises(ValueError, match="inputs must be a non-empty padded batch"):
        clf(np.ones((3, 2, 1), dtype=int))
    with pytest.raises(ValueError, match="takes no conditions"):
        clf(np.ones((3, 2), dtype=int), conditions=np.zeros((2, 1)))


def test_backprop_checks_its_gradient_and_runs_once(rng):
    _, _, clf = _tiny_classification(rng, n=4)
    out, bp = clf.forward_train(np.ones((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"doutputs must have the outputs' shape \(2, 2\)"):
        bp(np.zeros((2, 3)))
    bp(np.zeros_like(out))
    with pytest.raises(RuntimeError, match="already called"):
        bp(np.zeros_like(out))


def _grads_after_backprop(model, call, arrays, mutate):
    """Gradients of one forward_train / backprop pair; with ``mutate`` the
    caller reuses its arrays (overwrites them) between the two calls."""
    model.zero_grad()
    out, bp = call(*arrays)
    if mutate:
        for a in arrays:
            a[...] = a.flat[-1] if a.dtype.kind in "iu" else 100
    bp(np.ones_like(out))
    return {k: v.copy() for k, v in model.grads.items()}


@pytest.mark.parametrize("kind", ["embedding", "classifier", "regressor", "conditioned lm",
                                  "seq2seq"])
def test_backprop_does_not_read_the_callers_arrays_again(kind):
    """forward_train's backprop comes in a second call: a caller free to
    reuse its input arrays in between must get the same gradients."""
    ids = np.array([[1, 2], [3, 1]], dtype=np.intp)
    lengths = np.array([2, 1], dtype=np.intp)
    if kind == "embedding":
        model = fr.Embedding(5, 3, seed=0)
        call, arrays = model.forward_train, (ids,)
    elif kind == "classifier":
        model = fr.SequenceClassifier(2, vocab_size=5, embed_size=3, hidden_size=4, seed=0)
        call, arrays = model.forward_train, (ids, lengths)
    elif kind == "regressor":
        model = fr.SequenceRegressor(2, hidden_size=4, seed=0)
        call = model.forward_train
        arrays = (np.arange(8, dtype=np.float32).reshape(2, 2, 2) / 8, lengths)
    elif kind == "conditioned lm":
        model = fr.LanguageModel(5, embed_size=3, hidden_size=4, condition_size=2, seed=0)
        call = model.forward_train
        arrays = (ids, lengths, np.array([[0.5, -1.0], [2.0, 0.1]], np.float32))
    else:
        model = fr.Seq2Seq(5, 5, 3, 4, attention="dot", seed=0)
        call = model.forward_train
        arrays = (ids, np.array([[1, 1], [3, 4]], np.intp), lengths)
    want = _grads_after_backprop(model, call, [a.copy() for a in arrays], mutate=False)
    got = _grads_after_backprop(model, call, [a.copy() for a in arrays], mutate=True)
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)


def test_float64_models_train(rng):
    X, y = _order_task(rng, 40)
    clf = fr.SequenceClassifier(2, vocab_size=20, hidden_size=8, dtype="float64", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = clf.fit(X, y, epochs=2, progress=False)
    assert clf.predict_proba(X).dtype == np.float64 and np.isfinite(history["loss"]).all()


def test_length_batches_cover_every_sequence_once_with_little_padding(rng):
    from fastrnn.models._data import length_batches
    lengths = rng.integers(1, 200, size=1000)
    for shuffle in (False, True):
        batches = length_batches(lengths, 16, shuffle=shuffle, rng=np.random.default_rng(0))
        flat = np.concatenate(batches)
        assert sorted(flat.tolist()) == list(range(1000))
        assert all(len(b) <= 16 for b in batches)
        padding = sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in batches)
        assert padding < 0.05 * lengths.sum()
    again = length_batches(lengths, 16, shuffle=True, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(again, batches))


def test_token_lists_take_the_one_pass_path_with_the_same_batches(rng):
    """Lists of Python ints become RaggedTokens (one flat array); anything
    else takes the per-sequence path.  Both give the same sequences, and
    pad_time_major the same batches whatever the representation."""
    from fastrnn.models._data import (Dataset, RaggedTokens, pad_time_major,
                                      token_sequences)
    lists = [rng.integers(0, 9, size=n).tolist() for n in rng.integers(0, 7, size=40)]
    ragged = token_sequences(lists, 9, min_length=0)
    arrays = token_sequences([np.array(s, dtype=np.int32) for s in lists], 9, min_length=0)
    assert isinstance(ragged, RaggedTokens) and not isinstance(arrays, RaggedTokens)
    assert len(ragged) == len(arrays) == 40
    for a, b, s in zip(ragged, arrays, lists):
        assert a.dtype == b.dtype == np.intp and a.tolist() == b.tolist() == s
    index = rng.permutation(40)[:13]
    for pad in (0, -100):
        want = pad_time_major(arrays, index, pad, np.intp)
        got = pad_time_major(ragged, index, pad, np.intp)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)
    data = Dataset(ragged).subset(index[:5])
    assert isinstance(data.inputs, RaggedTokens)
    assert [s.tolist() for s in data.inputs] == [lists[i] for i in index[:5]]
    assert [s.tolist() for s in ragged[3:6]] == lists[3:6]


@pytest.mark.parametrize("bad, error, match", [
    ([[1, 2], [True, False]], TypeError, r"X\[1\] must hold integer token ids, got dtype bool"),
    ([[1, 2], [1.0]], TypeError, r"X\[1\] must hold integer token ids, got dtype float64"),
    ([[1, 2], [[1]]], ValueError, r"X\[1\] must be 1-D"),
    ([[1, 2], [2**70]], TypeError, r"X\[1\] must hold integer token ids, got dtype object"),
    ([[1, 2], []], ValueError, r"X\[1\] must have at least 1 token"),
    ([[1, 2], [9]], ValueError, r"X\[1\] must hold ids in \[0, 9\), got values in \[9, 9\]"),
])
def test_token_lists_that_are_not_plain_ids_name_the_culprit(bad, error, match):
    from fastrnn.models._data import token_sequences
    with pytest.raises(error, match=match):
        token_sequences(bad, 9)
