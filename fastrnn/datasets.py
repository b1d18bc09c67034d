"""Small generated datasets and one shipped text, for examples and tests.

Everything here is pure numpy and seeded: each generator takes
``seed=None | int | numpy.random.Generator`` and gives the same data for
the same seed.

>>> from fastrnn import datasets
>>> X, y = datasets.adding_problem(256, length=100, seed=0)    # (256, 100, 2), (256, 1)
>>> seqs, labels, vocab = datasets.sentiment(1000, seed=0)     # word ids, 0/1, words
>>> X, y = datasets.sliding_windows(datasets.sine_wave(500), window=20)
>>> ids, alphabet = datasets.char_vocab(datasets.load_text("nursery_rhymes"))

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (bad
value); messages name the argument, what was expected and what was got.
"""
import importlib.resources

import numpy as np

from ._validation import asarray_of, check_bytes, make_rng, positive_int, real_number, resolve_dtype

__all__ = [
    "adding_problem", "sentiment", "sine_wave", "ar_process", "sliding_windows",
    "load_text", "available_texts", "char_vocab", "decode_chars",
    "dates", "char_tokenizer", "CharTokenizer", "reverse_task",
]


# ------------------------------------------------------------------ helpers
# ------------------------------------------------------------------ adding problem
def adding_problem(n, length=100, seed=None, dtype="float32"):
    """The adding problem: sum the two marked numbers of a long sequence.

    Each sequence has two input channels.  Channel 0 holds numbers drawn
    uniformly from [0, 1); channel 1 is a marker that is 1 at exactly two
    steps, one in the first half (``t < length // 2``) and one in the
    second half, and 0 elsewhere.  The target is the sum of the two marked
    numbers, so a model must remember a value across up to ``length`` steps
    (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015).

    Predicting the constant 1.0 (the mean of the target) gives a mean
    squared error of Var(U1 + U2) = 2/12 ~ 0.167: the baseline a model must
    beat to show that it has learnt anything.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    length : int, default 100
        Sequence length T, >= 2.
    seed : None, int or numpy.random.Generator, optional
        Random source; the same seed gives the same data.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of ``X`` and ``y``.

    Returns
    -------
    X : ndarray, shape (n, length, 2)
        Batch-first inputs: ``X[..., 0]`` the values, ``X[..., 1]`` the markers.
    y : ndarray, shape (n, 1)
        The sum of the two marked values.

    Examples
    --------
    >>> X, y = adding_problem(4, length=10, seed=0)
    >>> X.shape, y.shape
    ((4, 10, 2), (4, 1))
    >>> bool(np.allclose((X[..., 0] * X[..., 1]).sum(axis=1, keepdims=True), y))
    True
    """
    n = positive_int(n, "n")
    length = positive_int(length, "length", minimum=2)
    dt = resolve_dtype(dtype)
    check_bytes(n * length * (8 + 2 * dt.itemsize), f"adding_problem(n={n}, length={length})")
    rng = make_rng(seed)
    half = length // 2
    values = rng.random((n, length))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    rows = np.arange(n)
    X = np.zeros((n, length, 2), dtype=dt)
    X[..., 0] = values
    X[rows, first, 1] = 1
    X[rows, second, 1] = 1
    y = (values[rows, first] + values[rows, second]).reshape(n, 1).astype(dt)
    return X, y


# ------------------------------------------------------------------ sentiment
# A fixed vocabulary (independent of seed and n): ids 0 and 1 are reserved.
_SUBJECTS = (("it",), ("this", "film"), ("the", "movie"), ("the", "film"), ("the", "plot"),
             ("the", "acting"), ("the", "story"), ("the", "ending"), ("the", "cast"),
             ("the", "music"), ("the", "script"), ("the", "dialogue"), ("the", "pacing"),
             ("the", "soundtrack"), ("the", "director"), ("the", "lead"))
_VERBS = ("was", "is", "felt", "seemed", "looked", "sounded")
_NEGATIONS = ("not", "never")
_INTENSIFIERS = ("very", "really", "so", "extremely", "quite", "truly")
_POSITIVE = ("good", "great", "excellent", "wonderful", "fun", "brilliant", "enjoyable",
             "charming", "clever", "beautiful", "superb", "moving", "delightful", "smart")
_NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor", "weak", "horrible",
             "bland", "tedious", "clumsy", "disappointing", "messy", "lifeless")
