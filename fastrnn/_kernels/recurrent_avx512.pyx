# The kernels of recurrent.pxi compiled a third time, for x86-64 CPUs with
# AVX-512 F, VL, BW and DQ (setup.py adds those flags and a preference for
# 512-bit vectors to this module only): the cell loops then run 16 floats
# wide.  fastrnn._kernels picks this build when the CPU has them.
include "recurrent.pxi"
