"""fastrnn.datasets: generated datasets and the shipped text."""
import numpy as np
import pytest

import fastrnn as fr
import fastrnn.datasets
from fastrnn import datasets


# ------------------------------------------------------------------ adding problem
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adding_problem_shapes_and_dtype(dtype):
    X, y = datasets.adding_problem(7, length=20, seed=0, dtype=dtype)
    assert X.shape == (7, 20, 2) and y.shape == (7, 1)
    assert X.dtype == np.dtype(dtype) and y.dtype == np.dtype(dtype)


@pytest.mark.parametrize("length", [2, 3, 10, 101])
def test_adding_problem_markers_and_targets(length):
    X, y = datasets.adding_problem(500, length=length, seed=1, dtype="float64")
    values, marks = X[..., 0], X[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(marks)) <= {0.0, 1.0}
    half = length // 2
    assert np.all(marks[:, :half].sum(axis=1) == 1)     # one marker in the first half
    assert np.all(marks[:, half:].sum(axis=1) == 1)     # one in the second half
    np.testing.assert_allclose(y[:, 0], (values * marks).sum(axis=1))


def test_adding_problem_baseline_is_about_one_sixth():
    _, y = datasets.adding_problem(20000, length=50, seed=2)
    assert abs(float(np.mean((y - 1.0) ** 2)) - 1 / 6) < 0.01


def test_adding_problem_seeding():
    a = datasets.adding_problem(5, 30, seed=3)
    b = datasets.adding_problem(5, 30, seed=3)
    c = datasets.adding_problem(5, 30, seed=4)
    d = datasets.adding_problem(5, 30, seed=np.random.default_rng(3))
    for u, v, w in zip(a, b, d):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.0), TypeError, "n must be an int"),
    (dict(n=2, length=1), ValueError, "length must be >= 2"),
    (dict(n=2, dtype="int32"), ValueError, "dtype"),
    (dict(n=2, seed="x"), TypeError, "seed"),
    (dict(n=2, seed=1.5), TypeError, "seed"),
    (dict(n=2, seed=-1), ValueError, "seed"),
])
def test_adding_problem_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        datasets.adding_problem(**kwargs)


# ------------------------------------------------------------------ sentiment
def test_sentiment_structure_and_reservations():
    seqs, labels, vocab = datasets.sentiment(2000, seed=0, min_len=4, max_len=30)
    assert isinstance(seqs, list) and len(seqs) == 2000
    assert all(isinstance(s, list) and all(type(i) is int for i in s) for s in seqs)
    assert labels.dtype == np.int64 and labels.shape == (2000,)
    assert set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 0.5) < 0.05
    assert vocab[0] == "<pad>" and vocab[1] == "<unk>"
    assert len(set(vocab)) == len(vocab)
    ids = np.concatenate([np.asarray(s) for s in seqs])
    assert ids.min() >= 2 and ids.max() < len(vocab)
    lengths = np.array([len(s) for s in seqs])
    assert lengths.min() >= 4 and lengths.max() <= 30
    assert lengths.min() <= 5 and lengths.max() >= 29     # spans the range
    words = {vocab[i] for i in ids}
    assert {"not", "but", "very"} <= words


@pytest.mark.parametrize("min_len, max_len", [(1, 1), (2, 2), (3, 5), (7, 7), (40, 60)])
def test_sentiment_lengths(min_len, max_len):
    seqs, labels, vocab = datasets.sentiment(200, seed=5, min_len=min_len, max_len=max_len)
    lengths = [len(s) for s in seqs]
    assert min(lengths) >= min_len and max(lengths) <= max_len
    assert min(min(s) for s in seqs) >= 2


