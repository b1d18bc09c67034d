"""Safe saving and loading of fastrnn modules: ``fr.save`` / ``fr.load``.

A saved module is ONE file holding its weights and the configuration that
rebuilds it.  Loading never unpickles and never imports or looks up
anything named by the file, so loading an untrusted file cannot run code:
the worst a malicious file can do is be refused with a :class:`FormatError`.

File format (format ``"fastrnn"``, versions 1 and 2)
-----------------------------------------------------
A zip archive of uncompressed (stored) entries, like ``np.savez``, holding

* ``header.json``: a UTF-8 JSON object ::

      {"format": "fastrnn", "format_version": 1, "fastrnn_version": "0.1.0",
       "class": "LSTM", "config": {...get_config()...}, "dtype": "float32",
       "parameters": [{"name": "weight_ih_l0", "shape": [64, 16],
                       "dtype": "float32"}, ...]}

* one ``<name>.npy`` entry per parameter, ``<name>`` being the parameter's
  (dotted, for nested modules) name in ``state_dict()``, written with
  ``allow_pickle=False``.

``np.load(path, allow_pickle=False)`` can read the arrays of such a file.
:func:`load` refuses compressed entries (they could expand to far more than
the file holds) and entries that overlap, so that a file never yields more
bytes than its size.
The recommended file extension is ``.frnn`` (:data:`FILE_EXTENSION`);
:func:`save` writes exactly the path it is given and appends nothing.

Module classes
--------------
:func:`load` rebuilds only classes listed in an explicit registry (a dict
from name to class, ``fastrnn.io.registry``).  The six recurrent classes,
the building blocks Linear, Embedding and Dropout, the attention blocks
DotAttention, GeneralAttention, AdditiveAttention and SelfAttention, and the
container Sequential are registered there, the task models by
``fastrnn.models``; a new module class is made loadable with one line,
``register_module(MyClass)``.  Before building anything, :func:`load`
compares the file's parameter list with what the class says its config
holds (its ``param_shapes``), so a forged size allocates nothing.

The package: ``format`` (names, versions, the limits save and load share),
``registry``, ``saving`` (:func:`save`), ``loading`` (:func:`load`).

Containers
----------
A container (Sequential) is built from its child modules, not from keyword
arguments, so its ``config`` in the header lists its children, in order,
each as the same class / config pair the header holds for the top-level
module ::

      {"modules": [{"class": "Embedding", "config": {...}},
                   {"class": "Sequential", "config": {"modules": [...]}}, ...]}

Child class names are resolved in the registry like the top-level one, and
each child config is checked the same way.  The parameters are the
children's, named ``"<index>.<name>"`` (``"0.weight"``, ``"1.0.bias"``).
Containers nest at most 16 deep and hold at most 1024 modules in all (the
top-level module not counted).

Shared modules (format version 2)
---------------------------------
A module object that a container holds more than once (tied weights, say
``Sequential(emb, emb)``) is written once: its later places hold
``{"same_as": "<path>"}``, ``<path>`` being the dotted place ("0", "2.1") of
its first one, and its parameters are listed and stored under their first
names only.  :func:`load` puts the same module object back in each place, so
the weights stay tied through training.  A file with no shared module is
written as version 1, which older fastrnn versions read.  One array shared
by two different modules (not one module used twice) is refused by
:func:`save`: a file could not rebuild it.
"""
from .format import FILE_EXTENSION, FORMAT_NAME, FORMAT_VERSION, FormatError
from .loading import load
from .registry import predict_param_shapes, register_module, registered_modules
from .saving import check_saveable, save

__all__ = ["save", "load", "check_saveable", "register_module", "registered_modules",
           "predict_param_shapes", "FormatError", "FORMAT_NAME", "FORMAT_VERSION", "FILE_EXTENSION"]
