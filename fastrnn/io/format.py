"""The file format of ``fr.save`` / ``fr.load`` (described in
:mod:`fastrnn.io`): its names, versions and the limits that save and load
share, so that save never writes a file load refuses."""
import os
import re
import stat
import struct
import zipfile
import zlib


FORMAT_NAME = "fastrnn"
# The newest version this fastrnn reads and writes; save writes version 1
# (readable by older fastrnn) unless the module shares a child (see above).
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)
FILE_EXTENSION = ".frnn"

HEADER_ENTRY = "header.json"
HEADER_KEYS = ("format", "format_version", "fastrnn_version", "class", "config", "dtype",
                "parameters")
PARAM_KEYS = ("name", "shape", "dtype")
DTYPES = ("float32", "float64")
MAX_HEADER_BYTES = 16 << 20          # a header is a few KiB; refuse absurd ones
MAX_NPY_HEADER = 65536 + 16          # .npy magic, version, length and header text
MAX_NDIM = 32
_MAX_DEPTH = 16                       # nesting of containers below the top-level module
_MAX_MODULES = 1024                   # modules below the top-level module, all levels
# JSON nesting of a header: three levels per container (config, modules list,
# child), a few more for the top object and values; deeper is forged.
MAX_JSON_DEPTH = 3 * _MAX_DEPTH + 16
MAX_PARAMETERS = 65535               # + the header: the entry count of a plain zip
# The zip directory: per entry 46 bytes, the name and up to 28 bytes of zip64
# sizes; 8 MiB holds 65536 entries whose names average 54 bytes (dotted
# parameter names are shorter).  Save refuses a module that needs more.
MAX_DIRECTORY_BYTES = 8 << 20
DIRECTORY_RECORD = 46 + 28
LOCAL_HEADER = 30                    # bytes of a zip local file header before its name
READ_CHUNK = 1 << 20                 # bytes read at a time into a parameter's array
NAME_RE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
CLASS_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
COMPRESSION_NAMES = {zipfile.ZIP_DEFLATED: "deflated", zipfile.ZIP_BZIP2: "bzip2",
                      zipfile.ZIP_LZMA: "lzma"}
# What a damaged archive can raise from zipfile / numpy while being read.
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                struct.error, zlib.error, NotImplementedError, RuntimeError, OverflowError,
                IndexError, KeyError, MemoryError)


class FormatError(ValueError):
    """A file that is not a valid fastrnn model file, or that this version of
    fastrnn cannot load (a ``ValueError``; the message names the problem).

    Examples
    --------
    >>> import os, tempfile
    >>> import fastrnn as fr
    >>> path = os.path.join(tempfile.mkdtemp(), "not_a_model.frnn")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"hello")
    >>> try:
    ...     fr.load(path)
    ... except fr.FormatError as exc:
    ...     print("refused, a ValueError:", isinstance(exc, ValueError))
    refused, a ValueError: True
    """


def nesting_problem(depth, count):
    """Why a container at ``depth`` (0: the top-level module) cannot hold
    children, when the tree so far has ``count`` modules below the top; None
    when it can.  Shared by save and load, so that save never writes a file
    load refuses."""
    if depth >= _MAX_DEPTH:
        return f"containers nest more than {_MAX_DEPTH} deep"
    if count > _MAX_MODULES:
        return f"more than {_MAX_MODULES} modules in all"
    return None

def as_path(path, func):
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

def file_kind(mode):
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"

def first_names(params):
    """``{name: first name}`` over ``params`` (name -> array, in order): the
    name under which each array appears first, for every name (an array
    registered in several places is one parameter of the file)."""
    first, out = {}, {}
    for name, arr in params.items():
        out[name] = first.setdefault(id(arr), name)
    return out
