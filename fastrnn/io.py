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
from name to class).  The six recurrent classes, the building blocks
Linear, Embedding and Dropout, the attention blocks DotAttention,
GeneralAttention, AdditiveAttention and SelfAttention, and the container
Sequential are registered here; a new module class is made loadable with one line,
``register_module(MyClass)``.

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
import collections
import contextlib
import errno
import importlib
import inspect
import itertools
import json
import os
import re
import stat
import struct
import sys
import tempfile
import zipfile
import zlib

import numpy as np

from .layers.attention import AdditiveAttention, DotAttention, GeneralAttention, SelfAttention
from .layers.cells import GRUCell, LSTMCell, RNNCell
from .layers.dropout import Dropout
from .layers.embedding import Embedding
from .layers.linear import Linear
from .layers.module import Module
from .layers.recurrent import GRU, LSTM, RNN
from .layers.sequential import Sequential

__all__ = ["save", "load", "check_saveable", "register_module", "registered_modules", "predict_param_shapes",
           "FormatError",
           "FORMAT_NAME", "FORMAT_VERSION", "FILE_EXTENSION"]

FORMAT_NAME = "fastrnn"
# The newest version this fastrnn reads and writes; save writes version 1
# (readable by older fastrnn) unless the module shares a child (see above).
FORMAT_VERSION = 2
_READ_VERSIONS = (1, 2)
FILE_EXTENSION = ".frnn"

_HEADER_ENTRY = "header.json"
_HEADER_KEYS = ("format", "format_version", "fastrnn_version", "class", "config", "dtype",
                "parameters")
_PARAM_KEYS = ("name", "shape", "dtype")
_DTYPES = ("float32", "float64")
_MAX_HEADER_BYTES = 16 << 20          # a header is a few KiB; refuse absurd ones
_MAX_NPY_HEADER = 65536 + 16          # .npy magic, version, length and header text
_MAX_NDIM = 32
_MAX_DEPTH = 16                       # nesting of containers below the top-level module
_MAX_MODULES = 1024                   # modules below the top-level module, all levels
# JSON nesting of a header: three levels per container (config, modules list,
# child), a few more for the top object and values; deeper is forged.
_MAX_JSON_DEPTH = 3 * _MAX_DEPTH + 16
_MAX_PARAMETERS = 65535               # + the header: the entry count of a plain zip
# The zip directory: per entry 46 bytes, the name and up to 28 bytes of zip64
# sizes; 8 MiB holds 65536 entries whose names average 54 bytes (dotted
# parameter names are shorter).  Save refuses a module that needs more.
_MAX_DIRECTORY_BYTES = 8 << 20
_DIRECTORY_RECORD = 46 + 28
_LOCAL_HEADER = 30                    # bytes of a zip local file header before its name
_READ_CHUNK = 1 << 20                 # bytes read at a time into a parameter's array
_NAME_RE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
_CLASS_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_COMPRESSION_NAMES = {zipfile.ZIP_DEFLATED: "deflated", zipfile.ZIP_BZIP2: "bzip2",
                      zipfile.ZIP_LZMA: "lzma"}
# What a damaged archive can raise from zipfile / numpy while being read.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                struct.error, zlib.error, NotImplementedError, RuntimeError, OverflowError,
                IndexError, KeyError, MemoryError)


class FormatError(ValueError):
    """A file that is not a valid fastrnn model file, or that this version of
    fastrnn cannot load (a ``ValueError``; the message names the problem)."""


# ------------------------------------------------------------------ registry
_REGISTRY = {}       # name in the file -> class
_PARAM_SHAPES = {}   # class -> callable(arguments) -> iterable of (name, shape)


def register_module(cls, name=None, *, param_shapes=None):
    """Make a :class:`~fastrnn.layers.module.Module` subclass saveable and loadable.

    Parameters
    ----------
    cls : type
        A subclass of ``Module`` whose ``get_config()`` returns keyword
        arguments of its constructor (JSON-able values).
    name : str, optional
        The name written in files (default ``cls.__name__``).  Names are
        unique: registering another class under a taken name is an error.
    param_shapes : callable, optional
        ``param_shapes(arguments)`` -> iterable of ``(name, shape)`` pairs:
        the parameters ``cls(**arguments)`` would have, where ``arguments``
        is the constructor's bound arguments with defaults applied, or None
        when it cannot tell (the constructor then reports the problem).
        Default: the class's own ``param_shapes`` classmethod (every layer
        of fastrnn's has one; :class:`~fastrnn.layers.module.Module`'s
        cannot tell).  :func:`load` checks a file's parameter list against
        it BEFORE constructing the module, so that a forged config (say
        ``hidden_size=10**6``) is refused without allocating anything.

    Returns
    -------
    type
        ``cls`` (so the function also works as a class decorator).

    Raises
    ------
    TypeError
        ``cls`` is not a ``Module`` subclass, or ``param_shapes`` is not callable.
    ValueError
        ``name`` is not an identifier, or is already taken by another class,
        or ``cls`` is already registered under another name.
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a fastrnn Module subclass, got {cls!r}")
    if name is None:
        name = cls.__name__
    if not isinstance(name, str) or not _CLASS_NAME_RE.match(name):
        raise ValueError(f"register_module: name must be a Python identifier, got {name!r}")
    if param_shapes is not None and not callable(param_shapes):
        raise TypeError(f"param_shapes must be callable or None, got {type(param_shapes).__name__}")
    taken = _REGISTRY.get(name)
    if taken is not None and taken is not cls:
        raise ValueError(f"register_module: name {name!r} is already taken by {taken!r}")
    for other, other_cls in _REGISTRY.items():
        if other_cls is cls and other != name:
            raise ValueError(f"register_module: {cls!r} is already registered as {other!r}")
    _REGISTRY[name] = cls
    if param_shapes is not None:
        _PARAM_SHAPES[cls] = param_shapes
    return cls


def registered_modules():
    """The classes :func:`load` may rebuild.

    Returns
    -------
    dict
        A copy of the registry: name written in files -> class.
    """
    _register_task_models()
    return dict(_REGISTRY)


def _register_task_models():
    """fastrnn's task models register themselves when ``fastrnn.models`` is
    imported, which ``import fastrnn`` leaves until they are used: a file
    holding one must load in a process that has not touched them."""
    importlib.import_module("fastrnn.models")


def predict_param_shapes(cls, **arguments):
    """The ``(name, shape)`` pairs ``cls(**arguments)`` would have (an
    iterable, possibly lazy): from the ``param_shapes`` it was registered
    with, else from the class's own :meth:`~fastrnn.layers.module.Module.param_shapes`;
    None when the arguments do not bind or it cannot tell.  Composite
    classes build their own predictors from their children's with this."""
    try:
        bound = inspect.signature(cls).bind(**arguments)
    except TypeError:
        return None
    bound.apply_defaults()
    return _predicted(cls, dict(bound.arguments))


