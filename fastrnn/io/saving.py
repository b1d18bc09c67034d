"""``fr.save``: one module (and its children) into one file, atomically."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..layers.module import Module
from .format import (DIRECTORY_RECORD, FORMAT_NAME, HEADER_ENTRY, MAX_DIRECTORY_BYTES,
                     MAX_NPY_HEADER, MAX_PARAMETERS, NAME_RE, as_path, file_kind, first_names,
                     nesting_problem)
from .registry import CONTAINERS, REGISTRY, accepted_keywords, registered_name

if TYPE_CHECKING:
    from .._typing import PathLike


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
        name = registered_name(cls) if isinstance(module, Module) else None
        if name is None:
            raise TypeError(
                f"save: {what} is not a registered fastrnn module class "
                f"(registered: {sorted(REGISTRY)}); use fastrnn.io.register_module")
        children_of = CONTAINERS.get(cls)
        if children_of is None:
            return name, _leaf_config(module, what)
        children = list(children_of(module))
        count += len(children)
        problem = nesting_problem(depth, count) if children else None
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
    for name, canonical in first_names(params).items():
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
    _, accepted = accepted_keywords(cls)
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


def save(module: Module, path: PathLike) -> None:
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
    >>> import os, tempfile
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> lstm = fr.LSTM(16, 32, num_layers=2, seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.frnn")
    >>> fr.save(lstm, path)
    >>> same = fr.load(path)
    >>> x = np.ones((5, 1, 16), np.float32)
    >>> bool((same(x)[0] == lstm(x)[0]).all())
    True
    """
    path = as_path(path, "save")
    name, config, shared = _describe(module)
    dtype = np.dtype(module.dtype)
    live = module.parameters()
    _check_sharing(live, shared)  # before the copies below: identity tells sharing
    # An array shared through a repeated child is stored once, under its first name.
    params = {key: np.ascontiguousarray(arr) for key, arr in live.items()
              if _shared_head(key, shared) is None}
    if len(params) > MAX_PARAMETERS:
        raise ValueError(f"save: {type(module).__name__} has {len(params)} parameters; a file "
                         f"holds at most {MAX_PARAMETERS} (load would refuse it)")
    directory_bytes = sum(DIRECTORY_RECORD + len(entry.encode("utf-8")) for entry
                          in [HEADER_ENTRY] + [key + ".npy" for key in params])
    if directory_bytes > MAX_DIRECTORY_BYTES:
        raise ValueError(f"save: the parameter names of {type(module).__name__} would make a "
                         f"zip directory of {directory_bytes} bytes; a file's is at most "
                         f"{MAX_DIRECTORY_BYTES} (load would refuse it)")
    for key, arr in params.items():
        if not NAME_RE.match(key) or arr.dtype != dtype:
            raise TypeError(f"save: parameter {key!r} ({arr.dtype}) cannot be saved "
                            f"(names must be dotted identifiers, dtypes the module's {dtype.name})")
    header = {
        "format": FORMAT_NAME,
        "format_version": 2 if shared else 1,  # version 1: older fastrnn reads it
        "fastrnn_version": __version__,
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
                    zf.writestr(_zip_info(HEADER_ENTRY), header_bytes)
                    for key, arr in params.items():
                        big = arr.nbytes > (1 << 31) - MAX_NPY_HEADER
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
                                            f"({file_kind(st.st_mode)}); save writes files")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"save: path must be in an existing folder, got "
                                              f"{path!r} ({directory!r} does not exist){via}")
    return target


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
