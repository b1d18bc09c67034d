"""fastrnn: fast fused RNN / LSTM / GRU kernels for the CPU under a
PyTorch-shaped numpy API.

>>> import fastrnn as fr
>>> lstm = fr.LSTM(16, 32)
>>> out, (h_n, c_n) = lstm(x)          # x: (T, B, 16)
"""
from . import datasets, functional, losses, optim
from .interop import from_torch, to_torch
from .io import FormatError, load, register_module, save
from ._runtime import get_num_threads, set_num_threads, show_config
from .layers import (GRU, LSTM, RNN, Dropout, Embedding, GRUCell, Linear, LSTMCell, Module,
                     RNNCell, Sequential)
from .models import LanguageModel, SequenceClassifier, SequenceRegressor, SequenceTagger

__version__ = "0.1.0"

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Module",
    "Linear", "Embedding", "Dropout", "Sequential",
    "SequenceClassifier", "SequenceTagger", "SequenceRegressor", "LanguageModel",
    "functional", "losses", "optim", "datasets", "set_num_threads", "get_num_threads", "show_config",
    "from_torch", "to_torch", "save", "load", "FormatError", "register_module",
]