def _predicted(cls, arguments):
    """``cls``'s parameters for its bound constructor ``arguments`` (defaults
    applied): from the predictor it was registered with, else its own."""
    shapes_of = _PARAM_SHAPES.get(cls)
    return cls.param_shapes(**arguments) if shapes_of is None else shapes_of(arguments)


# The layers: each says its own parameter shapes (Module.param_shapes).
for _cls in (RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, Linear, Embedding, Dropout, DotAttention,
             GeneralAttention, AdditiveAttention, SelfAttention):
    register_module(_cls)

# Containers: classes built as ``cls(*children)`` rather than from keyword
# arguments, that name their i-th child ``str(i)`` and own no parameters
# themselves (see "Containers" in the module docstring).  io.py turns the
# children's class names back into classes, so the layers never import it.
# class -> callable(module) -> its children, in order.
_CONTAINERS = {}
register_module(Sequential)
_CONTAINERS[Sequential] = lambda seq: seq.modules


def _nesting_problem(depth, count):
    """Why a container at ``depth`` (0: the top-level module) cannot hold
    children, when the tree so far has ``count`` modules below the top; None
    when it can.  Shared by save and load, so that save never writes a file
    load refuses."""
    if depth >= _MAX_DEPTH:
        return f"containers nest more than {_MAX_DEPTH} deep"
    if count > _MAX_MODULES:
        return f"more than {_MAX_MODULES} modules in all"
    return None


def _registered_name(cls):
    for name, registered in _REGISTRY.items():
        if registered is cls:
            return name
    return None


