"""Which build of the kernels this process runs.

``fastrnn._recurrent`` is compiled for the baseline of the platform (SSE2 on
x86-64); on x86-64 the same source is also compiled with AVX2 + FMA as
``fastrnn._recurrent_avx2``, where the elementwise cell loops run twice as
wide (the step kernel dispatches on its own inside either build).  The AVX2
build is used when the CPU has AVX2 and FMA, unless ``FASTRNN_KERNELS=baseline``
is set (to test or compare the baseline build).
"""
import os

from . import _recurrent as baseline


def _pick():
    if os.environ.get("FASTRNN_KERNELS", "").strip().lower() == "baseline":
        return baseline
    if not baseline.cpu_has_avx2_fma():
        return baseline
    try:
        from . import _recurrent_avx2
    except ImportError:  # built without it (not x86-64, or the compiler refused)
        return baseline
    return _recurrent_avx2


kernels = _pick()