_BUT = "but"
# Neutral filler phrases, used to pad sentences to their drawn length.
_FILLERS = (("honestly",), ("overall",), ("well",), ("frankly",), ("again",), ("i", "think"),
            ("to", "me"), ("i", "guess"), ("at", "times"), ("to", "be", "fair"),
            ("in", "the", "end"), ("in", "my", "opinion"), ("if", "you", "ask", "me"),
            ("for", "the", "most", "part"), ("as", "far", "as", "i", "can", "tell"),
            ("after", "the", "first", "hour"), ("on", "a", "rainy", "sunday", "afternoon"))


def _sentiment_vocab():
    words = []
    groups = (_SUBJECTS, [(v,) for v in _VERBS], [(w,) for w in _NEGATIONS],
              [(w,) for w in _INTENSIFIERS], [(w,) for w in _POSITIVE],
              [(w,) for w in _NEGATIVE], [(_BUT,)], _FILLERS)
    for group in groups:
        for phrase in group:
            for word in phrase:
                if word not in words:
                    words.append(word)
    return ["<pad>", "<unk>"] + words


_VOCAB = _sentiment_vocab()
_WORD_ID = {w: i for i, w in enumerate(_VOCAB)}
_P_NEGATE = 0.4       # a clause's sentiment word is negated
_P_INTENSIFY = 0.3    # "very good", "not really good"
_P_BUT = 0.4          # "<clause> but <contrasting clause>" (when the length allows)


def _clause(rng, polarity, compact):
    """Tokens of one clause whose meaning has ``polarity`` (1 positive, 0 negative)."""
    negated = rng.random() < _P_NEGATE
    word_polarity = polarity ^ int(negated)
    pool = _POSITIVE if word_polarity else _NEGATIVE
    tokens = []
    if not compact:
        tokens += list(_SUBJECTS[rng.integers(len(_SUBJECTS))])
        tokens.append(_VERBS[rng.integers(len(_VERBS))])
    if negated:
        tokens.append(_NEGATIONS[rng.integers(len(_NEGATIONS))])
    if rng.random() < _P_INTENSIFY:
        tokens.append(_INTENSIFIERS[rng.integers(len(_INTENSIFIERS))])
    tokens.append(pool[rng.integers(len(pool))])
    return tokens


def _sentence(rng, label, length):
    """A token list of exactly ``length`` words whose meaning is ``label``."""
    clauses = None
    for _ in range(50):
        if length >= 7 and rng.random() < _P_BUT:
            # the clause after "but" decides; the one before contrasts with it
            clauses = [_clause(rng, 1 - label, False), [_BUT], _clause(rng, label, False)]
        else:
            clauses = [_clause(rng, label, False)]
        if sum(map(len, clauses)) <= length:
            break
    else:  # very short sentences: a bare "not good" / "great" clause
        for _ in range(50):
            clauses = [_clause(rng, label, True)]
            if sum(map(len, clauses)) <= length:
                break
        else:
            word_pool = _POSITIVE if label else _NEGATIVE
            clauses = [[word_pool[rng.integers(len(word_pool))]]]
    # pad with neutral filler phrases at the start or after a clause
    slots = [[] for _ in range(len(clauses) + 1)]
    gap = length - sum(map(len, clauses))
    while gap > 0:
        fitting = [f for f in _FILLERS if len(f) <= gap]
        phrase = fitting[rng.integers(len(fitting))]
        slots[rng.integers(len(slots))].extend(phrase)
        gap -= len(phrase)
    tokens = list(slots[0])
    for clause, after in zip(clauses, slots[1:]):
        tokens += clause + after
    return tokens


