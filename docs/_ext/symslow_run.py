"""A Sphinx directive that runs a page's code with symslow and shows what a Jupyter notebook would show.

In a MyST page::

    ```{symslow-run}
    z = ts.add(ts.matmul(A, x), b)
    ts.latex(z)
    ```

The block's code is shown, then run in a namespace shared by all the blocks of the page (a page runs from top to
bottom like a notebook, each block a cell), and its results follow it, as in a notebook:

* what the code prints, and the warnings it raises, as a text block;
* the value of the block's last line, when that line is an expression (and not ``None``; a ``;`` at its end hides
  it), shown by its rich representation the way Jupyter chooses one: ``_repr_mimebundle_``, ``_repr_svg_``,
  ``_repr_html_``, ``_repr_latex_``, ``_repr_png_`` (a node or a diagram as inline SVG, the backpropagation widget as
  HTML, ``symslow.latex`` and SymPy expressions typeset, a matplotlib ``Figure`` as PNG), else its ``repr``;
  a diagram is also written as a file of the site (``_diagrams/<hash>.svg``), which a click on it opens full size;
* the matplotlib figures the block left open in pyplot, as PNG (the notebook's inline backend shows those too), then
  closed.

Nothing is added to the namespace: the code on the page is all the code there is, and a reader can copy it. A block
that raises fails the build (a warning, an error under ``-W``), with the traceback. Options: ``:hide-code:`` shows only
the results; ``:hide-output:`` runs the code without showing its printed text.

A page with such blocks is also offered to download under its title: as a Jupyter notebook (``_notebooks/<page>.ipynb``,
written by :mod:`symslow_notebook`) and as one script (``_scripts/<page>.py``).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import html
import io
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# one namespace per page; a page is read by one process, from its first block to its last
_namespaces: dict[str, dict[str, Any]] = {}
_scripts: dict[str, list[str]] = {}
_diagrams: dict[str, dict[str, str]] = {}  # per page: the SVG documents of its diagrams, by their path in the site


def run_cell(code: str, namespace: dict[str, Any], filename: str) -> Any:
    """Run ``code`` as a notebook cell: the value of its last line if that is an expression (else ``None``)."""
    tree = ast.parse(code, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    return None if last is None else eval(compile(last, filename, "eval"), namespace)


def representation(value: Any) -> tuple[str, str]:
    """How a notebook would show ``value``: ``(kind, payload)``, kind one of svg, html, math, png, text."""
    if _is_figure(value):
        return "png", _figure_png(value)
    bundle: dict[str, Any] = {}
    if not isinstance(value, type):  # a class has these methods too, unbound
        method = getattr(value, "_repr_mimebundle_", None)
        if callable(method):
            found = method()
            bundle.update((found[0] if isinstance(found, tuple) else found) or {})
        for mime, name in (("image/svg+xml", "_repr_svg_"), ("text/html", "_repr_html_"),
                           ("text/latex", "_repr_latex_"), ("image/png", "_repr_png_")):
            method = getattr(value, name, None)
            if mime not in bundle and callable(method):
                data = method()
                if data is not None:
                    bundle[mime] = data
    # the same picture as Jupyter's choice (HTML first), except that an SVG the HTML only wraps is taken as SVG
    if "image/svg+xml" in bundle:
        svg = bundle["image/svg+xml"]
        return "svg", svg.decode("utf-8") if isinstance(svg, bytes) else svg
    if "text/html" in bundle:
        return "html", bundle["text/html"]
    if "text/latex" in bundle:
        return "math", _latex_body(bundle["text/latex"])
    if "image/png" in bundle:
        png = bundle["image/png"]
        return "png", base64.b64encode(png).decode() if isinstance(png, bytes) else png
    return "text", repr(value)


def _latex_body(latex: str) -> str:
    """The formula of a ``text/latex`` representation, without its ``$`` / ``$$`` and ``\\displaystyle``."""
    text = latex.strip()
    for fence in ("$$", "$"):
        if text.startswith(fence) and text.endswith(fence) and len(text) > 2 * len(fence):
            text = text[len(fence):-len(fence)].strip()
            break
    return re.sub(r"^\\displaystyle\s*", "", text)


def _is_figure(obj: Any) -> bool:
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def _figure_png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode()


def _open_figures() -> list[str]:
    """The figures left open in pyplot, as PNG; then closed, as the notebook's inline backend does at a cell's end."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    pngs = [_figure_png(pyplot.figure(number)) for number in pyplot.get_fignums()]
    pyplot.close("all")
    return pngs


_XML_PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.DOTALL)


def _inline_svg(svg: str) -> str:
    """An SVG document as an element to place in HTML: no XML prologue, no doctype."""
    return _XML_PROLOGUE.sub("", svg, count=1)


_SVG_SIZE = re.compile(r'(<svg\b[^>]*?\bwidth=")([\d.]+)pt("[^>]*?\bheight=")([\d.]+)pt(")')
CONTENT_WIDTH_PX = 736  # furo's text column (46em)
SMALLEST_SCALE = 0.6  # a wider diagram keeps this much of its size and scrolls sideways instead of shrinking


def _fit_diagram(svg: str) -> tuple[str, bool]:
    """Diagrams shrink to the text column, but no further than ``SMALLEST_SCALE``; returns (svg, needs scrolling)."""
    match = _SVG_SIZE.search(svg)
    if match is None:
        return svg, False
    width, height = float(match.group(2)), float(match.group(4))
    if width * 4 / 3 * SMALLEST_SCALE <= CONTENT_WIDTH_PX:
        return svg, False
    scaled = (f"{match.group(1)}{width * SMALLEST_SCALE:.0f}pt{match.group(3)}"
              f"{height * SMALLEST_SCALE:.0f}pt{match.group(5)}")
    return svg[: match.start()] + scaled + svg[match.end():], True


