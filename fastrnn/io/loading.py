"""``fr.load``: a file checked whole -- header, config, parameter list,
sizes -- before anything is built or allocated; never unpickles."""
from __future__ import annotations

import collections
import contextlib
import errno
import itertools
import json
import os
import stat
import struct
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from .format import (COMPRESSION_NAMES, DTYPES, FORMAT_NAME, FORMAT_VERSION, HEADER_ENTRY,
                     HEADER_KEYS, LOCAL_HEADER, MAX_DIRECTORY_BYTES, MAX_HEADER_BYTES,
                     MAX_JSON_DEPTH, MAX_NDIM, MAX_PARAMETERS, NAME_RE, PARAM_KEYS, READ_CHUNK,
                     READ_ERRORS, READ_VERSIONS, ZIP_MAGICS, as_path, file_kind, first_names,
                     FormatError, nesting_problem)
from .registry import (CONTAINERS, REGISTRY, accepted_keywords, predicted_shapes,
                       register_task_models)

if TYPE_CHECKING:
    from ..layers.module import Module
    from .._typing import PathLike


@contextlib.contextmanager
def _guard(where, what):
    """Turn what a damaged archive raises while ``what`` into FormatError."""
    try:
        yield
    except FormatError:
        raise
    except READ_ERRORS as exc:
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
    if info.file_size > MAX_HEADER_BYTES:
        raise FormatError(f"{where}{HEADER_ENTRY} is {info.file_size} bytes, more than a "
                          f"header can be ({MAX_HEADER_BYTES})")
    with _guard(where, f"reading {HEADER_ENTRY}"):
        with zf.open(info) as fh:
            raw = fh.read(MAX_HEADER_BYTES + 1)
    if len(raw) > MAX_HEADER_BYTES:
        raise FormatError(f"{where}{HEADER_ENTRY} is larger than a header can be")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_pairs,
                            parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{where}{HEADER_ENTRY} is not valid JSON: {_short(exc)}") from exc
    depth = _json_depth(header)
    if depth > MAX_JSON_DEPTH:
        # Deeper values would only make messages (repr) and checks recurse.
        raise FormatError(f"{where}{HEADER_ENTRY} nests more than {MAX_JSON_DEPTH} levels "
                          f"deep; a header nests at most that")
    return header