def _accepted_keywords(cls):
    """Names the constructor accepts as keywords (no ``*args`` / ``**kwargs``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    signature = inspect.signature(cls)
    return signature, [p.name for p in signature.parameters.values() if p.kind in kinds]


# ---------------------------------------------------------------------- save
def _as_path(path, func):
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{func}: path must not be empty")
    return path


def _json_default(value):
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.dtype):
        return value.name
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-able")


def _fastrnn_version():
    package = sys.modules.get(__name__.rpartition(".")[0])
    return str(getattr(package, "__version__", "unknown"))


def _new_file_mode(path):
    """Permission bits for the written file: the old file's when replacing
    one, else what ``open(path, "w")`` would give (0o666 minus the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    umask = None
    try:  # Linux: read the umask without changing it (thread-safe)
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _zip_info(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _describe(module):
    """``(registered class name, config, shared)`` of ``module`` for a
    header; a container's config lists its children's (see the module
    docstring), a child met before as ``{"same_as": "<path>"}``, and
    ``shared`` maps each such child's path to the path it refers to.

    Raises
    ------
    TypeError
        A module of the tree is not an instance of a registered class, or its
        ``get_config()`` is not a dict of constructor arguments.
    ValueError
        Containers nest deeper, or hold more modules, than a file may.
    """
    count = 0
    first = {}    # id of a module of the tree -> its first path
    shared = {}   # path of a repeated child -> first path of that module
    keep = []     # the modules of ``first``, alive while their ids are keys

    def describe(module, path, depth):
        nonlocal count
        first[id(module)] = path
        keep.append(module)
        cls = type(module)
        what = f"child {path!r} ({cls.__name__})" if path else cls.__name__
        name = _registered_name(cls) if isinstance(module, Module) else None
        if name is None:
            raise TypeError(
                f"save: {what} is not a registered fastrnn module class "
                f"(registered: {sorted(_REGISTRY)}); use fastrnn.io.register_module")
        children_of = _CONTAINERS.get(cls)
        if children_of is None:
            return name, _leaf_config(module, what)
        children = list(children_of(module))
        count += len(children)
        problem = _nesting_problem(depth, count) if children else None
        if problem:
            raise ValueError(f"save: {what}: {problem}; load would refuse the file")
        prefix = path + "." if path else ""
        items = []
        for i, child in enumerate(children):
            child_path = f"{prefix}{i}"
            if id(child) in first:
                # The same object again (tied weights): a reference, so that
                # load puts one module in both places.  Only a module already
                # described whole can be referred to, never an ancestor (a
                # container inside itself).
                target = first[id(child)]
                if not target or child_path.startswith(target + "."):
                    raise ValueError(f"save: {what} holds itself (child {child_path!r} is "
                                     f"{'the top-level module' if not target else repr(target)})")
                shared[child_path] = target
                items.append({"same_as": target})
                continue
            child_name, child_config = describe(child, child_path, depth + 1)
            items.append({"class": child_name, "config": child_config})
        return name, {"modules": items}

    name, config = describe(module, "", 0)
    return name, config, shared


def _first_names(params):
    """``{name: first name}`` over ``params`` (name -> array, in order): the
    name under which each array appears first, for every name (an array
    registered in several places is one parameter of the file)."""
    first, out = {}, {}
    for name, arr in params.items():
        out[name] = first.setdefault(id(arr), name)
    return out


def _shared_head(name, shared):
    """The repeated child (a key of ``shared``) whose parameter ``name`` is,
    or None: a lookup per dotted prefix, not a scan of ``shared``."""
    parts = name.split(".")
    for end in range(1, len(parts)):
        head = ".".join(parts[:end])
        if head in shared:
            return head
    return None


def _check_sharing(params, shared):
    """Refuse an array that appears under two names unless a shared child
    explains it (``"<child>.<rest>"`` is ``"<first path>.<rest>"`` of the
    module it repeats): such an array could not be rebuilt by :func:`load`."""
    for name, canonical in _first_names(params).items():
        if name == canonical:
            continue
        head = _shared_head(name, shared)
        if head is None or shared[head] + name[len(head):] != canonical:
            raise ValueError(
                f"save: parameters {canonical!r} and {name!r} are one array shared by two "
                f"different modules; a file keeps tied weights only as one module object "
                f"used in several places of a Sequential (e.g. Sequential(emb, emb)), so "
                f"load could not tie them again")


def _leaf_config(module, what):
    """``module.get_config()``, checked to be keyword arguments of its class."""
    cls = type(module)
    config = module.get_config()
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError(f"save: {what}: get_config() must return a dict with str keys")
    _, accepted = _accepted_keywords(cls)
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise TypeError(f"save: {what}: get_config() returned key(s) {unknown} that "
                        f"{cls.__name__}() does not accept, so the file could not be loaded")
    return config


def check_saveable(module):
    """Raise what :func:`save` would raise for ``module``'s structure -- an
    unregistered class, containers too deep or too large, an array shared
    by two different modules -- without writing anything (``fit`` checks
    its checkpoint's model before the first epoch)."""
    _, _, shared = _describe(module)
    _check_sharing(module.parameters(), shared)


def save(module, path):
    """Write ``module``'s configuration and weights to one file, safely loadable.

    The file is a zip archive holding a JSON header (format name and version,
    fastrnn version, class name, ``get_config()`` -- for a container, its
    children's classes and configs --, dtype and the parameter list) and one
    ``.npy`` entry per parameter; see the module docstring.
    Nothing in it is pickled: :func:`load` never runs code from a file.

    The write is atomic: the data goes to a temporary file in the same
    directory, which then replaces ``path`` (an existing file at ``path`` is
    either fully replaced or left untouched).  A symbolic link is written
    through, like ``np.save`` does: its target is replaced (created, for a
    dangling link whose folder exists) and the link stays.  The replaced
    file keeps its permission bits.

    A module object used in several places of a container (tied weights) is
    stored once and comes back shared (see "Shared modules" in the module
    docstring).

    Parameters
    ----------
    module : Module
        An instance of a registered module class (see :func:`register_module`;
        the recurrent layers and cells, Linear, Embedding, Dropout, the
        attention blocks and Sequential are registered).  A Sequential's children, at every level,
        must be instances of registered classes too.
    path : str or os.PathLike
        Where to write.  Written exactly as given, no extension is appended;
        ``.frnn`` is the recommended extension.

    Raises
    ------
    TypeError
        ``module``, or a child of a container (the message names its index,
        dotted for nested containers, and its class), is not an instance of
        a registered class (subclasses must be registered themselves), its
        config is not JSON-able, or ``path`` is not a str / os.PathLike.
    ValueError
        Containers nest more than 16 deep or hold more than 1024 modules in
        all, or the module has more than 65535 parameters (:func:`load`
        refuses such files), or one array is a parameter of two different
        modules (the message names both; a file cannot tie them again).
    OSError
        The file could not be written (the original, if any, is untouched);
        the message names ``path`` and why: ``IsADirectoryError`` (a folder,
        or a path ending in a separator), ``FileNotFoundError`` (its folder
        does not exist), ``FileExistsError`` (something that is not a
        regular file is there), ``PermissionError`` (the folder is not
        writable), a symbolic link loop, a name too long.

    Examples
    --------
    >>> lstm = fr.LSTM(16, 32, num_layers=2)
    >>> fr.save(lstm, "model.frnn")
    >>> same = fr.load("model.frnn")
    """
    path = _as_path(path, "save")
    name, config, shared = _describe(module)
    dtype = np.dtype(module.dtype)
    live = module.parameters()
    _check_sharing(live, shared)  # before the copies below: identity tells sharing
    # An array shared through a repeated child is stored once, under its first name.
    params = {key: np.ascontiguousarray(arr) for key, arr in live.items()
              if _shared_head(key, shared) is None}
    if len(params) > _MAX_PARAMETERS:
        raise ValueError(f"save: {type(module).__name__} has {len(params)} parameters; a file "
                         f"holds at most {_MAX_PARAMETERS} (load would refuse it)")
    directory_bytes = sum(_DIRECTORY_RECORD + len(entry.encode("utf-8")) for entry
                          in [_HEADER_ENTRY] + [key + ".npy" for key in params])
    if directory_bytes > _MAX_DIRECTORY_BYTES:
        raise ValueError(f"save: the parameter names of {type(module).__name__} would make a "
                         f"zip directory of {directory_bytes} bytes; a file's is at most "
                         f"{_MAX_DIRECTORY_BYTES} (load would refuse it)")
    for key, arr in params.items():
        if not _NAME_RE.match(key) or arr.dtype != dtype:
            raise TypeError(f"save: parameter {key!r} ({arr.dtype}) cannot be saved "
                            f"(names must be dotted identifiers, dtypes the module's {dtype.name})")
    header = {
        "format": FORMAT_NAME,
        "format_version": 2 if shared else 1,  # version 1: older fastrnn reads it
        "fastrnn_version": _fastrnn_version(),
        "class": name,
        "config": config,
        "dtype": dtype.name,
        "parameters": [{"name": key, "shape": list(arr.shape), "dtype": arr.dtype.name}
                       for key, arr in params.items()],
    }
    try:
        header_bytes = json.dumps(header, default=_json_default, allow_nan=False,
                                  indent=1).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: the config of {type(module).__name__} is not JSON-able: "
                        f"{exc}") from exc

    target = _save_target(path)
    directory = os.path.dirname(target)
    mode = _new_file_mode(target)
    # A short temporary name: "<name>.<random>" would pass NAME_MAX (255
    # bytes) for names of 243 bytes and more that the final name fits.
    with _naming(path, f"cannot create a temporary file in {directory!r}"):
        fd, tmp = tempfile.mkstemp(prefix=".fastrnn-", suffix=".tmp", dir=directory)
    try:
        with _naming(path, "cannot write it"):
            with os.fdopen(fd, "wb") as f:
                with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                    zf.writestr(_zip_info(_HEADER_ENTRY), header_bytes)
                    for key, arr in params.items():
                        big = arr.nbytes > (1 << 31) - _MAX_NPY_HEADER
                        with zf.open(_zip_info(key + ".npy"), "w", force_zip64=big) as out:
                            np.lib.format.write_array(out, arr, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


@contextlib.contextmanager
def _naming(path, what):
    """Re-raise an OSError (the same class and errno) with a message naming
    the user's ``path``, never the temporary file's name."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        reason = exc.strerror or str(exc)
        if isinstance(exc, PermissionError):
            reason += " (the folder is not writable)"
        raise OSError(exc.errno, f"save: {path!r}: {what}: {reason}") from exc


def _save_target(path):
    """The file :func:`save` replaces for ``path``: symbolic links resolved,
    so that a link is written through and stays a link, like ``np.save``.
    Checked before anything is written; every error names ``path``."""
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if path.endswith(seps):
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, f"save: {path!r} is a directory; path must "
                                                  f"name a file")
        raise IsADirectoryError(errno.EISDIR, f"save: path must name a file, got {path!r} "
                                              f"(it ends in {path[-1]!r}, which names a folder)")
    target = os.path.realpath(path)
    via = "" if target == os.path.abspath(path) else f" (it leads to {target!r})"
    if os.path.islink(target):  # realpath stops at a loop
        raise OSError(errno.ELOOP, f"save: {path!r} is a loop of symbolic links")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OSError(exc.errno, f"save: {path!r}{via}: {exc.strerror}") from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"save: {path!r} is a directory{via}")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # Replacing a device or a FIFO with a file would be a surprise (as
        # root: /dev/null replaced), and writing into it is not a save.
        raise FileExistsError(errno.EEXIST, f"save: {path!r}{via} is not a regular file "
                                            f"({_file_kind(st.st_mode)}); save writes files")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"save: path must be in an existing folder, got "
                                              f"{path!r} ({directory!r} does not exist){via}")
    return target


def _file_kind(mode):
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _fsync_directory(directory):
    """Make the rename durable (POSIX; best effort)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------- load
@contextlib.contextmanager
def _guard(where, what):
    """Turn what a damaged archive raises while ``what`` into FormatError."""
    try:
        yield
    except FormatError:
        raise
    except _READ_ERRORS as exc:
        raise FormatError(f"{where}{what}: the file is corrupt or truncated "
                          f"({type(exc).__name__}: {_short(exc)})") from exc


def _sniff(head):
    """What a file that is not a zip archive looks like (for the message)."""
    if not head:
        return "the file is empty"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle (fastrnn never unpickles)"
    if head.startswith(b"\x93NUMPY"):
        return "it is a bare .npy array, not a fastrnn model file"
    return "it is not a zip archive"


def _short(value, limit=300):
    """``str(value)`` cut to ``limit`` characters (messages quote file content)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _unique_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_header(zf, info, where):
    if info.file_size > _MAX_HEADER_BYTES:
        raise FormatError(f"{where}{_HEADER_ENTRY} is {info.file_size} bytes, more than a "
                          f"header can be ({_MAX_HEADER_BYTES})")
    with _guard(where, f"reading {_HEADER_ENTRY}"):
        with zf.open(info) as fh:
            raw = fh.read(_MAX_HEADER_BYTES + 1)
    if len(raw) > _MAX_HEADER_BYTES:
        raise FormatError(f"{where}{_HEADER_ENTRY} is larger than a header can be")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_pairs,
                            parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{where}{_HEADER_ENTRY} is not valid JSON: {_short(exc)}") from exc
    depth = _json_depth(header)
    if depth > _MAX_JSON_DEPTH:
        # Deeper values would only make messages (repr) and checks recurse.
        raise FormatError(f"{where}{_HEADER_ENTRY} nests more than {_MAX_JSON_DEPTH} levels "
                          f"deep; a header nests at most that")
    return header


def _json_depth(value):
    """Nesting depth of parsed JSON, or ``_MAX_JSON_DEPTH + 1`` when deeper
    (found without recursion: the value is forged)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= _MAX_JSON_DEPTH:  # past the bound, the answer is known
                items = value.values() if isinstance(value, dict) else value
                stack.extend((item, depth + 1) for item in items)
    return deepest


def _check_header(header, where):
    """Structure and types of the header; returns (class name, config, dtype,
    params), params mapping each name to its shape (a tuple)."""
    if not isinstance(header, dict):
        raise FormatError(f"{where}{_HEADER_ENTRY} must hold a JSON object, "
                          f"got {type(header).__name__}")
    if header.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}wrong format {_short(repr(header.get('format')))} in "
                          f"{_HEADER_ENTRY}; "
                          f"expected {FORMAT_NAME!r} (not a fastrnn model file)")
    version = header.get("format_version")
    if version not in _READ_VERSIONS or not isinstance(version, int) or isinstance(version, bool):
        newer = (" (written by a newer fastrnn?)" if isinstance(version, int)
                 and not isinstance(version, bool) and version > FORMAT_VERSION else "")
        raise FormatError(f"{where}unsupported format version {_short(repr(version))}; "
                          f"this fastrnn reads "
                          f"format versions {list(_READ_VERSIONS)}{newer}")
    missing = [k for k in _HEADER_KEYS if k not in header]
    unknown = sorted(set(header) - set(_HEADER_KEYS))
    if missing or unknown:
        raise FormatError(f"{where}{_HEADER_ENTRY} has missing key(s) {missing} and unknown "
                          f"key(s) {_short(unknown[:10])}; expected exactly {list(_HEADER_KEYS)}")
    if not isinstance(header["fastrnn_version"], str):
        raise FormatError(f"{where}fastrnn_version must be a string, "
                          f"got {_short(repr(header['fastrnn_version']))}")
    class_name = header["class"]
    if not isinstance(class_name, str):
        raise FormatError(f"{where}class must be a string, got {_short(repr(class_name))}")
    config = header["config"]
    if not isinstance(config, dict):
        raise FormatError(f"{where}config must be a JSON object, got {type(config).__name__}")
    dtype = header["dtype"]
    if dtype not in _DTYPES:
        raise FormatError(f"{where}dtype must be one of {list(_DTYPES)}, "
                          f"got {_short(repr(dtype))}")
    plist = header["parameters"]
    if not isinstance(plist, list):
        raise FormatError(f"{where}parameters must be a list, got {type(plist).__name__}")
    if len(plist) > _MAX_PARAMETERS:
        raise FormatError(f"{where}parameters lists {len(plist)} items; a file holds at most "
                          f"{_MAX_PARAMETERS}")
    params = {}
    for i, item in enumerate(plist):
        if not isinstance(item, dict) or sorted(item) != sorted(_PARAM_KEYS):
            raise FormatError(f"{where}parameters[{i}] must be an object with keys "
                              f"{list(_PARAM_KEYS)}, got {item!r}"[:500])
        name, shape, pdtype = item["name"], item["shape"], item["dtype"]
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise FormatError(f"{where}parameters[{i}] has an invalid name {name!r}"[:500])
        if name in params:
            raise FormatError(f"{where}parameter {name!r} is listed twice")
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                           for n in shape)):
            raise FormatError(f"{where}parameter {name!r} has an invalid shape {shape!r}"[:500])
        if pdtype != dtype:
            raise FormatError(f"{where}parameter {name!r} has dtype {pdtype!r}; every "
                              f"parameter must have the file's dtype {dtype!r}"[:500])
        params[name] = tuple(shape)
    return class_name, config, np.dtype(dtype), params


