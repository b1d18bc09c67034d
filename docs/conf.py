"""Sphinx configuration of fastrnn's documentation.

    sphinx-build -W -b html docs docs/_build/html     # warnings are errors (as CI runs it)

The API reference is generated from the docstrings (autodoc + numpydoc); the
guide, the architecture page and the benchmark table are Markdown (MyST).
"""
import glob
import os
import sys

# autodoc imports the package: the source tree's when it is built in place
# (python setup.py build_ext --inplace), else the installed one (CI's wheel).
_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if glob.glob(os.path.join(_ROOT, "fastrnn", "_kernels", "recurrent_baseline*.so")):
    sys.path.insert(0, _ROOT)
else:   # an unbuilt source tree must not shadow the installed package
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import fastrnn  # noqa: E402

project = "fastrnn"
author = "the fastrnn developers"
copyright = "2026, the fastrnn developers"
version = release = fastrnn.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_class_signature = "separated"
# The docstrings' own "Attributes" sections list the parameters; numpydoc
# would add every public attribute and method a second time.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
myst_heading_anchors = 3
