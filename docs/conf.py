"""Sphinx configuration of the sksoftmax documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build needs no network. Links to the scikit-learn, NumPy, SciPy and Dask
documentation (intersphinx) are fetched only when the environment variable
``SKSOFTMAX_DOCS_INTERSPHINX=1`` is set.
"""

import os
import sys
from pathlib import Path

# Build against the source tree, not a stale installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from threadpoolctl import threadpool_limits

import sksoftmax

# The gallery's examples run in this process on small data, where BLAS threads
# only add overhead; on a busy 2-core CI machine spinning BLAS threads made
# them 10x slower (62 s instead of 6.7 s for the distillation example).
threadpool_limits(limits=1, user_api="blas")

project = "sksoftmax"
author = "The sksoftmax developers"
copyright = "2026, The sksoftmax developers"
version = release = sksoftmax.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/GALLERY_HEADER.rst"]
root_doc = "index"

# -- API reference ------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
# numpydoc lists methods itself through the class template; do not let it add
# an autosummary of every (inherited) member.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Links to other projects (opt-in: needs the network) ---------------------
intersphinx_mapping = {}
if os.environ.get("SKSOFTMAX_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "dask": ("https://docs.dask.org/en/stable/", None),
    }
else:
    # Without scikit-learn's inventory its glossary terms (:term:`fit`) used in
    # docstrings cannot resolve; they render as plain text.
    suppress_warnings = ["ref.term"]

# MathJax comes from a CDN when the pages are viewed. To read the pages
# offline, point this at a local copy, e.g. Debian's libjs-mathjax:
# SKSOFTMAX_DOCS_MATHJAX=file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML
if os.environ.get("SKSOFTMAX_DOCS_MATHJAX"):
    mathjax_path = os.environ["SKSOFTMAX_DOCS_MATHJAX"]

# -- Gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sksoftmax",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sksoftmax": None},
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sksoftmax {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []
html_show_sourcelink = False