def sentiment(n, seed=None, min_len=4, max_len=30):
    """Generated sentiment sentences whose label needs word order.

    Each sentence is one or two clauses such as "the plot was not very
    good", padded with neutral filler phrases ("honestly", "in the end",
    ...) to a length drawn uniformly from ``[min_len, max_len]``.  The
    label is the meaning of the sentence:

    * a negation ("not", "never") flips the sentiment word after it
      (optionally with an intensifier between: "not very good" is negative);
    * intensifiers ("very", "really", ...) do not change the polarity;
    * in "<clause> but <clause>" the clause after "but" decides, and the
      clause before it has the opposite meaning.

    Sentiment words are negated in about 40 % of clauses and about 40 % of
    long-enough sentences have a "but", so a word's presence says little
    about the label: a bag-of-words classifier (logistic regression on
    word counts) stays near chance (about 55-60 % held-out accuracy),
    while a small LSTM (embedding 16, hidden 32) reads the order and
    reaches over 95 % within a few epochs of 5000 sentences.  Classes are
    drawn with equal probability.

    Parameters
    ----------
    n : int
        Number of sentences, >= 1.
    seed : None, int or numpy.random.Generator, optional
        Random source; the same seed gives the same data.
    min_len, max_len : int, default 4 and 30
        Sentence lengths are uniform in ``[min_len, max_len]``,
        ``1 <= min_len <= max_len``.

    Returns
    -------
    seqs : list of list of int
        ``n`` sentences as word ids, each id >= 2.
    labels : ndarray of int64, shape (n,)
        0 negative, 1 positive.
    vocab : list of str
        ``vocab[i]`` is the word of id ``i``; ``vocab[0] == "<pad>"`` and
        ``vocab[1] == "<unk>"`` are reserved and never generated.  The
        vocabulary is the same for every seed and ``n``.

    Examples
    --------
    >>> seqs, labels, vocab = sentiment(3, seed=0)
    >>> " ".join(vocab[i] for i in seqs[0])          # doctest: +SKIP
    'honestly the plot was not very good'
    """
    n = positive_int(n, "n")
    min_len = positive_int(min_len, "min_len")
    max_len = positive_int(max_len, "max_len")
    if min_len > max_len:
        raise ValueError(f"min_len must be <= max_len, got min_len={min_len} > max_len={max_len}")
    # Lists of word ids: at least a list header and a pointer per word.
    check_bytes(n * (72 + 4 * (min_len + max_len)),
                f"sentiment(n={n}, min_len={min_len}, max_len={max_len})")
    rng = make_rng(seed)
    labels = rng.integers(0, 2, size=n).astype(np.int64)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    seqs = [[_WORD_ID[w] for w in _sentence(rng, int(lab), int(L))]
            for lab, L in zip(labels, lengths)]
    return seqs, labels, list(_VOCAB)


# ------------------------------------------------------------------ time series
def sine_wave(n_steps, period=50.0, noise=0.0, seed=None, dtype="float32"):
    """A sine wave ``sin(2 pi t / period) + noise * N(0, 1)``, ``t = 0 .. n_steps-1``.

    Parameters
    ----------
    n_steps : int
        Number of samples, >= 1.
    period : float, default 50.0
        Period in steps, > 0.
    noise : float, default 0.0
        Standard deviation of added Gaussian noise, >= 0.
    seed : None, int or numpy.random.Generator, optional
        Random source of the noise.
    dtype : {"float32", "float64"}, default "float32"

    Returns
    -------
    ndarray, shape (n_steps,)

    Examples
    --------
    >>> x = sine_wave(100, period=25)
    >>> x.shape, x.dtype
    ((100,), dtype('float32'))
    """
    n_steps = positive_int(n_steps, "n_steps")
    period = real_number(period, "period", minimum=0.0, strict=True)
    noise = real_number(noise, "noise", minimum=0.0)
    dt = resolve_dtype(dtype)
    check_bytes(n_steps * (16 + dt.itemsize), f"sine_wave(n_steps={n_steps})")
    rng = make_rng(seed)
    x = np.sin(2.0 * np.pi * np.arange(n_steps) / period)
    if noise > 0:
        x = x + noise * rng.standard_normal(n_steps)
    return x.astype(dt)


def _ar_coefficients(coefficients):
    phi = asarray_of(coefficients, "coefficients", "a 1-D sequence of real numbers", kinds="fiu")
    if phi.ndim != 1 or phi.size == 0:
        raise ValueError(f"coefficients must be a non-empty 1-D sequence, got shape {phi.shape}")
    phi = phi.astype(np.float64)
    if not np.all(np.isfinite(phi)):
        raise ValueError(f"coefficients must be finite, got {phi.tolist()}")
    # x_t = sum_i phi_i x_{t-i} + e_t is stationary iff the roots of
    # 1 - phi_1 z - ... - phi_p z^p lie outside the unit circle, i.e. the
    # roots of z^p - phi_1 z^{p-1} - ... - phi_p lie inside it.
    inverse_roots = np.roots(np.concatenate(([1.0], -phi)))
    if inverse_roots.size and np.max(np.abs(inverse_roots)) >= 1.0:
        roots = 1.0 / inverse_roots[inverse_roots != 0]
        raise ValueError(
            f"coefficients must define a stationary AR process (all roots of "
            f"1 - phi_1 z - ... - phi_p z^p outside the unit circle), got coefficients "
            f"{phi.tolist()} with root moduli {np.round(np.sort(np.abs(roots)), 4).tolist()}")
    return phi


