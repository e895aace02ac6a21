"""Diagrams of a graph (:func:`draw`) and of its gradient graph (:func:`draw_gradients`) with Graphviz.

A diagram is a ``graphviz.Digraph``: its DOT source needs nothing else; rendering it (SVG, PNG) needs the Graphviz
binaries (see :func:`symslow.viz.render`). Ids come from ``node.id`` and nodes are emitted in topological order, so
the same graph always gives the same DOT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import graphviz
import numpy as np

from ..gradients import compute_gradients, gradients
from ..graph import Node, topological_order
from ..leaves import Placeholder
from ..ops.state import assign, group
from . import style
from .labels import _boxed_edge_label, gradient_names, node_label, scope_label
from .scopes import Grouping, Scope, group_by_scope

if TYPE_CHECKING:
    from ..session import Session
    from .layout import Layout

RANKDIRS = ("LR", "TB", "RL", "BT")


def draw(fetches: Any, feed_dict: Mapping | None = None, session: "Session | None" = None, *, loss: Node | None = None,
         rankdir: str | None = None, title: str | None = None, collapse: bool = True,
         expand: Iterable[str] | str = ()) -> graphviz.Digraph:
    """The subgraph the fetches need, as a ``graphviz.Digraph``.

    Each node shows its kind or op, its name, its formula (in its inputs' names) and its static shape. With a
    ``feed_dict`` or a ``session``, each node also shows its value, computed by the session (a new one if none is
    given) in one run. Edges run the way data flows, labelled with the argument index where an op has several
    inputs.

    Nodes in a name scope (``with tf.name_scope("hidden"):``, the layers of ``tf.layers``: ``conv2d/...``,
    ``dense_1/...``) are drawn together, as TensorBoard draws them. A closed scope is one box with its name, the ops
    inside and its Variables' shapes, and the edges into and out of it carry the shapes of the tensors they take
    (``?×28×28×32``); an open scope is a cluster around its nodes. Scopes are closed unless ``collapse=False`` (all
    open) or ``expand`` names them; a scope that data leaves and comes back into is drawn open.

    Args:
        fetches: a node or a list of nodes.
        feed_dict: values of placeholders, as for ``Session.run``.
        session: the session whose Variables' values to show (default: a new session, i.e. initial values).
        loss: a node to draw as the loss (coral).
        rankdir: ``"LR"`` or ``"TB"``; by default left to right for short graphs, top to bottom for deep ones.
        title: a caption for the diagram (plain text, shown as it is written).
        collapse: ``True``: name scopes closed (but those in ``expand``); ``False``: every scope open.
        expand: names of the scopes to draw open (``"conv2d_1"``, ``"outer/inner"``), with the scopes around them.

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import draw
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> w = ts.Variable(2.0, name="w")
        >>> dot = draw(ts.sigmoid(w * x), feed_dict={x: 0.0})
        >>> print("n2 -> n3" in dot.source, "1/(1 + exp(-multiply))" in dot.source)
        True True

        A layer made in a name scope is one box, the shapes on its edges:

        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(ts.float32, shape=(None, 3), name="x")
        >>> with ts.name_scope("hidden"):
        ...     h = ts.nn.relu(ts.matmul(x, ts.Variable(ts.zeros([3, 4]), name="W")))
        >>> dot = draw(ts.reduce_sum(h))
        >>> "<B>hidden</B>" in dot.source, "label=<?×3>" in dot.source, "label=<?×4>" in dot.source
        (True, True, True)
        >>> "subgraph cluster_s0" in draw(ts.reduce_sum(h), collapse=False).source
        True
    """
    nodes = topological_order(_as_nodes(fetches, "draw"))
    grouping = group_by_scope(nodes, collapse=collapse, expand=expand, who="draw")
    values = node_values(nodes, feed_dict, session) if feed_dict is not None or session is not None else {}
    kinds = {loss: "loss"} if loss is not None else {}
    return diagram(nodes, values=values, kinds=kinds, rankdir=rankdir, title=_caption(title), grouping=grouping)


def draw_gradients(loss: Node, xs: Sequence[Node] | None = None, feed_dict: Mapping | None = None,
                   session: "Session | None" = None, *, rankdir: str | None = None, title: str | None = None,
                   collapse: bool = True, expand: Iterable[str] | str = ()) -> graphviz.Digraph:
    """The forward graph of ``loss`` with the gradient nodes backpropagation builds, running the other way.

    Gradient nodes are orange with dashed edges; each gradient ∂J/∂x is tied by a dashed edge (with a diamond) to the node ``x`` it
    is the gradient of. The gradient nodes are new nodes of the graph, built by :func:`symslow.compute_gradients`
    (all nodes on a path to the loss) or, with ``xs``, by :func:`symslow.gradients`.

    Name scopes are drawn as :func:`draw` draws them (``collapse``, ``expand``), and the gradient nodes of each
    scope are drawn together beside it: ∂J/∂x with ``x``, and each node on the way with the gradient it is computed
    from, so a closed layer ``conv2d`` has a closed box ``∂J/∂conv2d`` of its gradients.

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
    grouping = group_by_scope(nodes, collapse=collapse, expand=expand, who="draw_gradients",
                              forward_ids={id(n) for n in forward}, table=table)
    values = node_values(nodes, feed_dict, session) if feed_dict is not None or session is not None else {}
    return diagram(nodes, values=values, kinds={loss: "loss"}, gradient_table=table, forward=forward,
                   rankdir=rankdir, title=_caption(title), grouping=grouping)


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


def _depth(nodes: Sequence[Node], grouping: Grouping | None = None) -> int:
    """The longest path of the diagram, in nodes drawn: a closed scope's box counts once."""
    level: dict[int, int] = {}
    box = grouping.box if grouping is not None else (lambda n: None)
    for node in nodes:  # topological order: inputs first
        here = box(node)
        level[id(node)] = max((level.get(id(i), 0) + (here is None or box(i) != here) for i in node.input_nodes),
                              default=1)
    return max(level.values(), default=0)


def diagram(nodes: Sequence[Node], *, values: Mapping[Node, Any] | None = None,
            kinds: Mapping[Node | Scope, str] | None = None, gradient_table: Mapping[Node, Node] | None = None,
            forward: Sequence[Node] | None = None, rows: Mapping[Node | Scope, list[str]] | None = None,
            attrs: Mapping[Node | Scope, dict] | None = None,
            edge_labels: Mapping[tuple[Node, int], str] | None = None, rankdir: str | None = None,
            title: str | None = None, legend_extra: Sequence[tuple[str, str]] = (),
            layout: "Layout | None" = None, grouping: Grouping | None = None) -> graphviz.Digraph:
    """A ``Digraph`` of ``nodes`` (in topological order), the building block of every symslow diagram.

    Args:
        values: node -> value, shown in the node.
        kinds: node -> a kind of :data:`style.NODE_STYLES` overriding the node's own (``"loss"``).
        gradient_table: ``{x: ∂J/∂x}``; its gradient nodes and the others not in ``forward`` are drawn as gradient
            nodes, their data edges reversed in the layout so that backpropagation runs the other way.
        rows: node (or closed scope) -> extra label rows (HTML-like fragments).
        attrs: node (or closed scope) -> extra Graphviz attributes (highlighting).
        edge_labels: (consumer, argument index) -> HTML-like edge label.
        layout: where to put every node and edge (:mod:`symslow.viz.layout`), instead of laying them out anew.
            Open scopes are then not framed (the layout's positions already keep their nodes together).
        title: an HTML-like fragment (see :func:`style.caption` for plain text).
        grouping: how to draw name scopes (:func:`symslow.viz.scopes.group_by_scope`); ``None``: node by node.
    """
    table = dict(gradient_table or {})
    forward_ids = {id(n) for n in (forward if forward is not None else nodes)}
    kinds = dict(kinds or {})
    drawing = _Drawing(
        dot=_new_digraph(nodes, layout, grouping, rankdir, title), grouping=grouping, layout=layout, kinds=kinds,
        values=values or {}, rows=rows or {}, attrs=attrs or {},
        gradient_ids={id(n) for n in nodes if id(n) not in forward_ids},
        names=gradient_names(table, nodes, forward_ids, kinds) if table else {},
    )
    if grouping is None:
        for node in nodes:
            drawing.add_node(drawing.dot, node)
    else:
        drawing.add_contents(drawing.dot, None)
    drawing.add_edges(nodes, edge_labels or {})
    drawing.tie_gradients(table, forward_ids)
    extra = list(legend_extra)
    if table:
        extra.insert(0, (style.coloured("- - ◇", style.GRADIENT_OF), "is the gradient of"))
    drawing.dot.node("legend", label=style.legend(drawing.used_kinds, extra), shape="plaintext")
    return drawing.dot


def _new_digraph(nodes: Sequence[Node], layout: "Layout | None", grouping: Grouping | None, rankdir: str | None,
                 title: str | None) -> graphviz.Digraph:
    """An empty diagram with symslow's fonts and spacing, running left to right unless it is deep."""
    dot = (layout.digraph if layout is not None else graphviz.Digraph)(name="symslow", comment="symslow diagram")
    if rankdir is None:
        rankdir = "LR" if _depth(nodes, grouping) <= 9 else "TB"
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}.")
    dot.attr("graph", rankdir=rankdir, fontname=style.FONT, nodesep="0.25", ranksep="0.35", newrank="true")
    dot.attr("node", fontname=style.FONT, fontsize="12", margin="0.06,0.03")
    dot.attr("edge", fontname=style.FONT, arrowsize="0.7")
    if title:
        dot.attr("graph", label=f"<{title}>", labelloc="t", labeljust="l", fontsize="14")
    return dot


