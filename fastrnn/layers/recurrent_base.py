"""What the recurrent layers (RNN, LSTM, GRU) and their one-step cells
share: the configuration each checks the same way, and one layer-direction's
weights and gradient slots, by the suffix of their names."""
from .._validation import check_bools, positive_int
from .init import check_init_options
from .module import Module


class RecurrentModule(Module):
    """Base of the recurrent layers and cells (not a module of its own)."""

    _has_cell_state = False   # LSTM's state is (h, c)
    _num_gates = None         # set by each concrete class

    def _configure(self, mode, input_size, hidden_size, bias, reset_after, recurrent_init,
                   forget_bias):
        """Check and keep the configuration layers and cells share."""
        self.mode = mode
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        check_bools(bias=bias, reset_after=reset_after)
        self.bias = bool(bias)
        self.reset_after = bool(reset_after)
        self.forget_bias = check_init_options(mode, self.bias, recurrent_init, forget_bias)
        self.recurrent_init = recurrent_init

    def _weights_of(self, suffix):
        """The live ``(w_ih, w_hh, b_ih, b_hh)`` named with ``suffix`` (the
        biases None without ``bias``)."""
        p = self._params
        if self.bias:
            return (p["weight_ih" + suffix], p["weight_hh" + suffix], p["bias_ih" + suffix],
                    p["bias_hh" + suffix])
        return p["weight_ih" + suffix], p["weight_hh" + suffix], None, None

    def _grad_slots_of(self, suffix):
        """The gradient arrays of :meth:`_weights_of`'s parameters, as the
        functional backward names them (``w_ih``, ``w_hh``, ``b_ih``, ``b_hh``)."""
        g = self._grads
        slots = {"w_ih": g["weight_ih" + suffix], "w_hh": g["weight_hh" + suffix]}
        if self.bias:
            slots.update(b_ih=g["bias_ih" + suffix], b_hh=g["bias_hh" + suffix])
        return slots
