"""Diagrams with Graphviz: a graph, its gradient graph, and every step of backpropagation.

* :func:`draw` — the subgraph some fetches need, with formulas, shapes and (when fed) values; each name scope (a
  layer) one box, the shapes of the tensors on its edges, or a cluster of its nodes when opened;
* :func:`draw_gradients` — the forward graph and the gradient graph backpropagation builds, running the other way;
* :func:`backprop_steps` / :func:`save_steps` — backpropagation step by step (node by node, or layer by layer),
  every node kept in its place: SVGs, one HTML page to step through them and an animated GIF.

Diagrams are ``graphviz.Digraph`` objects: ``.source`` is their DOT text (no Graphviz binaries needed), and
:func:`render` / :func:`save` render them (the binaries needed, with an error saying how to install them). In
Jupyter, diagrams, nodes and single steps display inline as SVG, and the steps of :func:`backprop_steps` as a
widget to step through.
"""

from __future__ import annotations

from typing import Any

from ..graph import Node

from .backprop import backprop_steps
from .files import save_steps
from .steps import BackpropStep, BackpropSteps, Contribution
from .graph import draw, draw_gradients
from .render import GraphvizNotFoundError, render, render_svg, save

__all__ = ["draw", "draw_gradients", "backprop_steps", "save_steps", "BackpropStep", "BackpropSteps",
           "Contribution", "render", "render_svg", "save", "GraphvizNotFoundError", "node_mimebundle"]


def node_mimebundle(node: Any) -> dict | None:
    """How a node displays in a notebook: its diagram as SVG (and HTML), or ``None`` without Graphviz.

    Name scopes are closed, but those around the node itself.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> sorted(node_mimebundle(ts.exp(x)))
        ['image/svg+xml', 'text/html', 'text/plain']
    """
    from .render import svg_or_none
    from .scopes import scope_path

    scope = "/".join(scope_path(node.name))
    svg = svg_or_none(draw(node, expand=[scope] if scope else ()))
    if svg is None:
        return None
    return {"image/svg+xml": svg, "text/html": f"<div>{svg[svg.index('<svg'):]}</div>", "text/plain": repr(node)}


def _node_repr_mimebundle(node: Node, include=None, exclude=None) -> dict | None:
    return node_mimebundle(node)


Node._repr_mimebundle_ = _node_repr_mimebundle  # notebooks show a node as its diagram (None without Graphviz)
