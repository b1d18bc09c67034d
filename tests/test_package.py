"""The package's top level: every public name resolves, and ``import
fastrnn`` loads only what the user touches (names are imported on first
use)."""
import ast
import functools
import importlib
import inspect
import os
import sys
import typing

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


def _public_methods():
    """``(qualified name, method)`` of every public method of the public
    classes (``__call__`` included) that fastrnn defines, each once (an
    inherited method under the class that defines it)."""
    methods = {}
    for name in fr.__all__:
        obj = getattr(fr, name)
        if not inspect.isclass(obj):
            continue
        for attr, member in inspect.getmembers(obj):
            if attr.startswith("_") and attr != "__call__":
                continue
            if not (inspect.isfunction(member) or inspect.ismethod(member)):
                continue
            if member.__module__.startswith("fastrnn"):
                methods.setdefault(member.__qualname__, member)
    return sorted(methods.items())


PUBLIC_METHODS = _public_methods()
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def test_the_public_methods_are_found():
    names = {qualname for qualname, _ in PUBLIC_METHODS}
    assert {"Module.state_dict", "_RecurrentLayer.forward_train", "_Cell.__call__",
            "TrainableModel.fit", "Seq2Seq.translate", "_Attention.attend"} <= names


@pytest.mark.parametrize("qualname,method", PUBLIC_METHODS, ids=[q for q, _ in PUBLIC_METHODS])
def test_the_public_methods_are_annotated(qualname, method):
    """py.typed: every public method's parameters (but ``*args`` /
    ``**kwargs``) and result carry a type."""
    signature = inspect.signature(method)
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.kind not in _VARIADIC
               and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{qualname}: {missing} unannotated"
    assert signature.return_annotation is not inspect.Signature.empty, f"{qualname}: no return type"


class _OptionalPackage:
    """Stands for an optional package a module imports for its annotations
    only (``mpi4py``: importing ``MPI`` would start MPI in this process):
    its every attribute is ``typing.Any``."""

    def __getattr__(self, name):
        return typing.Any


# What a module's ``if TYPE_CHECKING:`` block may import for real here.
_IMPORTABLE = {"typing", "collections", "os", "numpy", "fastrnn"}


@functools.lru_cache(maxsize=None)
def _annotation_namespace(module_name):
    """The names a module's string annotations use: its globals plus what
    its ``if TYPE_CHECKING:`` block imports (optional packages stood in for)."""
    module = importlib.import_module(module_name)
    namespace = dict(vars(module))
    for node in ast.parse(inspect.getsource(module)).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom):
                root = "fastrnn" if statement.level else statement.module.split(".")[0]
            else:
                root = statement.names[0].name.split(".")[0]
            if root in _IMPORTABLE:
                code = compile(ast.Module(body=[statement], type_ignores=[]), module.__file__, "exec")
                exec(code, namespace)
            else:
                for alias in statement.names:
                    namespace[(alias.asname or alias.name).split(".")[0]] = _OptionalPackage()
    return namespace


@pytest.mark.skipif(sys.version_info < (3, 10), reason="``X | None`` evaluates from Python 3.10")
@pytest.mark.parametrize("qualname,method", PUBLIC_METHODS, ids=[q for q, _ in PUBLIC_METHODS])
def test_the_public_method_annotations_resolve(qualname, method):
    """The string annotations name real types (``typing.get_type_hints``
    evaluates them), and none is a bare ``Any`` but ``**kwargs``'."""
    hints = typing.get_type_hints(method, globalns=_annotation_namespace(method.__module__))
    variadic = {p.name for p in inspect.signature(method).parameters.values() if p.kind in _VARIADIC}
    assert "return" in hints
    bare = [name for name, hint in hints.items() if hint is typing.Any and name not in variadic]
    assert not bare, f"{qualname}: {bare} annotated Any"


def test_the_package_says_it_is_typed():
    assert os.path.exists(os.path.join(os.path.dirname(fr.__file__), "py.typed"))