def ar_process(n_steps, coefficients=(0.6, -0.2, 0.3), noise=0.1, seed=None, dtype="float32"):
    """A stationary autoregressive AR(p) series.

    ``x_t = phi_1 x_{t-1} + ... + phi_p x_{t-p} + noise * e_t`` with
    ``e_t ~ N(0, 1)``.  The series starts after a burn-in, so it is drawn
    from (close to) the stationary distribution.

    Parameters
    ----------
    n_steps : int
        Number of samples, >= 1.
    coefficients : sequence of float, default (0.6, -0.2, 0.3)
        ``phi_1 .. phi_p``.  They must define a stationary process: every
        root of ``1 - phi_1 z - ... - phi_p z^p`` outside the unit circle
        (``ValueError`` otherwise).
    noise : float, default 0.1
        Standard deviation of the innovations, >= 0.
    seed : None, int or numpy.random.Generator, optional
        Random source; the same seed gives the same series.
    dtype : {"float32", "float64"}, default "float32"

    Returns
    -------
    ndarray, shape (n_steps,)

    Examples
    --------
    >>> x = ar_process(1000, coefficients=(0.5,), seed=0)
    >>> x.shape
    (1000,)
    >>> ar_process(10, coefficients=(1.0,))
    Traceback (most recent call last):
    ...
    ValueError: coefficients must define a stationary AR process ...
    """
    n_steps = positive_int(n_steps, "n_steps")
    phi = _ar_coefficients(coefficients)
    noise = real_number(noise, "noise", minimum=0.0)
    dt = resolve_dtype(dtype)
    rng = make_rng(seed)
    p = phi.size
    burn_in = 200 + 20 * p
    total = burn_in + n_steps
    check_bytes(total * 24 + n_steps * dt.itemsize, f"ar_process(n_steps={n_steps})")
    e = noise * rng.standard_normal(total)
    from scipy.signal import lfilter  # here: scipy.signal is slow to import

    # The recursion as an all-pole filter 1 / (1 - phi_1 z^-1 - ...), from rest.
    x = lfilter([1.0], np.concatenate(([1.0], -phi)), e)
    return x[burn_in:].astype(dt)


def sliding_windows(series, window, horizon=1):
    """Cut a series into (input window, following targets) training pairs.

    Pair ``i`` is ``X[i] = series[i : i + window]`` and
    ``y[i] = series[i + window : i + window + horizon]``.

    Parameters
    ----------
    series : array_like, shape (T,) or (T, F)
        A real-valued series; a 1-D series is treated as one feature (F=1).
    window : int
        Input length, >= 1.
    horizon : int, default 1
        Number of following steps to predict, >= 1.

    Returns
    -------
    X : ndarray, shape (N, window, F)
    y : ndarray, shape (N, horizon, F)
        ``N = T - window - horizon + 1`` pairs, in the series' dtype, as
        new contiguous arrays (not views of ``series``).

    Examples
    --------
    >>> X, y = sliding_windows(np.arange(6.0), window=3, horizon=2)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.]])
    >>> y[:, :, 0]
    array([[3., 4.],
           [4., 5.]])
    """
    s = asarray_of(series, "series", "a real numeric array", kinds="fiu")
    if s.ndim == 1:
        s = s[:, None]
    elif s.ndim != 2:
        raise ValueError(f"series must be 1-D (T,) or 2-D (T, F), got shape {np.shape(series)}")
    window = positive_int(window, "window")
    horizon = positive_int(horizon, "horizon")
    T = s.shape[0]
    N = T - window - horizon + 1
    if N < 1:
        raise ValueError(f"series must have at least window + horizon = {window + horizon} steps, "
                         f"got {T}")
    check_bytes(N * (window + horizon) * s.shape[1] * s.dtype.itemsize,
                f"sliding_windows(window={window}, horizon={horizon}) of {T} steps")
    views = np.lib.stride_tricks.sliding_window_view(s, window + horizon, axis=0)
    views = views[:N].transpose(0, 2, 1)            # (N, window + horizon, F)
    X = np.ascontiguousarray(views[:, :window])
    y = np.ascontiguousarray(views[:, window:])
    return X, y