def diagram_path(svg: str) -> str:
    """Where the built site keeps the SVG document ``svg`` as a file: named by its content, so that a diagram
    shown twice is one file."""
    return f"_diagrams/{hashlib.sha256(svg.encode('utf-8')).hexdigest()[:20]}.svg"


class SymslowRun(SphinxDirective):
    """``symslow-run``: show a block of Python, run it as a notebook cell, embed what the cell shows."""

    has_content = True
    option_spec = {"hide-code": directives.flag, "hide-output": directives.flag, "caption": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        code = "\n".join(self.content)
        namespace = _namespaces.get(docname)
        if namespace is None:
            namespace = _namespaces[docname] = _fresh_namespace()
        _scripts.setdefault(docname, []).append(code)
        printed = io.StringIO()
        filename = f"<{docname}, block at line {self.lineno}>"
        result: list[nodes.Node] = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code, language="python", classes=["symslow-code"])
            self.set_source_info(block)
            result.append(block)
        try:
            with contextlib.redirect_stdout(printed), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                value = run_cell(code, namespace, filename)
                shown = [] if value is None else [representation(value)]
                shown += [("png", png) for png in _open_figures()]
            for line in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
                printed.write(line + "\n")  # as a reader running the code would see them
        except Exception:
            trace = traceback.format_exc()
            logger.warning("symslow-run: the block raised:\n%s", trace, location=self.get_location())
            result.append(nodes.literal_block(trace, trace, classes=["symslow-error"]))
            return result
        text = printed.getvalue()
        if text and "hide-output" not in self.options:
            result.append(nodes.literal_block(text, text, language="none", classes=["symslow-output"]))
        result.extend(self._embed(kind, payload) for kind, payload in shown)
        return result

    def _embed(self, kind: str, payload: str) -> nodes.Node:
        if kind == "math":
            return nodes.math_block(payload, payload, docname=self.env.docname, number=None, label=None, nowrap=False)
        if kind == "text":
            return nodes.literal_block(payload, payload, language="none", classes=["symslow-result"])
        if kind == "svg":
            svg, wide = _fit_diagram(_inline_svg(payload))
            path = diagram_path(payload)  # a click on the diagram opens its own file, at full size
            _diagrams.setdefault(self.env.docname, {})[path] = payload
            href = "../" * self.env.docname.count("/") + path
            link = f'<a class="symslow-full-size" href="{href}" title="open the diagram at full size">{svg}</a>'
            markup = f'<div class="symslow-diagram{" symslow-wide" if wide else ""}">{link}</div>'
        elif kind == "html":
            markup = f'<div class="symslow-html">{payload}</div>'
        else:
            alt = html.escape(self.options.get("caption", "plot made by the code above"))
            markup = f'<div class="symslow-plot"><img alt="{alt}" src="data:image/png;base64,{payload}"/></div>'
        return nodes.raw("", markup, format="html")


def _fresh_namespace() -> dict[str, Any]:
    """A page starts with a new default graph and an empty namespace (like a new notebook)."""
    import symslow

    symslow.reset_default_graph()
    return {"__name__": "__main__"}


def _forget(app: Sphinx, env, docname: str) -> None:
    _namespaces.pop(docname, None)
    _scripts.pop(docname, None)
    _diagrams.pop(docname, None)


def _write_diagrams(app: Sphinx, doctree: nodes.document) -> None:
    """A page's diagrams become files of the built site, which the diagrams on the page link."""
    diagrams = _diagrams.pop(app.env.docname, {})
    if app.builder.format != "html":
        return
    for path, svg in diagrams.items():
        target = Path(app.outdir) / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(svg, encoding="utf-8")


def _write_script(app: Sphinx, doctree: nodes.document) -> None:
    """A page's blocks, joined, become ``_scripts/<page>.py`` in the built site; the page links it under its title,
    with the page as a notebook (``_notebooks/<page>.ipynb``)."""
    docname = app.env.docname
    blocks = _scripts.get(docname)
    _namespaces.pop(docname, None)  # the page is read: its objects can go
    if not blocks or app.builder.format != "html":
        return
    name = Path(docname).name
    target = Path(app.outdir) / "_scripts" / f"{docname}.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f'"""The code of the page {docname!r} of the symslow documentation, block after block.\n\n'
        f"Run as a script, it shows what it prints; as a notebook ({name}.ipynb, offered beside it), each block's\n"
        'last line also shows its result: a formula, a diagram, a plot.\n"""\n\n'
    )
    target.write_text(header + "\n\n".join(blocks) + "\n", encoding="utf-8")
    up = "../" * docname.count("/")
    links = (
        '<p class="symslow-downloads">Run this page yourself: as a Jupyter notebook, '
        f'<a href="{up}_notebooks/{docname}.ipynb" download>{name}.ipynb</a>, or as a script, '
        f'<a href="{up}_scripts/{docname}.py" download>{name}.py</a>.</p>'
    )
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, nodes.raw("", links, format="html"))
    else:
        doctree.insert(0, nodes.raw("", links, format="html"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("symslow-run", SymslowRun)
    app.connect("env-purge-doc", _forget)
    app.connect("doctree-read", _write_script)
    app.connect("doctree-read", _write_diagrams)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