def _check_config(cls, label, config, dtype, where):
    """Keys and arity of the config against the constructor, and its dtype
    against ``dtype`` unless that is None; returns the bound arguments."""
    signature, accepted = _accepted_keywords(cls)
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise FormatError(f"{where}config has key(s) {_short(unknown[:10])} that {label} "
                          f"does not accept (accepted: {accepted})")
    try:
        bound = signature.bind(**config)
    except TypeError as exc:
        raise FormatError(f"{where}config invalid for {label}: {_short(exc)}") from exc
    bound.apply_defaults()
    args = dict(bound.arguments)
    if dtype is not None and "dtype" in config and config["dtype"] != dtype.name:
        raise FormatError(f"{where}config dtype {config['dtype']!r} does not match the "
                          f"file's dtype {dtype.name!r}")
    return args


# One module of the tree a header describes, checked but not built: ``label``
# names it in messages, ``prefix`` starts its parameters' names ("" at the
# top, "2.0." for child 0 of child 2), ``args`` are the bound constructor
# arguments of a module built from ``config`` (``children`` None), and
# ``children`` the nodes of a container's children.  A repeated child
# (``{"same_as": path}``) has ``same_as`` set, and no class or config.
_Node = collections.namedtuple("_Node", "cls label prefix config args children same_as",
                               defaults=(None,))


