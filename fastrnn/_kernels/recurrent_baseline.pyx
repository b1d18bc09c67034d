# The kernels of recurrent.pxi compiled for the platform's baseline (SSE2 on
# x86-64): the build every CPU runs, and the one that says which builds the
# CPU can run (cpu_kernels).  fastrnn._kernels picks it where the CPU has
# neither AVX2 + FMA nor AVX-512.
include "recurrent.pxi"