# ------------------------------------------------------------------ text
def _data_dir():
    return importlib.resources.files("fastrnn").joinpath("data")


def available_texts():
    """Names of the texts shipped in ``fastrnn/data`` (for :func:`load_text`).

    Returns
    -------
    list of str
        Sorted names, without the ``.txt`` suffix.
    """
    data = _data_dir()
    try:
        entries = list(data.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name[:-4] for e in entries if e.name.endswith(".txt") and e.is_file())


def load_text(name="nursery_rhymes"):
    """A text shipped with fastrnn, for character-level language models.

    Parameters
    ----------
    name : str, default "nursery_rhymes"
        One of :func:`available_texts`.  ``"nursery_rhymes"`` is about 7 KB
        of traditional (public-domain) English nursery rhymes, each with
        its title, separated by blank lines.

    Returns
    -------
    str

    Examples
    --------
    >>> text = load_text()
    >>> text.splitlines()[0]
    'Mary Had a Little Lamb'
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} ({name!r})")
    names = available_texts()
    if name not in names:
        raise ValueError(f"name must be one of {names}, got {name!r}")
    return _data_dir().joinpath(name + ".txt").read_text(encoding="utf-8")


def char_vocab(text):
    """Encode a text as character ids.

    Parameters
    ----------
    text : str
        A non-empty text.

    Returns
    -------
    ids : ndarray of int64, shape (len(text),)
        ``ids[i]`` is the index of ``text[i]`` in ``alphabet``.
    alphabet : str
        The text's distinct characters, sorted.

    Examples
    --------
    >>> ids, alphabet = char_vocab("hello")
    >>> alphabet, ids.tolist()
    ('ehlo', [1, 0, 2, 2, 3])
    >>> decode_chars(ids, alphabet)
    'hello'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text must be non-empty, got ''")
    alphabet = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(alphabet)}
    ids = np.fromiter(map(index.__getitem__, text), dtype=np.int64, count=len(text))
    return ids, alphabet


def decode_chars(ids, alphabet):
    """Turn character ids back into text (the inverse of :func:`char_vocab`).

    Parameters
    ----------
    ids : array_like of int
        Indices into ``alphabet``, each in ``[0, len(alphabet))``; any shape
        (flattened in C order).
    alphabet : str
        The alphabet returned by :func:`char_vocab`.

    Returns
    -------
    str
    """
    if not isinstance(alphabet, str):
        raise TypeError(f"alphabet must be a str, got {type(alphabet).__name__}")
    return "".join(alphabet[i] for i in _id_list(ids, len(alphabet), "the alphabet's length"))


def _id_list(ids, size, what):
    """``ids`` (any shape, flattened) as a list of ints in ``[0, size)``."""
    arr = asarray_of(ids, "ids", "an integer array")
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be an integer array, got dtype {arr.dtype}")
    arr = arr.ravel()
    bad = (arr < 0) | (arr >= size)
    if bad.any():
        raise ValueError(f"ids must be in [0, {size}) ({what}), got {int(arr[np.argmax(bad)])}")
    return arr.tolist()


# ------------------------------------------------------------------ seq2seq

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DATE_FIRST = 1950      # dates() draws days uniformly from 1950-01-01 ..
_DATE_LAST = 2049       # .. 2049-12-31, so a two-digit year is unambiguous


def _ordinal_suffix(day):
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _date_fields(d):
    month, weekday = _MONTHS[d.month - 1], _WEEKDAYS[d.weekday()]
    return dict(Y=f"{d.year:04d}", yy=f"{d.year % 100:02d}", m=str(d.month), mm=f"{d.month:02d}",
                d=str(d.day), dd=f"{d.day:02d}", th=f"{d.day}{_ordinal_suffix(d.day)}",
                Month=month, Mon=month[:3], Weekday=weekday, Wkd=weekday[:3])


