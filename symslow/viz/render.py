"""Rendering diagrams with the Graphviz binaries, with an error that says how to install them when missing."""

from __future__ import annotations

from pathlib import Path

import graphviz

INSTALL_HINT = (
    "Rendering diagrams needs the Graphviz binaries (the 'dot' program), which were not found on PATH. "
    "Install them: 'sudo apt-get install graphviz' on Debian/Ubuntu, 'brew install graphviz' on macOS, "
    "'conda install graphviz', or see https://graphviz.org/download/ (or run 'make demo' / 'make test', which "
    "install them with apt-get when run as root). The DOT source is available without them: diagram.source."
)


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz binaries are missing; the message says how to install them."""


def render(diagram: graphviz.Digraph, format: str = "svg", dpi: float | None = None) -> bytes:
    """The diagram rendered by Graphviz's ``dot`` (``"svg"``, ``"png"``, ``"pdf"``, ...), as bytes.

    ``dpi``: pixels per inch of an image format such as PNG (Graphviz's default: 96).

    Example:
        >>> import graphviz
        >>> svg = render(graphviz.Digraph(body=["a -> b"]), "svg")
        >>> svg.startswith(b"<?xml")
        True
    """
    try:
        if dpi is None:
            return diagram.pipe(format=format)
        added = len(diagram.body)
        diagram.attr("graph", dpi=f"{dpi:g}")
        try:
            return diagram.pipe(format=format)
        finally:
            del diagram.body[added:]  # the diagram as it was
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(INSTALL_HINT) from error


def render_svg(diagram: graphviz.Digraph) -> str:
    """The diagram as SVG text."""
    return render(diagram, "svg").decode("utf-8")


def save(diagram: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:
    """Write the diagram to ``path``; the format is the suffix unless given (``.dot`` writes the DOT source)."""
    path = Path(path)
    format = format or path.suffix.lstrip(".") or "svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    if format in ("dot", "gv"):
        path.write_text(diagram.source, encoding="utf-8")
    else:
        path.write_bytes(render(diagram, format))
    return path


def svg_or_none(diagram: graphviz.Digraph) -> str | None:
    """SVG text, or ``None`` when Graphviz is missing (for notebook display, which then falls back to text)."""
    try:
        return render_svg(diagram)
    except GraphvizNotFoundError:
        return None