def _check_tree(class_name, config, dtype, where, written_by, version):
    """Check the module a header describes -- its class, its config against
    the constructor and, for a container, every child the same way -- and
    build nothing; returns the root :data:`_Node` for :func:`_build`."""
    count = 0
    done = set()  # paths of the modules checked whole: what "same_as" may name

    def reference(item, child, label):
        target = item["same_as"]
        if version < 2:
            raise FormatError(f"{where}child {child!r} of {label} is a shared module "
                              f"(\"same_as\"), which needs format version 2; the file says "
                              f"version {version}")
        if not isinstance(target, str) or target not in done:
            raise FormatError(f"{where}child {child!r} of {label} must name, with "
                              f"\"same_as\", a module before it that is not its container "
                              f"(one of {_short(sorted(done)[:10])}), got "
                              f"{_short(repr(target))}")
        return _Node(None, f"child {child!r} (the module {target!r} again)", child + ".",
                     None, None, None, target)

    def check(class_name, config, path, depth):
        nonlocal count
        place = f" (child {path!r})" if path else ""
        cls = _REGISTRY.get(class_name)
        if cls is None:
            raise FormatError(f"{where}unknown module class {_short(repr(class_name))}{place}; "
                              f"this fastrnn loads {sorted(_REGISTRY)} (file written by "
                              f"fastrnn {_short(repr(written_by))})")
        label = class_name + place
        prefix = path + "." if path else ""
        if cls not in _CONTAINERS:
            # A parameter-free child (Dropout) may keep another dtype: the
            # stream sets it.  Children with parameters must share the
            # container's, which the container checks, and load checks that
            # against the file's once built.
            args = _check_config(cls, label, config, None if path else dtype, where)
            return _Node(cls, label, prefix, config, args, None)
        items = config.get("modules")
        if sorted(config) != ["modules"] or not isinstance(items, list):
            raise FormatError(f"{where}config of {label} must be an object with the one key "
                              f"'modules', a list; got keys {_short(sorted(config)[:10])}")
        count += len(items)
        problem = _nesting_problem(depth, count) if items else None
        if problem:
            raise FormatError(f"{where}{label}: {problem}")
        children = []
        for i, item in enumerate(items):
            child = f"{prefix}{i}"
            if isinstance(item, dict) and sorted(item) == ["same_as"]:
                children.append(reference(item, child, label))
                continue
            if not (isinstance(item, dict) and sorted(item) == ["class", "config"]
                    and isinstance(item["class"], str) and isinstance(item["config"], dict)):
                raise FormatError(f"{where}child {child!r} of {label} must be an object "
                                  f"{{\"class\": str, \"config\": object}} or "
                                  f"{{\"same_as\": path}}, got {_short(repr(item))}")
            children.append(check(item["class"], item["config"], child, depth + 1))
            done.add(child)
        return _Node(cls, label, prefix, config, None, children)

    return check(class_name, config, "", 0)


