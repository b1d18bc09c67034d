"""Arrays whose first byte sits on a chosen boundary (a cache line), made
in ~0.3 us: the workspace pool (``fastrnn._workspace``) makes every
internal array of the kernels with it."""
cimport cpython
cimport numpy as cnp

import numpy as np

cnp.import_array()


cdef extern from "numpy/arrayobject.h":
    # numpy's Cython declarations leave it out; it steals a reference to descr.
    object PyArray_NewFromDescr(type subtype, cnp.dtype descr, int nd, cnp.npy_intp* dims,
                                cnp.npy_intp* strides, void* data, int flags, object obj)


def aligned_array(shape, dtype, Py_ssize_t align, cnp.ndarray raw=None):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` whose
    first byte is a multiple of ``align``: on the bytes of ``raw`` (a
    C-contiguous buffer with ``align`` spare bytes, the array's ``base``)
    or, without it, on a new buffer.  numpy's own slicing and views cost
    ~4 us for this, this ~0.3 (fastrnn._workspace makes every internal
    array with it)."""
    cdef cnp.dtype descr = dtype if isinstance(dtype, cnp.dtype) else np.dtype(dtype)
    cdef cnp.npy_intp dims[32]
    cdef cnp.npy_intp raw_bytes
    cdef int nd = 0
    cdef Py_ssize_t nbytes = descr.itemsize
    cdef size_t start
    if isinstance(shape, int):
        dims[0] = shape
        nbytes *= dims[0]
        nd = 1
    else:
        for d in shape:
            if nd == 32:
                raise ValueError(f"shape must have at most 32 axes, got {len(shape)}")
            dims[nd] = d
            nbytes *= dims[nd]
            nd += 1
    if raw is None:
        raw_bytes = nbytes + align
        raw = cnp.PyArray_EMPTY(1, &raw_bytes, cnp.NPY_UINT8, 0)
    start = (align - (<size_t> cnp.PyArray_DATA(raw)) % align) % align
    if not cnp.PyArray_IS_C_CONTIGUOUS(raw) or <Py_ssize_t> start + nbytes > raw.nbytes:
        raise ValueError(f"raw must be a C-contiguous buffer of at least {nbytes + align - 1} "
                         f"bytes, got {raw.nbytes}")
    cpython.Py_INCREF(descr)   # PyArray_NewFromDescr steals a reference
    out = PyArray_NewFromDescr(np.ndarray, descr, nd, dims, NULL,
                               <char*> cnp.PyArray_DATA(raw) + start,
                               cnp.NPY_ARRAY_CARRAY, None)
    cpython.Py_INCREF(raw)     # and PyArray_SetBaseObject another
    cnp.PyArray_SetBaseObject(out, raw)
    return out
