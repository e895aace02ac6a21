"""Each page that runs code (``symslow-run`` blocks) as a Jupyter notebook that runs from top to bottom.

The page's prose becomes Markdown cells and each block a code cell, in the page's order; MyST's own syntax is
turned into what Jupyter's Markdown shows (roles such as ``{func}`symslow.latex``` become code, ``{doc}`` links
the title of the page they name, directive and container fences go). The notebooks are written into the built
site as ``_notebooks/<page>.ipynb`` when the build finishes; the ``symslow-run`` directive links each one under
its page's title.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any, Callable

from sphinx.application import Sphinx

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_COLON_FENCE = re.compile(r"^ {0,3}:{3,}")
_OPTION = re.compile(r"^:[\w-]+:")
_TARGET = re.compile(r"^\([^)\s]+\)=\s*$")  # (label)=, a MyST anchor
_DOC_ROLE = re.compile(r"\{(?:doc|ref)\}`([^`<]*?)\s*(?:<([^>`]+)>)?`")
_CODE_ROLE = re.compile(r"\{(?:py:)?(?:func|class|meth|mod|attr|obj|data|exc)\}`~?([^`]+)`")
_MATH_ROLE = re.compile(r"\{math\}`([^`]+)`")
_OTHER_ROLE = re.compile(r"\{[\w:-]+\}`([^`]+)`")

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def notebook(source: str, title_of: Callable[[str], str] = lambda target: target) -> dict[str, Any]:
    """The notebook (nbformat 4 as a dict) of a MyST page: Markdown cells and one code cell per ``symslow-run`` block.

    ``title_of`` gives the title of a page a ``{doc}`` role names without a text of its own.

    Example:
        >>> page = "# Title\\n\\nSee {func}`symslow.latex`.\\n\\n```{symslow-run}\\n:hide-code:\\n1 + 1\\n```\\n"
        >>> [(cell["cell_type"], cell["source"]) for cell in notebook(page)["cells"]]
        [('markdown', '# Title\\n\\nSee `symslow.latex`.'), ('code', '1 + 1')]
    """
    cells: list[dict[str, Any]] = []
    markdown: list[str] = []

    def flush() -> None:
        text = "\n".join(markdown).strip("\n")
        markdown.clear()
        if text.strip():
            cells.append(_cell("markdown", _for_jupyter(text, title_of), len(cells)))

    lines = source.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening:
            fence, info = opening["fence"], opening["info"].strip()
            closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
            body = lines[i + 1:end]
            if info.startswith("{symslow-run}"):
                while body and _OPTION.match(body[0]):
                    body = body[1:]
                flush()
                cells.append(_cell("code", "\n".join(body).strip("\n"), len(cells)))
            elif not info.startswith("{"):  # a plain code block stays, as Markdown; other directives go
                markdown.extend(lines[i:end + 1])
            i = end + 1
            continue
        if not (_COLON_FENCE.match(line) or _TARGET.match(line)):
            markdown.append(line)
        i += 1
    flush()
    return {"cells": cells, "metadata": NOTEBOOK_METADATA, "nbformat": 4, "nbformat_minor": 5}


def _cell(kind: str, text: str, number: int) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{number + 1}", "metadata": {}, "source": text}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _for_jupyter(text: str, title_of: Callable[[str], str]) -> str:
    text = _DOC_ROLE.sub(lambda m: m[1] if m[2] else title_of(m[1]), text)
    text = _CODE_ROLE.sub(r"`\1`", text)
    text = _MATH_ROLE.sub(r"$\1$", text)
    return _OTHER_ROLE.sub(r"`\1`", text)


def _write_notebooks(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    env = app.env
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix != ".md":
            continue
        source = path.read_text(encoding="utf-8")
        if "{symslow-run}" not in source:
            continue

        def title_of(target: str, docname: str = docname) -> str:
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(docname), target))
            title = env.titles.get(name)
            return title.astext() if title is not None else target

        out = Path(app.outdir) / "_notebooks" / f"{docname}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(notebook(source, title_of), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", _write_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
