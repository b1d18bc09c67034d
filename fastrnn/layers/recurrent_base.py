"""What the recurrent layers (RNN, LSTM, GRU) and their one-step cells
share: the configuration each checks the same way, and one layer-direction's
weights and gradient slots, by the suffix of their names."""
from .._validation import check_bools, positive_int
from ..functional import LOW_PRECISIONS
from .init import check_init_options
from .module import Module


# Each cell's step, as the layers' and the cells' docstrings show it.
EQUATIONS = {
    "rnn": "    h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh),    act = tanh or relu",
    "lstm": """\
    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_(t-1) + b_hi)
    f_t = sigmoid(W_if x_t + b_if + W_hf h_(t-1) + b_hf)
    g_t = tanh(W_ig x_t + b_ig + W_hg h_(t-1) + b_hg)
    o_t = sigmoid(W_io x_t + b_io + W_ho h_(t-1) + b_ho)
    c_t = f_t * c_(t-1) + i_t * g_t
    h_t = o_t * tanh(c_t)

with the gate blocks stacked in the order i, f, g, o (``W_ih = [W_ii;
W_if; W_ig; W_io]``), as PyTorch stacks them.""",
    "gru": """\
    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_(t-1) + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn))      (reset_after=True)
    n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_(t-1)) + b_hn)      (reset_after=False)
    h_t = (1 - z_t) * n_t + z_t * h_(t-1)

with the gate blocks stacked in the order r, z, n, as PyTorch stacks them.""",
}


class RecurrentModule(Module):
    """Base of the recurrent layers and cells (not a module of its own)."""

    _has_cell_state = False   # LSTM's state is (h, c)
    _num_gates = None         # set by each concrete class
    frozen_precisions = LOW_PRECISIONS

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
