"""Diagrams of a graph (:func:`draw`) and of its gradient graph (:func:`draw_gradients`) with Graphviz.

A diagram is a ``graphviz.Digraph``: its DOT source needs nothing else; rendering it (SVG, PNG) needs the Graphviz
binaries (see :func:`symslow.viz.render`). Ids come from ``node.id`` and nodes are emitted in topological order, so
the same graph always gives the same DOT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import graphviz
import numpy as np
import sympy

from ..gradients import compute_gradients, gradients, topological_order
from ..graph import Constant, Node, Placeholder, format_shape
from ..ops.base import Operation
from ..ops.state import assign, group
from . import style

if TYPE_CHECKING:
    from ..session import Session
    from .layout import Layout

RANKDIRS = ("LR", "TB", "RL", "BT")


def draw(fetches: Any, feed_dict: Mapping | None = None, session: "Session | None" = None, *, loss: Node | None = None,
         rankdir: str | None = None, title: str | None = None) -> graphviz.Digraph:
    """The subgraph the fetches need, as a ``graphviz.Digraph``.

    Each node shows its kind or op, its name, its formula (in its inputs' names) and its static shape. With a
    ``feed_dict`` or a ``session``, each node also shows its value, computed by the session (a new one if none is
    given) in one run. Edges run the way data flows, labelled with the argument index where an op has several
    inputs.

    Args:
        fetches: a node or a list of nodes.
        feed_dict: values of placeholders, as for ``Session.run``.
        session: the session whose Variables' values to show (default: a new session, i.e. initial values).
        loss: a node to draw as the loss (coral).
        rankdir: ``"LR"`` or ``"TB"``; by default left to right for short graphs, top to bottom for deep ones.
        title: a caption for the diagram (plain text, shown as it is written).

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import draw
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> w = ts.Variable(2.0, name="w")
        >>> dot = draw(ts.sigmoid(w * x), feed_dict={x: 0.0})
        >>> print("n2 -> n3" in dot.source, "1/(1 + exp(-multiply))" in dot.source)
        True True
    """
    nodes = topological_order(_as_nodes(fetches, "draw"))
    values = node_values(nodes, feed_dict, session) if feed_dict is not None or session is not None else {}
    kinds = {loss: "loss"} if loss is not None else {}
    return diagram(nodes, values=values, kinds=kinds, rankdir=rankdir, title=_caption(title))


def draw_gradients(loss: Node, xs: Sequence[Node] | None = None, feed_dict: Mapping | None = None,
                   session: "Session | None" = None, *,
                   rankdir: str | None = None, title: str | None = None) -> graphviz.Digraph:
    """The forward graph of ``loss`` with the gradient nodes backpropagation builds, running the other way.

    Gradient nodes are orange with dashed edges; each gradient ∂J/∂x is tied by a dashed edge (with a diamond) to the node ``x`` it
    is the gradient of. The gradient nodes are new nodes of the graph, built by :func:`symslow.compute_gradients`
    (all nodes on a path to the loss) or, with ``xs``, by :func:`symslow.gradients`.

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import draw_gradients
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> J = ts.reduce_sum(ts.square(x))
        >>> dot = draw_gradients(J, [x])
        >>> "∂J/∂x = " in dot.source and "odiamond" in dot.source
        True
    """
    if not isinstance(loss, Node):
        raise TypeError(f"draw_gradients() takes the loss node, not {loss!r}.")
    if xs is None:
        table = compute_gradients(loss)
    else:
        xs = _as_nodes(xs, "draw_gradients")
        table = {x: g for x, g in zip(xs, gradients(loss, xs)) if g is not None}
    forward = topological_order([loss])
    nodes = topological_order([loss, *table.values()])
    values = node_values(nodes, feed_dict, session) if feed_dict is not None or session is not None else {}
    return diagram(nodes, values=values, kinds={loss: "loss"}, gradient_table=table, forward=forward,
                   rankdir=rankdir, title=_caption(title))


# the pieces ------------------------------------------------------------------------------------------------------
def _caption(title: str | None) -> str | None:
    return None if title is None else style.caption(title)


def _as_nodes(fetches: Any, who: str) -> list[Node]:
    items = list(fetches) if isinstance(fetches, (list, tuple)) else [fetches]
    for item in items:
        if not isinstance(item, Node):
            raise TypeError(f"{who}() takes nodes, not {item!r}.")
    if not items:
        raise ValueError(f"{who}() needs at least one node.")
    return items


def node_values(nodes: Sequence[Node], feed_dict: Mapping | None, session: "Session | None" = None) -> dict[Node, np.ndarray]:
    """The values of the nodes a session can compute from the feed, in one run.

    Nodes with side effects (``assign``, ``group``) are not run, and neither are nodes that need a placeholder the
    feed lacks.
    """
    from ..session import Session

    feed_dict = dict(feed_dict or {})
    if session is None:
        session = Session(graph=nodes[0].graph)
    computable: dict[int, bool] = {}
    for node in topological_order(nodes):
        if isinstance(node, (assign, group)):
            computable[id(node)] = False
        elif isinstance(node, Placeholder):
            computable[id(node)] = node in feed_dict
        else:
            computable[id(node)] = all(computable[id(i)] for i in node.input_nodes)
    wanted = [n for n in nodes if computable[id(n)]]
    if not wanted:
        return {}
    return dict(zip(wanted, session.run(wanted, feed_dict)))


def _depth(nodes: Sequence[Node]) -> int:
    level: dict[int, int] = {}
    for node in nodes:  # topological order: inputs first
        level[id(node)] = 1 + max((level.get(id(i), 0) for i in node.input_nodes), default=0)
    return max(level.values(), default=0)


def node_label(node: Node, *, names: Mapping[sympy.Symbol, str] | None = None, value: Any = None,
               has_value: bool = False, rows: Iterable[str] = ()) -> str:
    """The HTML-like label of a node: op (or name and kind), formula, static shape, value if known, extra rows.

    Each row is one run of text, so browsers draw SVG text where Graphviz measured it.
    """
    small = '<FONT POINT-SIZE="10" COLOR="#555555">{}</FONT>'
    display = (names or {}).get(node.symbol) or style.name(node.name)
    if not isinstance(node, Operation):
        cells = [f"<B>{display}</B>", small.format(style.escape(style.kind_of(node)))]
    elif isinstance(node, group):
        cells = [f"<B>{style.escape(node.op_type)}</B>", display]
    elif isinstance(node, assign):
        target = (names or {}).get(node.ref.symbol) or style.name(node.ref.name)
        cells = [f"<B>{style.escape(node.op_type)}</B>",
                 f"{display}: {target} ← {style.formula_html(node.expr, names)}"]
    else:
        cells = [f"<B>{style.escape(node.op_type)}</B>", f"{display} = {style.formula_html(node.expr, names)}"]
    shape = "shape " + format_shape(node.shape)
    if has_value and np.shape(value) != node.shape:
        shape += f", value {format_shape(np.shape(value))}"
    cells.append(small.format(style.escape(shape)))
    if has_value:
        cells.append(style.format_value(value))
    elif isinstance(node, Constant) and node.value.size <= style.SMALL:
        cells.append(style.format_value(node.value))
    cells.extend(rows)
    body = "".join(f"<TR><TD>{c}</TD></TR>" for c in cells)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def diagram(nodes: Sequence[Node], *, values: Mapping[Node, Any] | None = None, kinds: Mapping[Node, str] | None = None,
            gradient_table: Mapping[Node, Node] | None = None, forward: Sequence[Node] | None = None,
            rows: Mapping[Node, list[str]] | None = None, attrs: Mapping[Node, dict] | None = None,
            edge_labels: Mapping[tuple[Node, int], str] | None = None, rankdir: str | None = None,
            title: str | None = None, legend_extra: Sequence[tuple[str, str]] = (),
            layout: "Layout | None" = None) -> graphviz.Digraph:
    """A ``Digraph`` of ``nodes`` (in topological order), the building block of every symslow diagram.

    Args:
        values: node -> value, shown in the node.
        kinds: node -> a kind of :data:`style.NODE_STYLES` overriding the node's own (``"loss"``).
        gradient_table: ``{x: ∂J/∂x}``; its gradient nodes and the others not in ``forward`` are drawn as gradient
            nodes, their data edges reversed in the layout so that backpropagation runs the other way.
        rows: node -> extra label rows (HTML-like fragments).
        attrs: node -> extra Graphviz attributes (highlighting).
        edge_labels: (consumer, argument index) -> HTML-like edge label.
        layout: where to put every node and edge (:mod:`symslow.viz.layout`), instead of laying them out anew.
        title: an HTML-like fragment (see :func:`style.caption` for plain text).
    """
    values = values or {}
    kinds = dict(kinds or {})
    rows = rows or {}
    attrs = attrs or {}
    edge_labels = edge_labels or {}
    table = dict(gradient_table or {})
    forward_ids = {id(n) for n in (forward if forward is not None else nodes)}
    gradient_ids = {id(n) for n in nodes if id(n) not in forward_ids}
    names = gradient_names(table, nodes, forward_ids, kinds) if table else {}

    dot = (layout.digraph if layout is not None else graphviz.Digraph)(name="symslow", comment="symslow diagram")
    if rankdir is None:
        rankdir = "LR" if _depth(nodes) <= 9 else "TB"
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}.")
    dot.attr("graph", rankdir=rankdir, fontname=style.FONT, nodesep="0.25", ranksep="0.35", newrank="true")
    dot.attr("node", fontname=style.FONT, fontsize="12", margin="0.06,0.03")
    dot.attr("edge", fontname=style.FONT, arrowsize="0.7")
    if title:
        dot.attr("graph", label=f"<{title}>", labelloc="t", labeljust="l", fontsize="14")

    used_kinds = []
    for node in nodes:
        kind = kinds.get(node) or ("gradient" if id(node) in gradient_ids else style.kind_of(node))
        if kind not in used_kinds:
            used_kinds.append(kind)
        label = node_label(node, names=names, value=values.get(node), has_value=node in values,
                           rows=rows.get(node, ()))
        node_attrs = {**style.NODE_STYLES[kind], **attrs.get(node, {})}
        dot.node(style.node_id(node), label=label, **node_attrs)

    for node in nodes:
        several = len(node.input_nodes) > 1
        for index, source in enumerate(node.input_nodes):
            label = edge_labels.get((node, index)) or (str(index) if several else None)
            edge = {"label": f"<{label}>"} if label else {}
            if id(node) in gradient_ids and id(source) in gradient_ids:
                # drawn from the consumer's side so that the gradient graph runs against the forward one
                dot.edge(style.node_id(node), style.node_id(source), dir="back", **edge, **style.GRADIENT_EDGE_STYLE)
            elif id(node) in gradient_ids:
                dot.edge(style.node_id(source), style.node_id(node), **edge, **style.GRADIENT_INPUT_STYLE)
            else:
                dot.edge(style.node_id(source), style.node_id(node), **edge, **style.EDGE_STYLE)
    for x, g in table.items():
        if id(x) in forward_ids:
            dot.edge(style.node_id(x), style.node_id(g), **style.GRADIENT_OF_STYLE)
    extra = list(legend_extra)
    if table:
        extra.insert(0, ('<FONT COLOR="#e66101">- - ◇</FONT>', "is the gradient of"))
    dot.node("legend", label=style.legend(used_kinds, extra), shape="plaintext")
    return dot


def gradient_names(table: Mapping[Node, Node], nodes: Sequence[Node], forward_ids: set,
                   kinds: Mapping[Node, str] = ()) -> dict[sympy.Symbol, str]:
    """How gradient nodes' symbols read in formulas: ``∂J/∂x`` for a gradient in the table, the short name else."""
    names = {}
    for node in nodes:
        if id(node) not in forward_ids:
            names[node.symbol] = style.name(node.name.split("/", 1)[-1])
    for x, g in table.items():
        names[g.symbol] = f"∂J/∂{style.name(x.name)}"
    return names