def test_sentiment_labels_follow_the_rules():
    """Re-derive each label from the words: the last clause decides, a
    negation flips the sentiment word that follows it."""
    seqs, labels, vocab = datasets.sentiment(500, seed=6)
    pos, neg = set(datasets._POSITIVE), set(datasets._NEGATIVE)
    negations = set(datasets._NEGATIONS)
    for s, label in zip(seqs, labels):
        words = [vocab[i] for i in s]
        if "but" in words:
            words = words[len(words) - words[::-1].index("but"):]
        k = max(i for i, w in enumerate(words) if w in pos or w in neg)
        polarity = int(words[k] in pos)
        negated = any(w in negations for w in words[max(0, k - 2):k])
        assert polarity ^ int(negated) == label, " ".join(vocab[i] for i in s)


def test_sentiment_seeding_and_fixed_vocab():
    a = datasets.sentiment(50, seed=7)
    b = datasets.sentiment(50, seed=7)
    c = datasets.sentiment(50, seed=8)
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert a[0] != c[0]
    assert a[2] == c[2] == datasets.sentiment(1, seed=0)[2]


def _padded(seqs):
    lengths = np.array([len(s) for s in seqs])
    ids = np.zeros((len(seqs), lengths.max()), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    return ids, lengths


def test_sentiment_bag_of_words_stays_far_from_perfect():
    seqs, labels, vocab = datasets.sentiment(3000, seed=9)
    counts = np.zeros((len(seqs), len(vocab)))
    for i, s in enumerate(seqs):
        np.add.at(counts[i], s, 1)
    Xtr, ytr, Xte, yte = counts[:2500], labels[:2500], counts[2500:], labels[2500:]
    w, b = np.zeros(len(vocab)), 0.0
    for _ in range(1500):                       # logistic regression, full-batch GD
        g = 1 / (1 + np.exp(-(Xtr @ w + b))) - ytr
        w -= 0.1 * (Xtr.T @ g / len(g) + 1e-4 * w)
        b -= 0.1 * g.mean()
    acc = np.mean(((Xte @ w + b) > 0) == yte)
    assert acc < 0.75


def test_sentiment_small_lstm_learns_it():
    seqs, labels, vocab = datasets.sentiment(4000, seed=10)
    emb = fr.Embedding(len(vocab), 16, padding_idx=0, seed=0)
    lstm = fr.LSTM(16, 32, batch_first=True, seed=0)
    head = fr.Linear(32, 2, seed=0)
    modules = [emb, lstm, head]
    opt = fr.optim.Adam(modules, lr=3e-3)
    rng = np.random.default_rng(0)
    train = 3500
    for _ in range(6):
        perm = rng.permutation(train)
        for k in range(0, train, 64):
            idx = perm[k:k + 64]
            ids, lengths = _padded([seqs[i] for i in idx])
            for m in modules:
                m.zero_grad()
            e, bp_emb = emb.forward_train(ids)
            (out, (h_n, _)), bp_lstm = lstm.forward_train(e, lengths=lengths)
            logits, bp_head = head.forward_train(h_n[0])
            _, dlogits = fr.losses.cross_entropy(logits, labels[idx])
            dh = bp_head(dlogits)
            dx, _ = bp_lstm(np.zeros_like(out), (dh[None], None))
            bp_emb(dx)
            fr.optim.clip_grad_norm(modules, 5.0)
            opt.step()
    ids, lengths = _padded(seqs[train:])
    _, (h_n, _) = lstm(emb(ids), lengths=lengths)
    acc = np.mean(head(h_n[0]).argmax(axis=1) == labels[train:])
    assert acc > 0.9


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=3, min_len=0), ValueError, "min_len must be >= 1"),
    (dict(n=3, min_len=10, max_len=5), ValueError, "min_len must be <= max_len"),
    (dict(n=3, max_len=7.5), TypeError, "max_len must be an int"),
    (dict(n=3, seed=[1]), TypeError, "seed"),
])
def test_sentiment_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        datasets.sentiment(**kwargs)


# ------------------------------------------------------------------ time series
def test_sine_wave_values():
    x = datasets.sine_wave(100, period=20.0, dtype="float64")
    assert x.shape == (100,) and x.dtype == np.float64
    np.testing.assert_allclose(x, np.sin(2 * np.pi * np.arange(100) / 20.0), atol=1e-12)
    assert datasets.sine_wave(10).dtype == np.float32


