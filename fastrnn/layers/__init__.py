"""Modules: recurrent layers and cells (more blocks arrive with later issues)."""
from .cells import GRUCell, LSTMCell, RNNCell
from .module import Module
from .recurrent import GRU, LSTM, RNN

__all__ = ["Module", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