# Human-written formats (natural capitalisation; dates() then keeps, lowers
# or upper-cases the whole string).  Slashes are US month/day order, dots and
# dashes day/month order; a two-digit year is 19yy for yy >= 50, else 20yy.
_DATE_FORMATS = (
    "{Weekday}, {Month} {d}, {Y}",         # Wednesday, November 25, 2026
    "{d} {Mon} {Y}",                       # 25 Nov 2026
    "{m}/{d}/{yy}",                        # 11/25/26
    "{Month} {th}, {Y}",                   # November 25th, 2026
    "{dd}.{mm}.{Y}",                       # 25.11.2026
    "{Mon} {d}, {Y}",                      # Nov 25, 2026
    "the {th} of {Month} {Y}",             # the 25th of November 2026
    "{d} {Month} {Y}",                     # 25 November 2026
    "{Wkd}, {d} {Mon} {Y}",                # Wed, 25 Nov 2026
    "{mm}/{dd}/{Y}",                       # 11/25/2026
    "{dd}-{Mon}-{Y}",                      # 25-Nov-2026
    "{Month} {d} {Y}",                     # November 25 2026
    "{Weekday} {d} {Month} {Y}",           # Wednesday 25 November 2026
    "{Mon}. {th}, {Y}",                    # Nov. 25th, 2026
    "{Weekday}, the {th} of {Month}, {Y}",  # Wednesday, the 25th of November, 2026
)
_DATE_CASES = (("natural", 0.4), ("lower", 0.4), ("upper", 0.2))


def dates(n, seed=None):
    """Human-written dates and their ISO form: a character-level seq2seq task.

    Each pair is a day drawn uniformly from 1950-01-01 .. 2049-12-31,
    written in one of 15 formats ("wednesday, november 25, 2026",
    "25 nov 2026", "11/25/26", "November 25th, 2026", "25.11.2026",
    "Nov 25, 2026", "the 25th of november 2026", "Wed, 25 Nov 2026", ...)
    in natural, lower or upper case, and the same day as ``"2026-11-25"``.
    Weekday names, where a format has one, are the true weekday of the date.
    Slashed dates are month/day (US order), dotted and dashed ones
    day/month; two-digit years are unambiguous in the 1950-2049 range.

    Parameters
    ----------
    n : int
        Number of pairs, >= 1.
    seed : None, int or numpy.random.Generator, optional
        Random source; the same seed gives the same pairs.

    Returns
    -------
    sources : list of str
        The human-written dates (at most 40 characters).
    targets : list of str
        The same dates as ISO 8601 ``YYYY-MM-DD`` (10 characters).

    Examples
    --------
    >>> sources, targets = dates(3, seed=0)
    >>> sources[0], targets[0]                       # doctest: +SKIP
    ('wednesday, november 25, 2026', '2026-11-25')
    >>> tok = char_tokenizer(sources + targets)
    """
    import datetime

    n = positive_int(n, "n")
    # Two short strings and their list slots per pair, at the least.
    check_bytes(n * 150, f"dates(n={n})")
    rng = make_rng(seed)
    lo = datetime.date(_DATE_FIRST, 1, 1).toordinal()
    hi = datetime.date(_DATE_LAST, 12, 31).toordinal()
    days = rng.integers(lo, hi + 1, size=n)
    formats = rng.integers(0, len(_DATE_FORMATS), size=n)
    cases = rng.choice(len(_DATE_CASES), size=n, p=[p for _, p in _DATE_CASES])
    sources, targets = [], []
    for day, f, c in zip(days.tolist(), formats.tolist(), cases.tolist()):
        d = datetime.date.fromordinal(day)
        text = _DATE_FORMATS[f].format(**_date_fields(d))
        case = _DATE_CASES[c][0]
        if case == "lower":
            text = text.lower()
        elif case == "upper":
            text = text.upper()
        sources.append(text)
        targets.append(d.isoformat())
    return sources, targets


