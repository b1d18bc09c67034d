"""fastrnn: fast fused RNN / LSTM / GRU kernels for the CPU under a
PyTorch-shaped numpy API.

>>> import fastrnn as fr
>>> lstm = fr.LSTM(16, 32)
>>> out, (h_n, c_n) = lstm(x)          # x: (T, B, 16)

``import fastrnn`` loads nothing but this table: each name below is
imported the first time it is used (PEP 562), so a program that only
builds layers never loads the datasets, plotting, interop or model code.
``python -X importtime -c "import fastrnn"`` shows what an import costs.
"""
import importlib
import os

__version__ = "0.1.0"

# A build forced with FASTRNN_KERNELS is checked now: an unknown name, or a
# build this CPU cannot run, fails the import rather than the first call.
if os.environ.get("FASTRNN_KERNELS", "").strip():
    importlib.import_module(f"{__name__}._kernels")

# Public name -> the submodule that defines it (a submodule's own name:
# the submodule itself).
_WHERE = {
    **dict.fromkeys(("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Module", "Linear",
                     "Embedding", "Dropout", "Sequential", "DotAttention", "GeneralAttention",
                     "AdditiveAttention", "SelfAttention", "freeze"), "layers"),
    **dict.fromkeys(("SequenceClassifier", "SequenceTagger", "SequenceRegressor",
                     "LanguageModel", "Seq2Seq"), "models"),
    **dict.fromkeys(("plot_attention", "plot_history"), "plotting"),
    **dict.fromkeys(("set_num_threads", "get_num_threads", "show_config"), "_runtime"),
    **dict.fromkeys(("from_torch", "to_torch"), "interop"),
    **dict.fromkeys(("save", "load", "FormatError", "register_module"), "io"),
    "to_onnx": "onnx_export", "from_onnx": "onnx_import", "from_keras": "keras_import",
    **{name: name for name in ("functional", "losses", "optim", "datasets", "distributed",
                               "layers", "models", "io", "interop", "plotting", "onnx_export",
                               "onnx_import", "keras_import")},
}

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Module",
    "Linear", "Embedding", "Dropout", "Sequential",
    "DotAttention", "GeneralAttention", "AdditiveAttention", "SelfAttention",
    "plot_attention", "plot_history",
    "SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel", "Seq2Seq",
    "functional", "losses", "optim", "datasets", "distributed", "set_num_threads",
    "get_num_threads", "show_config",
    "from_torch", "to_torch", "save", "load", "FormatError", "register_module", "freeze",
    "to_onnx", "from_onnx", "from_keras",
]


def __getattr__(name):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'fastrnn' has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{where}")
    value = module if where == name else getattr(module, name)
    globals()[name] = value   # the next lookup is an ordinary one
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
