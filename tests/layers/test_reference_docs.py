"""The reference ``help()`` shows for the layers and blocks: every
constructor parameter with its default, shapes, parameter names (the
recurrent ones: their equations), and examples that run."""
import inspect

import pytest

import fastrnn as fr

from helpers.running import docstring_examples


RECURRENT = [fr.RNN, fr.LSTM, fr.GRU, fr.RNNCell, fr.LSTMCell, fr.GRUCell]
BLOCKS = [fr.Linear, fr.Embedding, fr.Dropout, fr.DotAttention, fr.GeneralAttention,
          fr.AdditiveAttention, fr.SelfAttention]


@pytest.mark.parametrize("cls", RECURRENT + BLOCKS)
def test_the_docstring_names_every_parameter_and_its_examples_run(cls):
    doc = inspect.getdoc(cls)
    for section in ("Parameters", "Notes", "Examples"):
        assert f"{section}\n---" in doc, section
    for name, parameter in inspect.signature(cls).parameters.items():
        assert f"\n{name} : " in doc, name
        if parameter.default is not inspect.Parameter.empty and parameter.default is not None:
            assert f"default {parameter.default!r}".replace("'", '"') in doc or \
                f"default {parameter.default}" in doc, name
    if cls in RECURRENT:
        assert "_t = " in doc and "Attributes\n---" in doc     # the equations, the weights
    failed, attempted = docstring_examples(cls)
    assert attempted >= 2 and failed == 0
