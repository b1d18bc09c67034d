"""Build script for fastrnn's Cython kernels.

* OpenMP is detected with a trial compile; without it the kernels build
  serially and a warning says so (``fastrnn.show_config()`` reports it).
* BLAS comes from ``scipy.linalg.cython_blas``: nothing to link.
* Flags are optimised but portable (``-O3``).  ``FASTRNN_NATIVE=1`` opts in
  to ``-march=native`` for a build that only runs on this machine's CPU.
* ``FASTRNN_SANITIZE=1`` builds with AddressSanitizer + UndefinedBehavior-
  Sanitizer (``-O1 -g``, UB aborts); for ``tools/sanitize.sh`` only.
* Cython directives are set once here, for every module.
"""
import glob
import os
import platform
import sys
import shutil
import tempfile
import textwrap
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}

# The kernels (fastrnn/_kernels/): the recurrent loops' portable build, and
# on x86-64 the same source compiled for AVX2 + FMA and for AVX-512
# (fastrnn._kernels picks one at import); the others are built once.
MODULES = ["fastrnn._kernels." + name for name in
           ("recurrent_baseline", "attention", "matmul", "optim", "losses", "tanh", "aligned")]
ISA_MODULES = {
    "fastrnn._kernels.recurrent_avx2": ["-mavx2", "-mfma"],
    # GCC's generic tuning may prefer 256-bit vectors; the cell loops are
    # meant to run 16 floats wide here.
    "fastrnn._kernels.recurrent_avx512": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq",
                                  "-mavx2", "-mfma", "-mprefer-vector-width=512"],
}
IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def _openmp_flags(compiler):
    """Return (compile_args, link_args) for OpenMP, or None if a trial fails."""
    if os.environ.get("FASTRNN_NO_OPENMP"):
        return None
    if sys.platform == "win32":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    code = textwrap.dedent(
        """
        #include <omp.h>
        #include <stdio.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            printf("%d %d\\n", n, omp_get_max_threads());
            return 0;
        }
        """
    )
    tmp = tempfile.mkdtemp(prefix="fastrnn-omp-")
    try:
        src = os.path.join(tmp, "omp_test.c")
        with open(src, "w") as f:
            f.write(code)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "omp_test", output_dir=tmp, extra_postargs=lflags)
                return cflags, lflags
            except Exception:  # a failed trial just means "not this way"
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _accepts_flag(compiler, flag):
    """True when the C compiler accepts ``flag`` (a trial compile)."""
    tmp = tempfile.mkdtemp(prefix="fastrnn-flag-")
    try:
        src = os.path.join(tmp, "flag.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        compiler.compile([src], output_dir=tmp, extra_postargs=[flag, "-Werror"])
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# The fused optimizer updates must round like numpy's one-operation-at-a-time
# passes: no multiply-add contraction (which -march=native would allow).
EXACT_MODULES = ("fastrnn._kernels.optim",)
EXACT_FLAGS = ["-ffp-contract=off"]

# The cell loops read and write several gate rows through plain pointers; GCC
# gives up vectorising them at its default of 10 runtime alias checks.
VECTORISE_FLAGS = ["--param=vect-max-version-for-alias-checks=256"]

# FASTRNN_SANITIZE=1 (GCC / Clang): ASan + UBSan, and any UB report aborts.
# GCC leaves float-to-int conversion out of "undefined", so it is named too.
# Run the result with the runtimes preloaded: see tools/sanitize.sh.
SANITIZE_FLAGS = ["-fsanitize=address,undefined,float-cast-overflow",
                  "-fno-sanitize-recover=undefined,float-cast-overflow",
                  "-fno-omit-frame-pointer", "-g"]


class BuildExt(build_ext):
    """Adds OpenMP (when a trial compile works) and the optimisation flags."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        opt = ["/O2"] if msvc else ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        if os.environ.get("FASTRNN_NATIVE") and not msvc:
            opt.append("-march=native")
        sanitize = bool(os.environ.get("FASTRNN_SANITIZE")) and not msvc
        if sanitize:  # -O1 comes after -O3, so it wins
            opt += ["-O1"] + SANITIZE_FLAGS
        if not msvc:
            opt += [f for f in VECTORISE_FLAGS if _accepts_flag(self.compiler, f)]
        omp = _openmp_flags(self.compiler)
        if omp is None:
            warnings.warn(
                "fastrnn: OpenMP was not found (trial compile with -fopenmp failed); "
                "building the kernels SERIALLY. Batch parallelism is disabled.",
                stacklevel=1,
            )
            print("*** fastrnn: building without OpenMP (serial kernels) ***", file=sys.stderr)
            cflags, lflags = [], []
        else:
            cflags, lflags = omp
        for name, flags in ISA_MODULES.items():
            if not msvc and not all(_accepts_flag(self.compiler, f) for f in flags):
                print(f"*** fastrnn: the compiler refuses {' '.join(flags)}: no {name} ***",
                      file=sys.stderr)
                self.extensions = [e for e in self.extensions if e.name != name]
        for ext in self.extensions:
            if ext.name in EXACT_MODULES and not msvc:
                ext.extra_compile_args = EXACT_FLAGS + list(ext.extra_compile_args or [])
            if ext.name in ISA_MODULES:
                ext.extra_compile_args = ISA_MODULES[ext.name] + list(ext.extra_compile_args or [])
            ext.extra_compile_args = opt + cflags + list(ext.extra_compile_args or [])
            ext.extra_link_args = (lflags + (SANITIZE_FLAGS if sanitize else [])
                                   + list(ext.extra_link_args or []))
        super().build_extensions()


extensions = [
    Extension(
        name,
        [name.replace(".", os.sep) + ".pyx"],
        include_dirs=[os.path.join(HERE, "csrc"), np.get_include()],
        # The C helpers: a changed header rebuilds the modules, and ships in an sdist.
        depends=sorted(glob.glob(os.path.join("csrc", "*.h"))),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    )
    for name in MODULES + (list(ISA_MODULES) if IS_X86_64 and sys.platform != "win32" else [])
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=CYTHON_DIRECTIVES),
    cmdclass={"build_ext": BuildExt},
)
