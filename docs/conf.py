"""Sphinx configuration of the sksoftmax documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build needs no network. Links to the Python, scikit-learn, NumPy, SciPy
and Dask documentation (intersphinx) are made for each project whose inventory
can be downloaded at build time, or was by an earlier build (cached in
``docs/_build/intersphinx``); without them those names render as plain code.
``SKSOFTMAX_DOCS_INTERSPHINX=0`` skips the downloads. Math is rendered to MathML
at build time, so the pages need no script and no network to show it.
"""

import os
import sys
from pathlib import Path

# Build against the source tree, not a stale installed copy; the helpers of
# this documentation (MathML, gallery panels, intersphinx) are in _ext.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from sksoftmax_sphinx import intersphinx_mapping_available
from threadpoolctl import threadpool_limits

import sksoftmax

DOCS = Path(__file__).resolve().parent
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
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sksoftmax_sphinx",
]
html_math_renderer = "mathml"

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

# -- Links to other projects -----------------------------------------------------
INTERSPHINX_PROJECTS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "dask": "https://docs.dask.org/en/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
}
if os.environ.get("SKSOFTMAX_DOCS_INTERSPHINX", "1") == "0":
    intersphinx_mapping = {}
else:
    # Only inventories that are on disk now: a failed fetch would be a warning.
    intersphinx_mapping = intersphinx_mapping_available(
        INTERSPHINX_PROJECTS, DOCS / "_build" / "intersphinx", timeout=5.0)
intersphinx_timeout = 10
# Glossary terms (:term:`fit`) are scikit-learn's: with its inventory they
# link there, without it they render as plain text, never as a warning.
suppress_warnings = ["ref.term"]

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
    # Also saves each panel of a multi-panel figure, so that an example can
    # take one readable panel as its thumbnail (sphinx_gallery_thumbnail_path).
    "image_scrapers": ("sksoftmax_sphinx.panel_scraper",),
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sksoftmax {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # The gallery's examples print wide tables (summary()): they get the width
    # of the page-contents column.
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        **{f"auto_examples/{example.stem}": []
           for example in (DOCS / "examples").glob("plot_*.py")},
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages with nothing below them in the navigation get no left sidebar (an empty
# 300 px column otherwise); the API reference and the gallery keep theirs.
LEAF_PAGES = ["index", "install", "quickstart", "user_guide", "export",
              "performance", "dask", "array_api", "bad_input", "design"]
html_sidebars = {page: [] for page in LEAF_PAGES}
html_static_path = ["_static"]
html_css_files = ["sksoftmax.css"]
html_show_sourcelink = False
