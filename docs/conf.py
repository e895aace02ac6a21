"""Sphinx configuration of the symslow site: furo, MyST pages, a gallery of the examples, the API reference."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))
os.environ.setdefault("MPLBACKEND", "Agg")

import fetch_mathjax  # noqa: E402

import symslow  # noqa: E402

project = "symslow"
author = "the symslow developers"
copyright = "symslow developers"
release = version = symslow.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "symslow_run",
    "symslow_notebook",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

# MyST: $...$ and $$...$$ formulas, ::: fences
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference from Google-style docstrings
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# Math renders offline: MathJax 3 is served from _static (fetched once by docs/_ext/fetch_mathjax.py)
if fetch_mathjax.main() != 0:
    raise RuntimeError("MathJax is missing from docs/_static/mathjax; see the message above.")
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {
    "svg": {"fontCache": "global"},
    "options": {"enableMenu": False},
}

# The gallery: every script of examples/ runs during the build; the images it saves become part of its page. A
# cell's last value is not printed (a plot's Figure would print as "<Figure size ...>"): in the notebooks the gallery
# offers, it shows as the cell's result.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py|/_",
    "reset_argv": "gallery_hooks.reset_argv",
    "image_scrapers": ("matplotlib", "gallery_hooks.saved_images"),
    "reset_modules": ("matplotlib", "gallery_hooks.reset_default_graph"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "capture_repr": (),
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # its page loads jQuery and DataTables from CDNs
}

html_theme = "furo"
html_title = f"symslow {release}"
html_static_path = ["_static"]
html_css_files = ["symslow.css"]

# A gallery image opens at full size on a click, as the chapters' diagrams do (symslow_run links them to their files).
_GALLERY_IMAGE = re.compile(r'<img src="(?P<src>[^"]+)"[^>]*?class\s*=\s*"sphx-glr-(?:single|multi)-img"[^>]*>')


def _link_gallery_images(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "body" in context:
        context["body"] = _GALLERY_IMAGE.sub(
            lambda image: f'<a class="symslow-full-size" href="{image["src"]}" title="open the image at full size">'
                          f"{image[0]}</a>", context["body"])


def setup(app) -> None:
    app.connect("html-page-context", _link_gallery_images)