def test_sine_wave_noise_is_seeded():
    a = datasets.sine_wave(200, noise=0.5, seed=1)
    b = datasets.sine_wave(200, noise=0.5, seed=1)
    c = datasets.sine_wave(200, noise=0.5, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    resid = a - datasets.sine_wave(200)
    assert 0.3 < resid.std() < 0.7


def test_ar_process_shape_seed_and_statistics():
    x = datasets.ar_process(20000, coefficients=(0.5,), noise=1.0, seed=0, dtype="float64")
    assert x.shape == (20000,) and x.dtype == np.float64
    np.testing.assert_array_equal(x, datasets.ar_process(20000, (0.5,), 1.0, seed=0, dtype="float64"))
    # AR(1): variance 1 / (1 - phi^2), lag-1 autocorrelation phi
    assert abs(x.var() - 1 / 0.75) < 0.1
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1] - 0.5) < 0.03
    y = datasets.ar_process(500, seed=1)
    assert y.shape == (500,) and y.dtype == np.float32 and np.all(np.isfinite(y))


@pytest.mark.parametrize("coefficients", [(1.0,), (1.2,), (0.5, 0.5), (-1.0,), (0.0, 0.0, 1.1)])
def test_ar_process_rejects_non_stationary(coefficients):
    with pytest.raises(ValueError, match="stationary"):
        datasets.ar_process(10, coefficients=coefficients)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(coefficients=()), ValueError, "non-empty"),
    (dict(coefficients=[[0.1]]), ValueError, "1-D"),
    (dict(coefficients=("a",)), TypeError, "coefficients"),
    (dict(coefficients=(np.nan,)), ValueError, "finite"),
    (dict(noise=-1.0), ValueError, "noise must be >= 0"),
    (dict(noise="1"), TypeError, "noise must be a real number"),
])
def test_ar_process_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        datasets.ar_process(10, **kwargs)