class CharTokenizer:
    """Characters <-> integer ids, with special tokens first (see :func:`char_tokenizer`).

    Attributes
    ----------
    vocab : list of str
        ``vocab[i]`` is the token of id ``i``: the specials, then the sorted
        characters.
    pad_id, sos_id, eos_id : int
        Ids of the first three specials (0, 1 and 2).
    specials : tuple of str
    """

    def __init__(self, characters, specials=("<pad>", "<sos>", "<eos>")):
        if isinstance(specials, str) or not all(isinstance(s, str) for s in specials):
            raise TypeError(f"specials must be a sequence of str, got {specials!r}")
        specials = tuple(specials)
        if len(specials) < 3:
            raise ValueError(f"specials must hold at least 3 tokens (pad, sos, eos), got {specials!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must be distinct, got {specials!r}")
        chars = sorted(set(characters))
        clash = [c for c in chars if c in specials]
        if clash:
            raise ValueError(f"specials must not be characters of the texts, got {clash[0]!r} in both")
        self.specials = specials
        self.vocab = list(specials) + chars
        self._index = {c: i for i, c in enumerate(self.vocab) if i >= len(specials)}
        self.pad_id, self.sos_id, self.eos_id = 0, 1, 2

    def __len__(self):
        return len(self.vocab)

    def __repr__(self):
        return f"CharTokenizer({len(self.vocab) - len(self.specials)} characters + {self.specials!r})"

    def encode(self, text):
        """The ids of ``text``'s characters (no specials added).

        Raises ``ValueError`` naming the first character not in the vocabulary.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            return [self._index[c] for c in text]
        except KeyError:
            pos, c = next((i, c) for i, c in enumerate(text) if c not in self._index)
            raise ValueError(f"character {c!r} (position {pos} of {text!r}) is not in the "
                             f"tokenizer's vocabulary") from None

    def decode(self, ids):
        """The text of ``ids``; special ids (pad, sos, eos, ...) are skipped."""
        k = len(self.specials)
        return "".join(self.vocab[i] for i in _id_list(ids, len(self.vocab),
                                                        "the vocabulary's size") if i >= k)


def char_tokenizer(texts, specials=("<pad>", "<sos>", "<eos>")):
    """A character tokenizer built from texts, for seq2seq models.

    Parameters
    ----------
    texts : str or iterable of str
        The texts whose characters make the vocabulary.
    specials : sequence of str, default ("<pad>", "<sos>", "<eos>")
        Special tokens, given the first ids: the first three are pad, sos
        and eos (``pad_id=0``, ``sos_id=1``, ``eos_id=2``); more may follow.

    Returns
    -------
    CharTokenizer
        ``.vocab`` (specials, then the sorted characters), ``.encode(text)``
        -> list of int (no specials added), ``.decode(ids)`` -> str
        (specials skipped), ``len()``, ``.pad_id``, ``.sos_id``, ``.eos_id``.

    Examples
    --------
    >>> tok = char_tokenizer(["2026-11-25"])
    >>> tok.vocab
    ['<pad>', '<sos>', '<eos>', '-', '0', '1', '2', '5', '6']
    >>> tok.encode("2025")
    [6, 4, 6, 7]
    >>> tok.decode([1, 6, 4, 6, 7, 2, 0])
    '2025'
    """
    if isinstance(texts, str):
        texts = [texts]
    chars = set()
    try:
        items = iter(texts)
    except TypeError:
        raise TypeError(f"texts must be a str or an iterable of str, got "
                        f"{type(texts).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"texts must hold str, got {type(t).__name__} at index {i}")
        chars.update(t)
    return CharTokenizer(chars, specials)


def reverse_task(n, min_len=5, max_len=40, vocab_size=20, seed=None):
    """Random token sequences and their reversals: the classic seq2seq sanity task.

    Parameters
    ----------
    n : int
        Number of pairs, >= 1.
    min_len, max_len : int, default 5 and 40
        Lengths are uniform in ``[min_len, max_len]``, ``1 <= min_len <= max_len``.
    vocab_size : int, default 20
        Tokens are drawn uniformly from ``[3, vocab_size)``; ids 0, 1, 2 are
        reserved for pad, sos and eos.  ``vocab_size >= 4``.
    seed : None, int or numpy.random.Generator, optional
        Random source; the same seed gives the same pairs.

    Returns
    -------
    sources, targets : list of list of int
        ``targets[i] == sources[i][::-1]``.

    Examples
    --------
    >>> src, tgt = reverse_task(2, min_len=3, max_len=3, seed=0)
    >>> tgt[0] == src[0][::-1]
    True
    """
    n = positive_int(n, "n")
    min_len = positive_int(min_len, "min_len")
    max_len = positive_int(max_len, "max_len")
    vocab_size = positive_int(vocab_size, "vocab_size", minimum=4)
    if min_len > max_len:
        raise ValueError(f"min_len must be <= max_len, got min_len={min_len} > max_len={max_len}")
    # Each pair: two lists of token ids (a header and a pointer per token).
    check_bytes(n * (120 + 8 * (min_len + max_len)),
                f"reverse_task(n={n}, min_len={min_len}, max_len={max_len})")
    rng = make_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    tokens = rng.integers(3, vocab_size, size=int(lengths.sum())).tolist()
    sources, start = [], 0
    for L in lengths.tolist():
        sources.append(tokens[start:start + L])
        start += L
    return sources, [s[::-1] for s in sources]
