"""The package's top level: every public name resolves, and ``import
fastrnn`` loads only what the user touches (names are imported on first
use)."""
import inspect
import os

import pytest

import fastrnn as fr

from helpers.running import run_python


@pytest.mark.parametrize("name", fr.__all__)
def test_every_public_name_resolves_and_is_listed(name):
    assert getattr(fr, name) is not None
    assert name in dir(fr)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'fastrnn' has no attribute 'LTSM'"):
        fr.LTSM  # noqa: B018 (the lookup is what is tested)


def test_import_loads_only_what_is_used(tmp_path):
    code = ("import sys\n"
            "import fastrnn as fr\n"
            "print(sorted(m for m in sys.modules if m.startswith('fastrnn')))\n"
            "fr.LSTM(4, 8)\n"
            "loaded = {m for m in sys.modules if m.startswith('fastrnn')}\n"
            "print(sorted(m for m in ('fastrnn.datasets', 'fastrnn.models', 'fastrnn.io',\n"
            "                         'fastrnn.plotting', 'fastrnn.onnx_export',\n"
            "                         'fastrnn.distributed') if m in loaded))\n"
            "print(fr.Seq2Seq.__module__, 'fastrnn.models' in sys.modules)\n")
    res = run_python(code, tmp_path, FASTRNN_KERNELS="")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["['fastrnn']", "[]",
                                       "fastrnn.models.seq2seq True"]


def test_a_task_model_loads_in_a_process_that_has_not_used_the_models(tmp_path):
    path = tmp_path / "model.frnn"
    fr.save(fr.SequenceClassifier(vocab_size=20, num_classes=3, hidden_size=8, seed=0), path)
    code = ("import sys\n"
            "import fastrnn as fr\n"
            f"model = fr.load({str(path)!r})\n"
            "print(type(model).__name__, 'SequenceClassifier' in fr.io.registered_modules())\n")
    res = run_python(code, tmp_path, FASTRNN_KERNELS="")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["SequenceClassifier", "True"]


def _public_callables():
    for name in fr.__all__:
        obj = getattr(fr, name)
        if inspect.isclass(obj):
            if obj.__init__ is not object.__init__ and not issubclass(obj, Exception):
                yield name, obj.__init__
        elif callable(obj):
            yield name, obj


@pytest.mark.parametrize("name,func", list(_public_callables()))
def test_the_public_signatures_are_annotated(name, func):
    """py.typed: every public function's and constructor's parameters and
    result carry a type (strings, under ``from __future__ import annotations``)."""
    signature = inspect.signature(func)
    missing = [p.name for p in signature.parameters.values()
               if p.name != "self" and p.annotation is inspect.Parameter.empty]
    assert not missing, f"fr.{name}: {missing} unannotated"
    assert signature.return_annotation is not inspect.Signature.empty, f"fr.{name}: no return type"


def test_the_package_says_it_is_typed():
    assert os.path.exists(os.path.join(os.path.dirname(fr.__file__), "py.typed"))