def test_sine_wave_bad_arguments():
    with pytest.raises(ValueError, match="period must be > 0"):
        datasets.sine_wave(10, period=0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        datasets.sine_wave(10, noise=-0.1)
    with pytest.raises(TypeError, match="n_steps must be an int"):
        datasets.sine_wave(10.0)


def test_sliding_windows_exact_values_1d():
    X, y = datasets.sliding_windows(np.arange(7, dtype=np.float32), window=3, horizon=2)
    assert X.shape == (3, 3, 1) and y.shape == (3, 2, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(X[..., 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y[..., 0], [[3, 4], [4, 5], [5, 6]])
    assert X.flags.c_contiguous and y.flags.c_contiguous


def test_sliding_windows_2d_and_default_horizon():
    series = np.arange(12.0).reshape(6, 2)           # (T=6, F=2)
    X, y = datasets.sliding_windows(series, window=4)
    assert X.shape == (2, 4, 2) and y.shape == (2, 1, 2)
    np.testing.assert_array_equal(X[1], series[1:5])
    np.testing.assert_array_equal(y[:, 0], series[4:6])
    X[0, 0, 0] = -1                                   # a copy, not a view
    assert series[0, 0] == 0


def test_sliding_windows_bad_arguments():
    with pytest.raises(ValueError, match="at least window \\+ horizon = 5 steps, got 4"):
        datasets.sliding_windows(np.arange(4.0), window=3, horizon=2)
    with pytest.raises(ValueError, match="1-D \\(T,\\) or 2-D"):
        datasets.sliding_windows(np.zeros((3, 3, 3)), window=1)
    with pytest.raises(TypeError, match="series must be a real numeric array"):
        datasets.sliding_windows(np.array(["a", "b", "c"]), window=1)
    with pytest.raises(ValueError, match="window must be >= 1"):
        datasets.sliding_windows(np.arange(4.0), window=0)
    with pytest.raises(TypeError, match="horizon must be an int"):
        datasets.sliding_windows(np.arange(4.0), window=1, horizon=1.0)


# ------------------------------------------------------------------ text
def test_load_text_nursery_rhymes():
    text = datasets.load_text()
    assert text == datasets.load_text("nursery_rhymes")
    assert "nursery_rhymes" in datasets.available_texts()
    assert 6_000 <= len(text.encode("utf-8")) <= 12_000
    assert text.isascii()
    assert text.startswith("Mary Had a Little Lamb\n")
    for title in ("Humpty Dumpty", "Jack and Jill", "Hickory Dickory Dock", "Three Blind Mice"):
        assert f"\n\n{title}\n\n" in text


def test_load_text_bad_names():
    with pytest.raises(ValueError, match="nursery_rhymes"):
        datasets.load_text("shakespeare")
    with pytest.raises(TypeError, match="name must be a str"):
        datasets.load_text(3)


def test_char_vocab_round_trip():
    text = datasets.load_text()
    ids, alphabet = datasets.char_vocab(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert alphabet == "".join(sorted(set(text)))
    assert ids.min() == 0 and ids.max() == len(alphabet) - 1
    assert datasets.decode_chars(ids, alphabet) == text
    assert datasets.decode_chars(ids.astype(np.int32).tolist(), alphabet) == text


def test_char_vocab_small():
    ids, alphabet = datasets.char_vocab("hello")
    assert alphabet == "ehlo" and ids.tolist() == [1, 0, 2, 2, 3]
    assert datasets.decode_chars([], alphabet) == ""


def test_char_vocab_bad_arguments():
    with pytest.raises(TypeError, match="text must be a str"):
        datasets.char_vocab(b"bytes")
    with pytest.raises(ValueError, match="text must be non-empty"):
        datasets.char_vocab("")
    with pytest.raises(ValueError, match="ids must be in \\[0, 4\\)"):
        datasets.decode_chars([0, 4], "abcd")
    with pytest.raises(ValueError, match="ids must be in"):
        datasets.decode_chars([-1], "abcd")
    with pytest.raises(TypeError, match="ids must be an integer array"):
        datasets.decode_chars([0.0, 1.0], "abcd")
    with pytest.raises(TypeError, match="alphabet must be a str"):
        datasets.decode_chars([0], ["a"])


# ------------------------------------------------------------------ seq2seq: dates
import datetime  # noqa: E402
import re  # noqa: E402

_WEEKDAY_WORDS = {}
for _i, _name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                            "sunday")):
    _WEEKDAY_WORDS[_name] = _WEEKDAY_WORDS[_name[:3]] = _i


def test_dates_structure_and_iso_targets():
    sources, targets = datasets.dates(1000, seed=0)
    assert len(sources) == len(targets) == 1000
    assert all(type(s) is str and type(t) is str for s, t in zip(sources, targets))
    for t in targets:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)
        d = datetime.date.fromisoformat(t)
        assert 1950 <= d.year <= 2049
        assert d.isoformat() == t
    assert max(len(s) for s in sources) <= 40
    years = [int(t[:4]) for t in targets]
    assert min(years) < 1960 and max(years) > 2040          # spans the range


def test_dates_sources_name_the_target_date():
    sources, targets = datasets.dates(1000, seed=1)
    for s, t in zip(sources, targets):
        d = datetime.date.fromisoformat(t)
        numbers = [int(x) for x in re.findall(r"\d+", s)]
        assert d.day in numbers, (s, t)
        assert d.year in numbers or (d.year % 100 in numbers and "/" in s), (s, t)
        month = d.strftime("%B").lower()
        assert month[:3] in s.lower() or d.month in numbers, (s, t)


def test_dates_weekdays_are_true():
    sources, targets = datasets.dates(2000, seed=2)
    seen = 0
    for s, t in zip(sources, targets):
        words = [w for w in re.split(r"[^a-z]+", s.lower()) if w in _WEEKDAY_WORDS]
        assert len(words) <= 1, s
        if words:
            seen += 1
            assert _WEEKDAY_WORDS[words[0]] == datetime.date.fromisoformat(t).weekday(), (s, t)
    assert seen > 200


def test_dates_parse_back_with_strptime():
    """Every format with an unambiguous strptime pattern parses back to the target."""
    patterns = ["%A, %B %d, %Y", "%d %b %Y", "%m/%d/%y", "%d.%m.%Y", "%b %d, %Y", "%d %B %Y",
                "%a, %d %b %Y", "%d-%b-%Y", "%B %d %Y", "%A %d %B %Y"]
    sources, targets = datasets.dates(1000, seed=3)
    parsed = 0
    for s, t in zip(sources, targets):
        text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s.lower())
        for p in patterns:
            try:
                d = datetime.datetime.strptime(text, p).date()
            except ValueError:
                continue
            if "%y" in p:                    # dates()' pivot: 50-99 -> 19yy, 00-49 -> 20yy
                d = d.replace(year=(1900 if d.year % 100 >= 50 else 2000) + d.year % 100)
            assert d.isoformat() == t, (s, t, p)
            parsed += 1
            break
    assert parsed > 500