@dataclass
class _Drawing:
    """A diagram being drawn: the ``Digraph``, how each node looks, and the kinds drawn so far (for the legend)."""

    dot: graphviz.Digraph
    grouping: Grouping | None
    layout: Any
    kinds: dict
    values: Mapping
    rows: Mapping
    attrs: Mapping
    gradient_ids: set
    names: dict
    used_kinds: list = field(default_factory=list)

    def shown(self, node: Node) -> Node | Scope:
        """What stands for ``node`` in the diagram: itself, or the closed scope's box it is in."""
        return self.grouping.shown(node) if self.grouping is not None else node

    def ident(self, item: Node | Scope) -> str:
        return self.grouping.ident(item) if self.grouping is not None else style.node_id(item)

    def use(self, kind: str) -> str:
        if kind not in self.used_kinds:
            self.used_kinds.append(kind)
        return kind

    def add_node(self, target: graphviz.Digraph, node: Node) -> None:
        kind = self.use(self.kinds.get(node) or ("gradient" if id(node) in self.gradient_ids else style.kind_of(node)))
        label = node_label(node, names=self.names, value=self.values.get(node), has_value=node in self.values,
                           rows=self.rows.get(node, ()))
        target.node(style.node_id(node), label=label, **{**style.NODE_STYLES[kind], **self.attrs.get(node, {})})

    def add_box(self, target: graphviz.Digraph, scope: Scope) -> None:
        members = self.grouping.members[scope]
        kind = self.use(self.kinds.get(scope) or ("loss" if any(self.kinds.get(n) == "loss" for n in members)
                                                  else "gradient scope" if scope.gradient else "scope"))
        label = scope_label(scope, members, rows=self.rows.get(scope, ()))
        target.node(self.grouping.ident(scope), label=label, **{**style.NODE_STYLES[kind], **self.attrs.get(scope, {})})

    def add_contents(self, target: graphviz.Digraph, scope: Scope | None) -> None:
        """The nodes and scopes directly in ``scope`` (the top level for None): an open scope as a cluster."""
        for item in self.grouping.contents(scope):
            if not isinstance(item, Scope):
                self.add_node(target, item)
            elif item not in self.grouping.opened:
                self.add_box(target, item)
            elif self.layout is not None:  # the layout's positions keep the scope's nodes together
                self.add_contents(target, item)
            else:
                kind = self.use("open gradient scope" if item.gradient else "open scope")
                with target.subgraph(name=f"cluster_{self.grouping.ident(item)}") as cluster:
                    cluster.attr(label=f"<<B>{style.name(item.title)}</B>>", labeljust="l", fontsize="12",
                                 **style.CLUSTER_STYLES[kind])
                    self.add_contents(cluster, item)

    def edge_style(self, node: Node, source: Node) -> str:
        if id(node) in self.gradient_ids and id(source) in self.gradient_ids:
            return "gradient"
        return "gradient input" if id(node) in self.gradient_ids else "forward"

    def add_edge(self, tail: str, head: str, label: str | None, kind: str) -> None:
        edge = {"label": f"<{label}>"} if label else {}
        if kind == "gradient":
            # drawn from the consumer's side so that the gradient graph runs against the forward one
            self.dot.edge(head, tail, dir="back", **edge, **style.GRADIENT_EDGE_STYLE)
        elif kind == "gradient input":
            self.dot.edge(tail, head, **edge, **style.GRADIENT_INPUT_STYLE)
        else:
            self.dot.edge(tail, head, **edge, **style.EDGE_STYLE)

    def add_edges(self, nodes: Sequence[Node], edge_labels: Mapping[tuple[Node, int], str]) -> None:
        """Every input edge; those into or out of a closed scope's box drawn once per pair of ends."""
        boxed: dict[tuple[str, str], list[tuple[Node, Node, int]]] = {}
        for node in nodes:
            several = len(node.input_nodes) > 1
            head = self.shown(node)
            for index, source in enumerate(node.input_nodes):
                tail = self.shown(source)
                if tail is head or isinstance(tail, Scope) and tail == head:  # (nodes compare by identity only)
                    continue
                if isinstance(tail, Scope) or isinstance(head, Scope):
                    boxed.setdefault((self.ident(tail), self.ident(head)), []).append((source, node, index))
                    continue
                label = edge_labels.get((node, index)) or (str(index) if several else None)
                self.add_edge(style.node_id(source), style.node_id(node), label, self.edge_style(node, source))
        for (tail, head), carried in boxed.items():
            into_box = isinstance(self.shown(carried[0][1]), Scope)
            self.add_edge(tail, head, _boxed_edge_label(carried, edge_labels, into_box),
                          self.edge_style(carried[0][1], carried[0][0]))

    def tie_gradients(self, table: Mapping[Node, Node], forward_ids: set) -> None:
        """A dashed 'is the gradient of' edge from each forward node to its gradient (once per pair of ends)."""
        tied = set()
        for x, g in table.items():
            ends = (self.ident(self.shown(x)), self.ident(self.shown(g)))
            if id(x) in forward_ids and ends not in tied:
                tied.add(ends)
                self.dot.edge(*ends, **style.GRADIENT_OF_STYLE)
