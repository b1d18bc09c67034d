"""Modules: recurrent layers and cells, and the building blocks around them."""
from .attention import AdditiveAttention, DotAttention, GeneralAttention, SelfAttention
from .cells import GRUCell, LSTMCell, RNNCell
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .module import Frozen, Module, freeze
from .recurrent import GRU, LSTM, RNN
from .sequential import Sequential
from .stream import Stream

__all__ = ["Module", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Linear",
           "Embedding", "Dropout", "Sequential", "DotAttention", "GeneralAttention",
           "AdditiveAttention", "SelfAttention", "freeze", "Frozen", "Stream"]
