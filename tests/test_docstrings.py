"""Every public class's and function's docstring examples run as written
(``help()`` is the reference: its examples must not go stale)."""
import inspect
import os

import pytest

import fastrnn as fr

from helpers.running import docstring_examples, torch_or_skip

# Examples that need an optional system: skipped without it, except where CI
# requires that system (torch_or_skip and FASTRNN_REQUIRE_KERAS).
NEEDS_TORCH = {"from_torch", "to_torch"}

PUBLIC = [name for name in fr.__all__ if not inspect.ismodule(getattr(fr, name))]


# (keras's own, from its numpy 2 arrays, as in test_keras_import.py)
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
@pytest.mark.parametrize("name", PUBLIC)
def test_the_examples_run(name, isolated_registry, tmp_path, monkeypatch):
    if name in NEEDS_TORCH:
        torch_or_skip()
    if name == "from_keras":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        if not os.environ.get("FASTRNN_REQUIRE_KERAS"):
            pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)            # an example that writes a file writes it here
    doc = inspect.getdoc(getattr(fr, name))
    assert "Examples\n--------" in doc, f"fr.{name} has no examples"
    failed, attempted = docstring_examples(getattr(fr, name))
    assert attempted and not failed