def _check_predicted(node, declared, where):
    """Before building: the parameters each module of the tree will have, as
    its class predicts them (``param_shapes``, see :func:`register_module`),
    against ``declared``, the file's parameters under ``node.prefix``."""
    if node.same_as is not None:
        # A repeated module's parameters are stored under its first place only.
        _compare_params({}, declared, where, f"what {node.label} holds")
        return
    if node.children is None:
        predicted = _predicted(node.cls, node.args)
        if predicted is not None:
            # islice: a forged num_layers=10**9 yields no more than the file lists
            implied = {node.prefix + name: shape for name, shape
                       in itertools.islice(predicted, len(declared) + 1)}
            _compare_params(implied, declared, where, f"what {node.label} builds")
        return
    # A container owns no parameters: each belongs to a child, "<prefix><i>.<name>".
    owned = {child.prefix: {} for child in node.children}
    stray = {}
    for name, shape in declared.items():
        head, dot, _ = name[len(node.prefix):].partition(".")
        child = owned.get(node.prefix + head + ".") if dot else None
        (stray if child is None else child)[name] = shape
    _compare_params({}, stray, where, f"what {node.label} builds")
    for child in node.children:
        _check_predicted(child, owned[child.prefix], where)


def _build(node, where, built=None):
    """The module of a checked tree (children first); ``built`` maps the
    paths built so far to their modules, for the repeated ones."""
    if built is None:
        built = {}
    if node.same_as is not None:
        return built[node.same_as]  # checked: built before, not an ancestor
    children = (None if node.children is None
                else [_build(c, where, built) for c in node.children])
    try:
        module = node.cls(**node.config) if children is None else node.cls(*children)
    except (TypeError, ValueError, OverflowError, MemoryError) as exc:
        raise FormatError(f"{where}config invalid for {node.label}: "
                          f"{type(exc).__name__}: {_short(exc)}") from exc
    built[node.prefix[:-1]] = module
    return module


