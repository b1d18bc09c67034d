"""fastrnn: fast fused RNN / LSTM / GRU kernels for the CPU under a
PyTorch-shaped numpy API.

>>> import fastrnn as fr
>>> lstm = fr.LSTM(16, 32)
>>> out, (h_n, c_n) = lstm(x)          # x: (T, B, 16)
"""
from . import datasets, distributed, functional, losses, optim
from .interop import from_torch, to_torch
from .onnx_export import to_onnx
from .onnx_import import from_onnx
from .keras_import import from_keras
from .io import FormatError, load, register_module, save
from ._runtime import get_num_threads, set_num_threads, show_config
from .layers import (GRU, LSTM, RNN, AdditiveAttention, DotAttention, Dropout, Embedding,
                     GeneralAttention, GRUCell, Linear, LSTMCell, Module, RNNCell, SelfAttention,
                     Sequential, freeze)
from .plotting import plot_attention, plot_history
from .models import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

__version__ = "0.1.0"

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Module",
    "Linear", "Embedding", "Dropout", "Sequential",
    "DotAttention", "GeneralAttention", "AdditiveAttention", "SelfAttention",
    "plot_attention", "plot_history",
    "SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel", "Seq2Seq",
    "functional", "losses", "optim", "datasets", "distributed", "set_num_threads", "get_num_threads", "show_config",
    "from_torch", "to_torch", "save", "load", "FormatError", "register_module", "freeze",
    "to_onnx", "from_onnx", "from_keras",
]
