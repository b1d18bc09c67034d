"""Fixtures of the ``fastrnn.io`` tests: a module and a valid file of it."""
import pytest

import fastrnn as fr
from fastrnn.io import save

from helpers.saved_files import read_entries


@pytest.fixture
def model():
    return fr.LSTM(3, 4, num_layers=2, bidirectional=True, seed=3)


@pytest.fixture
def saved(tmp_path, model):
    """A valid file of ``model`` and its entries."""
    path = tmp_path / "model.frnn"
    save(model, path)
    return path, read_entries(path)