def _compare_params(expected, declared, where, source):
    """Raise unless ``expected`` (name -> shape) equals the header's list."""
    missing = sorted(set(expected) - set(declared))
    extra = sorted(set(declared) - set(expected))
    wrong = [f"{k}: file {declared[k]}, {source} {expected[k]}"
             for k in sorted(set(expected) & set(declared)) if tuple(expected[k]) != declared[k]]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing parameter(s) {_short(missing[:10])}")
        if extra:
            parts.append(f"extra parameter(s) {_short(extra[:10])}")
        if wrong:
            parts.append("shape mismatch " + _short("; ".join(wrong[:10]), 1000))
        raise FormatError(f"{where}the file's parameters do not match {source}: "
                          + ", ".join(parts))


def _read_npy_header(fh, entry, where):
    """``(shape, fortran_order, dtype, header bytes)`` of the ``.npy`` at the
    start of ``fh`` (numpy bounds the header's size)."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise FormatError(f"{where}entry {entry!r} has unsupported .npy format "
                          f"version {version}")
    return tuple(shape), fortran, dtype, fh.tell()


def _check_entry(zf, info, name, shape, dtype, where):
    """Validate one ``.npy`` entry from its header alone (no data is read):
    not an object array, the file's float dtype, the declared shape, and
    exactly the bytes that holds."""
    entry = info.filename
    with _guard(where, f"reading {entry!r}"):
        with zf.open(info) as fh:
            got_shape, _, got_dtype, header_len = _read_npy_header(fh, entry, where)
    if got_dtype.hasobject:
        raise FormatError(f"{where}entry {entry!r} holds a pickled object array "
                          f"(dtype {got_dtype}); fastrnn files never contain pickles and "
                          f"it was refused without unpickling")
    if got_dtype.kind != "f" or got_dtype.itemsize != dtype.itemsize:
        raise FormatError(f"{where}parameter {name!r} has dtype {got_dtype}; "
                          f"expected {dtype.name}")
    if got_shape != shape:
        raise FormatError(f"{where}parameter {name!r} has shape {got_shape} in its "
                          f"entry; the header says {shape}")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize  # exact: no overflow
    if info.file_size != header_len + nbytes:
        raise FormatError(f"{where}entry {entry!r} holds {info.file_size - header_len} bytes "
                          f"of data; a {dtype.name} array of shape {shape} needs {nbytes} "
                          f"(the file is corrupt or truncated)")


def _read_param(zf, info, shape, dtype, where):
    """The data of one entry already checked by :func:`_check_entry`.

    Its ``.npy`` header is read again and must say the same (the file may
    have changed since), and the array is allocated with the CHECKED shape
    and filled chunk by chunk: ``np.lib.format.read_array`` would allocate
    whatever the header read now says before reading a byte."""
    entry = info.filename
    with _guard(where, f"reading {entry!r}"):
        with zf.open(info) as fh:
            got_shape, fortran, got_dtype, _ = _read_npy_header(fh, entry, where)
            if (got_shape != shape or got_dtype.hasobject or got_dtype.kind != "f"
                    or got_dtype.itemsize != dtype.itemsize):
                raise FormatError(f"{where}entry {entry!r} changed while the file was read "
                                  f"(its header now says shape {got_shape}, dtype "
                                  f"{got_dtype}; it said {shape}, {dtype.name})")
            flat = np.empty(int(np.prod(shape, dtype=object)), got_dtype)
            buffer, done = memoryview(flat).cast("B"), 0
            while done < len(buffer):
                got = fh.readinto(buffer[done:done + _READ_CHUNK])
                if not got:
                    raise FormatError(f"{where}entry {entry!r} ends {len(buffer) - done} "
                                      f"bytes early (the file is corrupt or truncated)")
                done += got
            trailing = fh.read(1)  # also makes zipfile verify the CRC at the end
    if trailing:
        raise FormatError(f"{where}entry {entry!r} holds more data than its shape "
                          f"(the file is corrupt or changed while it was read)")
    return flat.reshape(shape, order="F" if fortran else "C")


def load(path):
    """Rebuild a module saved with :func:`save`, without running any code from the file.

    The file is read with zip and ``.npy`` parsers only (``allow_pickle=False``)
    and validated before anything is built: the header must be JSON with the
    expected format name and version, the class must be in the registry (see
    :func:`register_module`; names are never imported or looked up otherwise),
    the config keys must be arguments of that class, and every parameter must
    be present, with the right shape and a float dtype (object arrays are
    refused, never unpickled), with no extra entries.  A container's
    children are checked the same way, at every level, and their number and
    nesting are bounded.  Then the module is built with ``cls(**config)``
    (a container with ``cls(*children)``) and its weights loaded.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.

    Returns
    -------
    Module
        A new module equal to the saved one: same class and config, and
        bit-identical parameters; a module the saved one held in several
        places (tied weights) is one module again.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    IsADirectoryError
        ``path`` is a folder.
    FormatError
        A ``ValueError`` naming the problem: not a regular file, not a zip
        archive (an empty, truncated or corrupt file, a pickle), compressed
        or overlapping entries, too many entries, missing or oversized
        header, wrong format or version, unknown class, invalid config (of a
        child too), too many or too deeply nested children, a shared child
        that names no module before it, pickled object arrays, missing,
        extra or mis-shaped parameters.
    TypeError
        ``path`` is not a str / os.PathLike.

    Examples
    --------
    >>> model = fr.load("model.frnn")
    """
    _register_task_models()
    path = _as_path(path, "load")
    where = f"load({path!r}): "
    # O_NONBLOCK: opening a FIFO must not wait for a writer; a regular
    # file ignores the flag.  Everything below reads this one descriptor,
    # so the checks and the reads see the same file.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise FormatError(f"{where}not a fastrnn model file: it is {_file_kind(st.st_mode)}, "
                              f"not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        archive_size = st.st_size
        head = f.read(8)
        if not head.startswith(_ZIP_MAGICS):
            raise FormatError(f"{where}not a fastrnn model file: {_sniff(head)}")
        _check_directory_size(f, where)
        f.seek(0)
        with _guard(where, "opening the zip archive"):
            zf = zipfile.ZipFile(f)
        with zf:
            return _load_archive(zf, archive_size, where)


def _check_directory_size(f, where):
    """Refuse an archive whose central directory is larger than a model
    file's can be, before ``zipfile`` builds an object for each record in it
    (about 500 bytes of memory apiece, from 46 bytes of file: ten times the
    file).  The end record is found by zipfile's own reader, so that what is
    checked is what zipfile then parses; one it cannot find, or a Python
    without that reader, is left to zipfile."""
    find_end = getattr(zipfile, "_EndRecData", None)
    if find_end is None:
        return
    try:
        end = find_end(f)
    except (OSError, zipfile.BadZipFile, struct.error):
        return  # zipfile says what is wrong when it opens the archive
    if not end:
        return
    count, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if count > _MAX_PARAMETERS + 1:
        raise FormatError(f"{where}the archive lists {count} entries; a fastrnn model file "
                          f"has at most {_MAX_PARAMETERS + 1} (the header and one per "
                          f"parameter)")
    if size > _MAX_DIRECTORY_BYTES:
        raise FormatError(f"{where}the archive's directory is {size} bytes; a fastrnn model "
                          f"file's is at most {_MAX_DIRECTORY_BYTES}")


def _load_archive(zf, archive_size, where):
    with _guard(where, "reading the zip directory"):
        infos = zf.infolist()
    names = [info.filename for info in infos]
    duplicates = sorted(n for n, count in collections.Counter(names).items() if count > 1)
    if duplicates:
        raise FormatError(f"{where}the archive has duplicate entries {_short(duplicates[:10])}")
    # Before reading any entry: each must be stored as is, and all of them
    # fit in the file side by side, so that nothing read can exceed the
    # file's size -- a compressed entry can expand a thousandfold (a zip
    # bomb), and entries that overlap can each claim the same bytes.
    held = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise FormatError(f"{where}entry {info.filename!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            method = _COMPRESSION_NAMES.get(info.compress_type, "unknown")
            raise FormatError(f"{where}entry {info.filename!r} is compressed: expected "
                              f"compression method 0 (stored), got {info.compress_type} "
                              f"({method}); fastrnn model files are never compressed (save "
                              f"stores every entry as is), and a compressed entry could "
                              f"expand far beyond the file's size")
        if (info.compress_size != info.file_size
                or info.header_offset + _LOCAL_HEADER + info.compress_size > archive_size):
            raise FormatError(f"{where}entry {info.filename!r} has inconsistent sizes: the "
                              f"file is corrupt or truncated")
        held += _LOCAL_HEADER + info.compress_size
    if held > archive_size:
        raise FormatError(f"{where}the archive's entries overlap: they claim at least {held} "
                          f"bytes in all, and the file has {archive_size}")
    by_name = {info.filename: info for info in infos}
    if _HEADER_ENTRY not in by_name:
        raise FormatError(f"{where}missing {_HEADER_ENTRY}: a zip archive but not a fastrnn "
                          f"model file (entries: {_short(names[:10])})")
    header = _read_header(zf, by_name[_HEADER_ENTRY], where)
    class_name, config, dtype, declared = _check_header(header, where)
    tree = _check_tree(class_name, config, dtype, where, header["fastrnn_version"],
                       header["format_version"])

    # The archive's entries: exactly the header and one .npy per declared parameter.
    expected_entries = {_HEADER_ENTRY} | {n + ".npy" for n in declared}
    missing = sorted(expected_entries - set(by_name))
    extra = sorted(set(by_name) - expected_entries)
    if missing:
        raise FormatError(f"{where}missing parameter entr(ies) {_short(missing[:10])}")
    if extra:
        raise FormatError(f"{where}unexpected extra entr(ies) {_short(extra[:10])}")
    for name, shape in declared.items():
        _check_entry(zf, by_name[name + ".npy"], name, shape, dtype, where)

    # Before building: the parameters the configs imply, where the classes say.
    _check_predicted(tree, declared, where)

    module = _build(tree, where)
    if np.dtype(module.dtype) != dtype:
        raise FormatError(f"{where}the {class_name} built from the config has dtype "
                          f"{np.dtype(module.dtype).name}; the file's dtype is {dtype.name}")
    # A module in several places lists its arrays under each of its names:
    # the file stores them under the first.
    first = _first_names(module.parameters())
    built = {k: v.shape for k, v in module.parameters().items() if first[k] == k}
    _compare_params(built, declared, where, f"the {class_name} built from the config")

    staged = {name: _read_param(zf, by_name[name + ".npy"], shape, dtype, where)
              for name, shape in declared.items()}
    module.load_state_dict({name: staged[canonical] for name, canonical in first.items()})
    return module