def _date_shape(s):
    """A format's signature: letter runs -> 'a', digit runs -> '9'."""
    return re.sub(r"\d+", "9", re.sub(r"[A-Za-z]+", "a", s))


def test_dates_format_and_case_variety():
    sources, _ = datasets.dates(1000, seed=4)
    shapes = {_date_shape(s) for s in sources}
    assert len(shapes) >= 8, shapes
    lettered = [s for s in sources if re.search("[A-Za-z]", s)]
    assert any(s == s.lower() for s in lettered)
    assert any(s == s.upper() for s in lettered)
    assert any(s != s.lower() and s != s.upper() for s in lettered)
    assert any("/" in s for s in sources) and any("." in s for s in sources)
    assert any(re.search(r"\d(st|nd|rd|th)\b", s.lower()) for s in sources)


def test_dates_seeding():
    a = datasets.dates(200, seed=5)
    assert a == datasets.dates(200, seed=5)
    assert a == datasets.dates(200, seed=np.random.default_rng(5))
    assert a != datasets.dates(200, seed=6)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.0), TypeError, "n must be an int"),
    (dict(n=2, seed="x"), TypeError, "seed"),
])
def test_dates_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        datasets.dates(**kwargs)


# ------------------------------------------------------------------ seq2seq: tokenizer
def test_char_tokenizer_vocab_and_ids():
    tok = datasets.char_tokenizer(["2026-11-25", "1999-01-02"])
    assert isinstance(tok, datasets.CharTokenizer)
    assert tok.vocab == ["<pad>", "<sos>", "<eos>", "-", "0", "1", "2", "5", "6", "9"]
    assert (tok.pad_id, tok.sos_id, tok.eos_id) == (0, 1, 2)
    assert len(tok) == 10
    assert tok.encode("2025") == [6, 4, 6, 7]
    assert tok.encode("") == []
    assert tok.decode([1, 6, 4, 6, 7, 2, 0, 0]) == "2025"
    assert tok.decode(np.array([6, 4], dtype=np.int32)) == "20"
    assert tok.decode([]) == ""
    assert datasets.char_tokenizer("abca").vocab[3:] == ["a", "b", "c"]   # a single str


def test_char_tokenizer_round_trip_on_dates():
    sources, targets = datasets.dates(500, seed=7)
    src_tok, tgt_tok = datasets.char_tokenizer(sources), datasets.char_tokenizer(targets)
    for s, t in zip(sources, targets):
        ids = src_tok.encode(s)
        assert all(type(i) is int and i >= 3 for i in ids)
        assert src_tok.decode(ids) == s
        assert tgt_tok.decode([tgt_tok.sos_id] + tgt_tok.encode(t) + [tgt_tok.eos_id]) == t
    assert len(tgt_tok) == 3 + 11                          # specials + digits + '-'
    assert src_tok.vocab[3:] == sorted(set("".join(sources)))


