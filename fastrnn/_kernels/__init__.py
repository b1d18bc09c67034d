"""fastrnn's compiled kernels (Cython over the C helpers of ``csrc/``), and
which build of the recurrent ones this process runs.

Each module is named for what it computes and has one Python face:

=======================  ==================================================  =====================
module                   computes                                            face
=======================  ==================================================  =====================
``recurrent_*``          the fused time loops of RNN / LSTM / GRU, forward,  ``fastrnn.functional``
                         backward and weight gradients (source
                         ``recurrent.pxi``; test entry points
                         ``recurrent_testing.pxi``)
``attention``            dot-product attention over a whole sequence         ``layers.attention``
``matmul``               products split over the threads; bias-gradient      ``fastrnn._matmul``
                         column sums
``optim``                fused Adam / AdamW, sums of squares (clipping)      ``fastrnn.optim``
``losses``               softmax cross-entropy, one pass per row             ``fastrnn.losses``
``tanh``                 tanh and its gradient in place (heads)              ``fastrnn.functional``
``aligned``              arrays starting on a cache line                     ``fastrnn._workspace``
=======================  ==================================================  =====================

The ``.pxd`` files are their shared declarations: ``blas`` (row-major GEMM
over scipy's BLAS), ``stepgemm`` (the step product), ``lowpgemm`` (the step
products of int8 / bf16 frozen layers), ``cells`` (each cell's
row math), ``activations``, ``openmp`` (every OpenMP call, with stubs for
serial builds).

``recurrent_baseline`` is compiled for the baseline of the platform (SSE2 on
x86-64); on x86-64 the same source is also compiled for AVX2 + FMA
(``recurrent_avx2``) and for AVX-512 (``recurrent_avx512``), where the
elementwise cell loops run 8 or 16 floats wide.  The step products
(csrc/stepgemm.h, and the attention kernel's small products) follow the same
choice: 4 x 3 register tiles of 4-float vectors for the baseline build and
of 8-float vectors for AVX2, 8 x 3 tiles of 16-float vectors for AVX-512.
The low-precision products (csrc/lowpgemm.h) follow it too: the AVX-512
build runs AVX-512 VNNI int8 (and bf16 on CPUs with AVX-512 BF16), the AVX2
build the AVX2 int8 kernel, the baseline build the portable one.

The fastest build the CPU runs is picked at import; ``FASTRNN_KERNELS`` set
to ``avx512``, ``avx2`` or ``baseline`` forces one (to test or compare them),
and asking for a build the CPU cannot run is an error here, not a crash in a
kernel.  ``fastrnn.show_config()`` says which build runs.
"""
import importlib
import os

from . import recurrent_baseline as baseline

#: The builds, slowest first, with their modules.
BUILDS = {"baseline": "fastrnn._kernels.recurrent_baseline",
          "avx2": "fastrnn._kernels.recurrent_avx2",
          "avx512": "fastrnn._kernels.recurrent_avx512"}


def installed():
    """The builds this CPU runs and this installation has, slowest first."""
    order = list(BUILDS)
    runs = order[:order.index(baseline.cpu_kernels()) + 1]
    found = []
    for name in runs:
        try:
            importlib.import_module(BUILDS[name])
        except ImportError:  # not built: not x86-64, or the compiler refused its flags
            continue
        found.append(name)
    return found


def _pick():
    forced = os.environ.get("FASTRNN_KERNELS", "").strip().lower()
    have = installed()
    if not forced:
        return have[-1]
    if forced not in BUILDS:
        raise ValueError(f"FASTRNN_KERNELS must be one of {', '.join(BUILDS)} (or unset), "
                         f"got {forced!r}")
    if forced not in have:
        raise ValueError(f"FASTRNN_KERNELS={forced}: this CPU and installation run only "
                         f"{', '.join(have)} (the CPU's best: {baseline.cpu_kernels()})")
    return forced


#: The build in use ("avx512", "avx2" or "baseline") and its module.
isa = _pick()
recurrent = importlib.import_module(BUILDS[isa])
recurrent.use_kernels(isa)
