# The test entry points of every recurrent build (included by recurrent.pxi,
# so each build exposes its own): the kernels' building blocks -- the step
# product and the activations -- for tests to check against numpy.  Not
# fastrnn's API; nothing in the package calls them.

def step_product(A, B, C, double beta, str kernels=None, bint transposed=False):
    """``C = beta * C + A @ B`` through the time loops' own step kernel
    (2-D C-contiguous arrays of one float dtype; for tests).  ``kernels``
    names a build ("baseline", "avx2", "avx512", or "avx512-on-avx2": the
    AVX-512 tiles compiled for AVX2); None: the one in use.  ``transposed``:
    ``B`` holds B's transpose (n, k), packed as the weights are."""
    cdef int m = A.shape[0], k = A.shape[1], n = B.shape[0] if transposed else B.shape[1]
    cdef Py_ssize_t rs = 1 if transposed else n, cs = k if transposed else 1
    cdef fr_step_kernels kern = fr_step_kernels_for(
        isa_code(kernels or fr_stepgemm_isa().decode()))
    cdef cnp.ndarray Bp = np.empty(k * n, dtype=B.dtype)
    cdef void* pa = _ptr(A)
    cdef void* psrc = _ptr(B)
    cdef void* pb = _ptr(Bp)
    cdef void* pc = _ptr(C)
    if A.dtype == np.float32:
        with nogil:
            kern.spack(k, n, <float*> psrc, rs, cs, NULL, NULL, <float*> pb)
            if m > 0 and n > 0:
                kern.sstep(m, n, k, <float*> pa, k, 1, <float*> pb, <float> beta, <float*> pc, n)
    else:
        with nogil:
            kern.dpack(k, n, <double*> psrc, rs, cs, NULL, NULL, <double*> pb)
            if m > 0 and n > 0:
                kern.dstep(m, n, k, <double*> pa, k, 1, <double*> pb, beta, <double*> pc, n)


def low_precision_product(str precision, A, blob, Py_ssize_t n, C, float beta=0,
                          str kernels=None, bias=None):
    """``C = beta * C + A @ B`` (with ``bias``, n float32 values: ``C = bias +
    A @ B``) with ``B`` packed by :func:`pack_low_precision` (``n``
    columns) through the time loops' own low-precision product, on the
    calling thread (for tests).  ``A`` (m, k) and ``C`` (m, n) float32
    C-contiguous.  ``kernels`` names a build as :func:`step_product`'s: its
    low-precision kernels run (the AVX-512 build's are VNNI and bf16 where
    the CPU has them)."""
    cdef int code = PRECISIONS[precision]
    cdef fr_lowp_kernels kern = fr_lowp_kernels_for(
        isa_code(kernels or fr_stepgemm_isa().decode()))
    cdef cnp.ndarray a = A, c = C, b = blob
    cdef int m = <int> a.shape[0], k = <int> a.shape[1]
    if code == FR_PRECISION_BF16 and not fr_lowp_has_bf16_in(&kern):
        raise ValueError("no bf16 kernel for this CPU and kernel build")
    if code == FR_PRECISION_NATIVE or a.dtype != np.float32 or c.dtype != np.float32 or \
            c.shape[0] != m or c.shape[1] != n or not (a.flags.c_contiguous and c.flags.c_contiguous) \
            or b.dtype != np.uint8 or <size_t> b.size < fr_lowp_bytes(code, k, <int> n):
        raise ValueError("low_precision_product: operands of the wrong type or shape")
    cdef Py_ssize_t row_bytes = fr_lowp_row_bytes(code, k)
    cdef cnp.ndarray qa = np.empty((max(m, 1), row_bytes), np.uint8)
    cdef cnp.ndarray qs = np.empty(max(m, 1), np.float32)
    cdef const float* pa = <const float*> _ptr(a)
    cdef const uint8_t* pb = <const uint8_t*> _ptr(b)
    cdef float* pc = <float*> _ptr(c)
    cdef uint8_t* pq = <uint8_t*> _ptr(qa)
    cdef float* ps = <float*> _ptr(qs)
    if bias is not None and not (bias.dtype == np.float32 and bias.shape == (n,)
                                 and bias.flags.c_contiguous):
        raise ValueError("low_precision_product: bias must be n C-contiguous float32 values")
    cdef const float* pbias = <const float*> _ptr(bias)
    with nogil:
        fr_lowp_step_with(&kern, code, m, <int> n, k, pa, k, pb, beta, pbias, pc, <int> n, pq,
                          row_bytes, ps)
    return C


def activation(str name, x):
    """Apply the kernels' own ``"sigmoid"`` or ``"tanh"`` to a float32 or
    float64 array (for accuracy tests against numpy)."""
    if name not in ("sigmoid", "tanh"):
        raise ValueError(f"name must be 'sigmoid' or 'tanh', got {name!r}")
    x = np.asarray(x)
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"x must be a float32 or float64 array, got dtype {x.dtype}")
    x = np.ascontiguousarray(x)
    cdef cnp.ndarray y = np.empty_like(x)
    cdef Py_ssize_t i, n = x.size
    cdef bint sig = name == "sigmoid"
    cdef float* xf
    cdef float* yf
    cdef double* xd
    cdef double* yd
    if x.dtype == np.float32:
        xf = <float*> cnp.PyArray_DATA(<cnp.ndarray> x)
        yf = <float*> cnp.PyArray_DATA(y)
        with nogil:
            for i in range(n):
                yf[i] = sigmoid(xf[i]) if sig else tanh(xf[i])
    else:
        xd = <double*> cnp.PyArray_DATA(<cnp.ndarray> x)
        yd = <double*> cnp.PyArray_DATA(y)
        with nogil:
            for i in range(n):
                yd[i] = sigmoid(xd[i]) if sig else tanh(xd[i])
    return y