def _json_depth(value):
    """Nesting depth of parsed JSON, or ``MAX_JSON_DEPTH + 1`` when deeper
    (found without recursion: the value is forged)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:  # past the bound, the answer is known
                items = value.values() if isinstance(value, dict) else value
                stack.extend((item, depth + 1) for item in items)
    return deepest


def _check_header(header, where):
    """Structure and types of the header; returns (class name, config, dtype,
    params), params mapping each name to its shape (a tuple)."""
    if not isinstance(header, dict):
        raise FormatError(f"{where}{HEADER_ENTRY} must hold a JSON object, "
                          f"got {type(header).__name__}")
    if header.get("format") != FORMAT_NAME:
        raise FormatError(f"{where}wrong format {_short(repr(header.get('format')))} in "
                          f"{HEADER_ENTRY}; "
                          f"expected {FORMAT_NAME!r} (not a fastrnn model file)")
    version = header.get("format_version")
    if version not in READ_VERSIONS or not isinstance(version, int) or isinstance(version, bool):
        newer = (" (written by a newer fastrnn?)" if isinstance(version, int)
                 and not isinstance(version, bool) and version > FORMAT_VERSION else "")
        raise FormatError(f"{where}unsupported format version {_short(repr(version))}; "
                          f"this fastrnn reads "
                          f"format versions {list(READ_VERSIONS)}{newer}")
    missing = [k for k in HEADER_KEYS if k not in header]
    unknown = sorted(set(header) - set(HEADER_KEYS))
    if missing or unknown:
        raise FormatError(f"{where}{HEADER_ENTRY} has missing key(s) {missing} and unknown "
                          f"key(s) {_short(unknown[:10])}; expected exactly {list(HEADER_KEYS)}")
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
    if dtype not in DTYPES:
        raise FormatError(f"{where}dtype must be one of {list(DTYPES)}, "
                          f"got {_short(repr(dtype))}")
    plist = header["parameters"]
    if not isinstance(plist, list):
        raise FormatError(f"{where}parameters must be a list, got {type(plist).__name__}")
    if len(plist) > MAX_PARAMETERS:
        raise FormatError(f"{where}parameters lists {len(plist)} items; a file holds at most "
                          f"{MAX_PARAMETERS}")
    params = {}
    for i, item in enumerate(plist):
        if not isinstance(item, dict) or sorted(item) != sorted(PARAM_KEYS):
            raise FormatError(f"{where}parameters[{i}] must be an object with keys "
                              f"{list(PARAM_KEYS)}, got {item!r}"[:500])
        name, shape, pdtype = item["name"], item["shape"], item["dtype"]
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise FormatError(f"{where}parameters[{i}] has an invalid name {name!r}"[:500])
        if name in params:
            raise FormatError(f"{where}parameter {name!r} is listed twice")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
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
    signature, accepted = accepted_keywords(cls)
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
        cls = REGISTRY.get(class_name)
        if cls is None:
            raise FormatError(f"{where}unknown module class {_short(repr(class_name))}{place}; "
                              f"this fastrnn loads {sorted(REGISTRY)} (file written by "
                              f"fastrnn {_short(repr(written_by))})")
        label = class_name + place
        prefix = path + "." if path else ""
        if cls not in CONTAINERS:
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
        problem = nesting_problem(depth, count) if items else None
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
        predicted = predicted_shapes(node.cls, node.args)
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
                got = fh.readinto(buffer[done:done + READ_CHUNK])
                if not got:
                    raise FormatError(f"{where}entry {entry!r} ends {len(buffer) - done} "
                                      f"bytes early (the file is corrupt or truncated)")
                done += got
            trailing = fh.read(1)  # also makes zipfile verify the CRC at the end
    if trailing:
        raise FormatError(f"{where}entry {entry!r} holds more data than its shape "
                          f"(the file is corrupt or changed while it was read)")
    return flat.reshape(shape, order="F" if fortran else "C")


def load(path: PathLike) -> Module:
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
    >>> import os, tempfile
    >>> import fastrnn as fr
    >>> path = os.path.join(tempfile.mkdtemp(), "model.frnn")
    >>> fr.save(fr.GRU(4, 8, bidirectional=True, seed=0), path)
    >>> fr.load(path)
    GRU(4, 8, bidirectional=True)
    """
    register_task_models()
    path = as_path(path, "load")
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
            raise FormatError(f"{where}not a fastrnn model file: it is {file_kind(st.st_mode)}, "
                              f"not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        archive_size = st.st_size
        head = f.read(8)
        if not head.startswith(ZIP_MAGICS):
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
    if count > MAX_PARAMETERS + 1:
        raise FormatError(f"{where}the archive lists {count} entries; a fastrnn model file "
                          f"has at most {MAX_PARAMETERS + 1} (the header and one per "
                          f"parameter)")
    if size > MAX_DIRECTORY_BYTES:
        raise FormatError(f"{where}the archive's directory is {size} bytes; a fastrnn model "
                          f"file's is at most {MAX_DIRECTORY_BYTES}")


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
            method = COMPRESSION_NAMES.get(info.compress_type, "unknown")
            raise FormatError(f"{where}entry {info.filename!r} is compressed: expected "
                              f"compression method 0 (stored), got {info.compress_type} "
                              f"({method}); fastrnn model files are never compressed (save "
                              f"stores every entry as is), and a compressed entry could "
                              f"expand far beyond the file's size")
        if (info.compress_size != info.file_size
                or info.header_offset + LOCAL_HEADER + info.compress_size > archive_size):
            raise FormatError(f"{where}entry {info.filename!r} has inconsistent sizes: the "
                              f"file is corrupt or truncated")
        held += LOCAL_HEADER + info.compress_size
    if held > archive_size:
        raise FormatError(f"{where}the archive's entries overlap: they claim at least {held} "
                          f"bytes in all, and the file has {archive_size}")
    by_name = {info.filename: info for info in infos}
    if HEADER_ENTRY not in by_name:
        raise FormatError(f"{where}missing {HEADER_ENTRY}: a zip archive but not a fastrnn "
                          f"model file (entries: {_short(names[:10])})")
    header = _read_header(zf, by_name[HEADER_ENTRY], where)
    class_name, config, dtype, declared = _check_header(header, where)
    tree = _check_tree(class_name, config, dtype, where, header["fastrnn_version"],
                       header["format_version"])

    # The archive's entries: exactly the header and one .npy per declared parameter.
    expected_entries = {HEADER_ENTRY} | {n + ".npy" for n in declared}
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
    first = first_names(module.parameters())
    built = {k: v.shape for k, v in module.parameters().items() if first[k] == k}
    _compare_params(built, declared, where, f"the {class_name} built from the config")

    staged = {name: _read_param(zf, by_name[name + ".npy"], shape, dtype, where)
              for name, shape in declared.items()}
    module.load_state_dict({name: staged[canonical] for name, canonical in first.items()})
    return module
