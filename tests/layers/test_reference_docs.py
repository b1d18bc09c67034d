"""The recurrent layers' and cells' reference is what ``help()`` shows: equations,
every constructor parameter with its default, shapes, parameter names, and
examples that run."""
import inspect

import pytest

import fastrnn as fr

from helpers.running import docstring_examples


@pytest.mark.parametrize("cls", [fr.RNN, fr.LSTM, fr.GRU, fr.RNNCell, fr.LSTMCell, fr.GRUCell])
def test_the_docstring_names_every_parameter_and_its_examples_run(cls):
    doc = cls.__doc__
    for section in ("Parameters", "Attributes", "Notes", "Examples"):
        assert f"{section}\n---" in doc, section
    for name, parameter in inspect.signature(cls).parameters.items():
        assert f"\n{name} : " in doc, name
        if parameter.default is not inspect.Parameter.empty and parameter.default is not None:
            assert f"default {parameter.default!r}".replace("'", '"') in doc or \
                f"default {parameter.default}" in doc, name
    assert "_t = " in doc                              # the equations
    failed, attempted = docstring_examples(cls)
    assert attempted >= 4 and failed == 0
