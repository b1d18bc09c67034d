# The kernels of recurrent.pxi compiled a second time, for x86-64 CPUs with
# AVX2 and FMA (setup.py adds -mavx2 -mfma to this module only): the cell
# loops then run 8 floats wide with fused multiply-adds.  fastrnn._kernels
# picks this build when the CPU has both, the portable one otherwise.
include "recurrent.pxi"