def test_char_tokenizer_custom_specials():
    tok = datasets.char_tokenizer(["ab"], specials=("PAD", "BOS", "EOS", "UNK"))
    assert tok.vocab == ["PAD", "BOS", "EOS", "UNK", "a", "b"]
    assert (tok.pad_id, tok.sos_id, tok.eos_id) == (0, 1, 2)
    assert tok.encode("ba") == [5, 4]
    assert tok.decode([3, 4, 2]) == "a"


def test_char_tokenizer_errors():
    tok = datasets.char_tokenizer(["abc"])
    with pytest.raises(ValueError, match="character 'z'"):
        tok.encode("abz")
    with pytest.raises(TypeError, match="text must be a str"):
        tok.encode(["a"])
    with pytest.raises(ValueError, match="ids must be in \\[0, 6\\)"):
        tok.decode([0, 6])
    with pytest.raises(ValueError, match="ids must be in"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="ids must be an integer array"):
        tok.decode([1.0])
    with pytest.raises(TypeError, match="texts must hold str"):
        datasets.char_tokenizer(["ab", 3])
    with pytest.raises(TypeError, match="texts must be a str or an iterable"):
        datasets.char_tokenizer(5)
    with pytest.raises(ValueError, match="at least 3"):
        datasets.char_tokenizer(["ab"], specials=("<pad>", "<eos>"))
    with pytest.raises(ValueError, match="distinct"):
        datasets.char_tokenizer(["ab"], specials=("<pad>", "<pad>", "<eos>"))
    with pytest.raises(ValueError, match="must not be characters"):
        datasets.char_tokenizer(["a_b"], specials=("_", "<sos>", "<eos>"))
    with pytest.raises(TypeError, match="specials"):
        datasets.char_tokenizer(["ab"], specials="<pad>")


# ------------------------------------------------------------------ seq2seq: reverse task
def test_reverse_task_invariants():
    sources, targets = datasets.reverse_task(2000, min_len=5, max_len=40, vocab_size=20, seed=0)
    assert len(sources) == len(targets) == 2000
    lengths = [len(s) for s in sources]
    assert min(lengths) == 5 and max(lengths) == 40
    flat = [i for s in sources for i in s]
    assert all(type(i) is int for i in flat)
    assert min(flat) == 3 and max(flat) == 19
    for s, t in zip(sources, targets):
        assert t == s[::-1]
        assert t is not s


@pytest.mark.parametrize("min_len, max_len, vocab_size", [(1, 1, 4), (3, 3, 5), (2, 9, 100)])
def test_reverse_task_ranges(min_len, max_len, vocab_size):
    sources, targets = datasets.reverse_task(300, min_len, max_len, vocab_size, seed=1)
    assert all(min_len <= len(s) <= max_len for s in sources)
    assert all(3 <= i < vocab_size for s in sources for i in s)
    assert all(t == s[::-1] for s, t in zip(sources, targets))


def test_reverse_task_seeding():
    a = datasets.reverse_task(50, seed=2)
    assert a == datasets.reverse_task(50, seed=2)
    assert a == datasets.reverse_task(50, seed=np.random.default_rng(2))
    assert a != datasets.reverse_task(50, seed=3)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=3, min_len=0), ValueError, "min_len must be >= 1"),
    (dict(n=3, min_len=10, max_len=5), ValueError, "min_len must be <= max_len"),
    (dict(n=3, max_len=7.5), TypeError, "max_len must be an int"),
    (dict(n=3, vocab_size=3), ValueError, "vocab_size must be >= 4"),
    (dict(n=3, vocab_size=True), TypeError, "vocab_size must be an int"),
    (dict(n=3, seed=-1), ValueError, "seed"),
])
def test_reverse_task_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        datasets.reverse_task(**kwargs)
