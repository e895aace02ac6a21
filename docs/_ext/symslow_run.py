"""A Sphinx directive that runs a page's code with symslow and embeds what it produces.

In a MyST page::

    ```{symslow-run}
    z = ts.add(ts.matmul(A, x), b)
    show(z)
    ```

The block's code is shown, then run in a namespace shared by all the blocks of the page (so a page runs from top
to bottom like a script), and its results follow it:

* what the code prints, and the warnings it raises, as a text block;
* every ``show(obj)`` call: a node or a SymPy expression as a typeset formula (``symslow.latex`` /
  ``sympy.latex``), a LaTeX string from ``show_math``, a Graphviz graph as inline SVG, a matplotlib figure or a
  PNG / SVG file as an image.

A block that raises fails the build (a warning, an error under ``-W``), with the traceback.
Options: ``:hide-code:`` shows only the results; ``:hide-output:`` runs the code without showing its printed text.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import re
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


class _Outputs:
    """What ``show`` and ``show_math`` collect while a block runs, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def show(self, obj: Any, lhs: str | None = None) -> None:
        """Embed ``obj`` below the block (``lhs``: a LaTeX left-hand side for formulas, ``z`` gives ``z = ...``)."""
        import graphviz
        import sympy

        import symslow

        if isinstance(obj, symslow.Node):
            self.show_math(symslow.latex(obj), lhs)
        elif isinstance(obj, sympy.Basic):
            self.show_math(sympy.latex(obj), lhs)
        elif isinstance(obj, (graphviz.Digraph, graphviz.Graph, graphviz.Source)):
            self.items.append(("svg", obj.pipe(format="svg", encoding="utf-8")))
        elif _is_figure(obj):
            buffer = io.BytesIO()
            obj.savefig(buffer, format="png", dpi=100)
            import matplotlib.pyplot as plt

            plt.close(obj)
            self.items.append(("png", base64.b64encode(buffer.getvalue()).decode()))
        elif isinstance(obj, (str, os.PathLike)) and Path(obj).suffix.lower() in (".png", ".svg"):
            path = Path(obj)
            if path.suffix.lower() == ".svg":
                self.items.append(("svg", path.read_text(encoding="utf-8")))
            else:
                self.items.append(("png", base64.b64encode(path.read_bytes()).decode()))
        else:
            raise TypeError(
                f"show() takes a node, a SymPy expression, a Graphviz graph, a figure or an image file, not {obj!r}"
            )

    def show_math(self, latex: str, lhs: str | None = None) -> None:
        """Embed a LaTeX formula (displayed)."""
        self.items.append(("math", f"{lhs} = {latex}" if lhs else latex))


def _is_figure(obj: Any) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    return isinstance(obj, Figure)


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


class SymslowRun(SphinxDirective):
    """``symslow-run``: show a block of Python, run it, embed its printed text, formulas, diagrams and plots."""

    has_content = True
    option_spec = {"hide-code": directives.flag, "hide-output": directives.flag, "caption": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        code = "\n".join(self.content)
        namespace = _namespaces.get(docname)
        if namespace is None:
            namespace = _namespaces[docname] = _fresh_namespace()
        _scripts.setdefault(docname, []).append(code)
        outputs = _Outputs()
        namespace["show"] = outputs.show
        namespace["show_math"] = outputs.show_math
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
                exec(compile(code, filename, "exec"), namespace)
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
        for kind, payload in outputs.items:
            result.append(self._embed(kind, payload))
        return result

    def _embed(self, kind: str, payload: str) -> nodes.Node:
        if kind == "math":
            return nodes.math_block(payload, payload, docname=self.env.docname, number=None, label=None, nowrap=False)
        if kind == "svg":
            svg, wide = _fit_diagram(_inline_svg(payload))
            markup = f'<div class="symslow-diagram{" symslow-wide" if wide else ""}">{svg}</div>'
        else:
            alt = html.escape(self.options.get("caption", "plot made by the code above"))
            markup = f'<div class="symslow-plot"><img alt="{alt}" src="data:image/png;base64,{payload}"/></div>'
        return nodes.raw("", markup, format="html")


def _fresh_namespace() -> dict[str, Any]:
    """A page starts with a new default graph and an empty namespace (like a new script)."""
    import symslow

    symslow.reset_default_graph()
    return {"__name__": "__main__"}


def _forget(app: Sphinx, env, docname: str) -> None:
    _namespaces.pop(docname, None)
    _scripts.pop(docname, None)


def _write_script(app: Sphinx, doctree: nodes.document) -> None:
    """A page's blocks, joined, become ``_scripts/<page>.py`` in the built site, linked at the end of the page.

    The script runs on its own (``python 01_computational_graphs.py``): ``show`` prints what the page embeds.
    """
    docname = app.env.docname
    blocks = _scripts.get(docname)
    _namespaces.pop(docname, None)  # the page is read: its objects can go
    if not blocks or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_scripts" / f"{docname}.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f'"""The code of the page {docname!r}, block after block.\n\n'
        "``show`` prints what the page typesets or draws: formulas as text, diagrams by their size.\n"
        '"""\n\n\n'
        "def show(obj, lhs=None):\n"
        "    import sympy\n"
        "    import symslow\n\n"
        "    if isinstance(obj, symslow.Node):\n"
        "        text = symslow.pretty(obj)\n"
        "    elif isinstance(obj, sympy.Basic):\n"
        "        text = sympy.pretty(obj)\n"
        "    elif hasattr(obj, 'source') and hasattr(obj, 'pipe'):\n"
        "        text = f\"(a Graphviz diagram of {obj.source.count(' -> ')} edges; .render() draws it)\"\n"
        "    else:\n"
        "        text = str(obj)\n"
        "    print(text if lhs is None else f'{lhs} =\\n{text}')\n\n\n"
        "def show_math(latex, lhs=None):\n"
        "    print(latex if lhs is None else f'{lhs} = {latex}')\n\n\n"
    )
    target.write_text(header + "\n\n".join(blocks) + "\n", encoding="utf-8")
    href = "../" * docname.count("/") + f"_scripts/{docname}.py"
    link = f'<p class="symslow-script">The code of this page as one script: <a href="{href}">{Path(href).name}</a>.</p>'
    doctree.append(nodes.raw("", link, format="html"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("symslow-run", SymslowRun)
    app.connect("env-purge-doc", _forget)
    app.connect("doctree-read", _write_script)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
