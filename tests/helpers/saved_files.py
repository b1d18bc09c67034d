"""What the tests of ``fastrnn.io`` share: the module variants a round trip
must cover, comparisons of modules, and reading, forging and rewriting the
entries of a saved file."""
import io
import json
import warnings
import zipfile

import numpy as np

import fastrnn as fr

MERGE_MODES = ["concat", "sum", "mean", "max", "mul"]
DTYPES = ["float32", "float64"]


# --------------------------------------------------------------- variants
# (id, class, kwargs): every option that changes the parameters or config.
LAYER_VARIANTS = []
for _cls in (fr.RNN, fr.LSTM, fr.GRU):
    _n = _cls.__name__
    LAYER_VARIANTS += [
        (f"{_n}-default", _cls, {}),
        (f"{_n}-2layers", _cls, dict(num_layers=2)),
        (f"{_n}-bias_false", _cls, dict(bias=False, num_layers=2)),
        (f"{_n}-batch_first", _cls, dict(batch_first=True)),
        (f"{_n}-dropout", _cls, dict(num_layers=2, dropout=0.25)),
        (f"{_n}-orthogonal", _cls, dict(recurrent_init="orthogonal", num_layers=2)),
    ]
    LAYER_VARIANTS += [(f"{_n}-bidir-{m}", _cls, dict(num_layers=2, bidirectional=True,
                                                       merge_mode=m)) for m in MERGE_MODES]
LAYER_VARIANTS += [
    ("RNN-relu", fr.RNN, dict(nonlinearity="relu", num_layers=2)),
    ("GRU-reset_before", fr.GRU, dict(reset_after=False)),
    ("GRU-reset_before-bidir", fr.GRU, dict(reset_after=False, bidirectional=True,
                                            num_layers=2, merge_mode="mean")),
    ("LSTM-forget_bias", fr.LSTM, dict(forget_bias=1.0)),
    ("LSTM-forget_bias-orthogonal", fr.LSTM, dict(forget_bias=2.5, recurrent_init="orthogonal",
                                                  num_layers=2, bidirectional=True)),
    ("LSTM-everything", fr.LSTM, dict(num_layers=3, bidirectional=True, merge_mode="max",
                                      batch_first=True, bias=True, dropout=0.1,
                                      forget_bias=1.0, recurrent_init="orthogonal")),
]
CELL_VARIANTS = []
for _cls in (fr.RNNCell, fr.LSTMCell, fr.GRUCell):
    _n = _cls.__name__
    CELL_VARIANTS += [
        (f"{_n}-default", _cls, {}),
        (f"{_n}-bias_false", _cls, dict(bias=False)),
        (f"{_n}-orthogonal", _cls, dict(recurrent_init="orthogonal")),
    ]
CELL_VARIANTS += [
    ("RNNCell-relu", fr.RNNCell, dict(nonlinearity="relu")),
    ("GRUCell-reset_before", fr.GRUCell, dict(reset_after=False)),
    ("LSTMCell-forget_bias", fr.LSTMCell, dict(forget_bias=1.0, recurrent_init="orthogonal")),
]


def _flat(value):
    """Arrays of an output structure (tuples nested), in order."""
    if isinstance(value, tuple):
        return [a for v in value for a in _flat(v)]
    return [value]


def assert_same_module(a, b):
    """Same class, config, bit-identical parameters (values and dtypes)."""
    assert type(a) is type(b)
    assert a.get_config() == b.get_config()
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert sa[key].shape == sb[key].shape, key
        assert sa[key].tobytes() == sb[key].tobytes(), key


def assert_same_outputs(a, b, x):
    outs_a, outs_b = _flat(a(x)), _flat(b(x))
    assert len(outs_a) == len(outs_b) >= 1
    for oa, ob in zip(outs_a, outs_b):
        assert oa.dtype == ob.dtype == a.dtype
        assert np.array_equal(oa, ob)


# ---------------------------------------------------------------- helpers
def read_entries(path):
    """{entry name: bytes} of a zip, in archive order."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write_entries(path, entries, compression=zipfile.ZIP_STORED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names warn
        with zipfile.ZipFile(path, "w", compression=compression) as zf:
            for name, data in (entries.items() if isinstance(entries, dict) else entries):
                zf.writestr(name, data)
    return path


def npy_bytes(arr, allow_pickle=False, fortran=False):
    buf = io.BytesIO()
    if fortran:
        np.lib.format.write_array(buf, np.asfortranarray(arr), allow_pickle=allow_pickle)
    else:
        np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def header_json(entries):
    return json.loads(entries["header.json"].decode("utf-8"))


def with_header(entries, header):
    out = dict(entries)
    out["header.json"] = json.dumps(header).encode("utf-8")
    return out


def forged(tmp_path, entries, name="forged.frnn"):
    return write_entries(tmp_path / name, entries)
