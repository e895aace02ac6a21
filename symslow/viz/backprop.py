"""Backpropagation step by step, as the tutorial teaches it, drawn from the gradient nodes symslow builds.

:func:`backprop_steps` walks the nodes in the order backpropagation visits them
(:func:`symslow.gradients.backprop_order`: every consumer before the node it consumes). At each node the gradient
∂J/∂node is the sum, over the node's consumers, of what each consumer passes back (its vector-Jacobian product).
The steps show that sum with the formulas of the gradient nodes :func:`symslow.compute_gradients` built, and, when
fed, the values a session computes for them. :func:`save_steps` writes the diagrams and one HTML page to page
through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import graphviz
import sympy

from ..gradients import GradientTable, backprop_order, compute_gradients
from ..graph import Node, topological_order
from ..ops.base import Operation
from . import style
from .backprop_layers import _layer_steps
from .graph import diagram, node_values
from .layout import Layout, layout_of
from .render import GraphvizNotFoundError
from .scopes import group_by_scope
from .steps import _LEGEND, BackpropStep, BackpropSteps, Contribution, _contribution_label, _node_state

if TYPE_CHECKING:
    from ..session import Session


def backprop_steps(loss: Node, feed_dict: Mapping | None = None, session: "Session | None" = None, *,
                   by: str = "node") -> BackpropSteps:
    """The steps of backpropagation from ``loss``: a first step (∂J/∂J = 1), one per node, and a last one.

    The node steps follow :func:`symslow.gradients.backprop_order`, so every consumer comes before the node it
    consumes; the loss's own step is the first. Gradient nodes are built with :func:`symslow.compute_gradients`
    (new nodes of the graph); with a ``feed_dict`` or a ``session``, each step also holds the numeric values a
    session computes for them, in one run.

    ``by="layer"`` takes one step per name scope instead (a layer of ``tf.layers``, a ``tf.name_scope``), finding
    the gradients of all the nodes in it (its ``parts``), and draws each scope closed, as :func:`draw` does; a node
    in no scope keeps a step of its own. Every layer comes after the layers that consume it.

    Example:
        >>> import symslow as ts
        >>> from symslow.viz import backprop_steps
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> J = ts.reduce_sum(x - ts.sigmoid(x))
        >>> steps = backprop_steps(J, feed_dict={x: [0.0]})
        >>> [step.node.name if step.node is not None else None for step in steps]
        ['reduce_sum', 'subtract', 'sigmoid', 'x', None]
        >>> print(steps[3].text)
        step 4: Node x: sum what its consumers (subtract, sigmoid) pass back
        ∂J/∂x = unbroadcast(∂J/∂subtract to x) + ∂J/∂sigmoid·sigmoid·(1 - sigmoid)
        = [0.75]

        By layer, a name scope is one step:

        >>> with ts.name_scope("layer"):
        ...     h = ts.tanh(2.0 * x)
        >>> steps = backprop_steps(ts.reduce_sum(h, name="K"), feed_dict={x: [0.0, 1.0]}, by="layer")
        >>> [step.layer or step.node.name for step in steps[:-1]]
        ['K', 'layer', 'x']
        >>> print(steps[1].text)
        step 2: Layer layer: the gradients of its 3 nodes, from what its consumers (K) pass back
        ∂J/∂layer/tanh = broadcast(1 to layer/tanh) = [1, 1]
        ∂J/∂layer/multiply = ∂J/∂layer/tanh·(1 - layer/tanh²) = [1, 0.0707]
        ∂J/∂layer/Const = unbroadcast(∂J/∂layer/multiply·x to 2) = 0.0707
    """
    if not isinstance(loss, Node):
        raise TypeError(f"backprop_steps() takes the loss node, not {loss!r}.")
    if by not in ("node", "layer"):
        raise ValueError(f"backprop_steps(): by is 'node' or 'layer', not {by!r}.")
    graph = loss.graph
    first_new = len(graph.nodes)
    table = compute_gradients(loss)
    order = backprop_order([loss])
    forward = topological_order([loss])
    names: dict = {}
    for x, g in table.items():  # a gradient passed on unchanged (by add) keeps the name of the first node it is of
        names.setdefault(g.symbol, f"∂J/∂{style.name(x.name)}")

    shares = {id(n): _shares(n, table, order) for n in order}
    wanted = [*table.values(), *(c.share for cs in shares.values() for c in cs if c.share is not None)]
    values: dict = {}
    if feed_dict is not None or session is not None:
        values = node_values(topological_order([*forward, *wanted]), feed_dict, session)
    totals = set(map(id, table.values()))

    steps = _node_steps(order, table, shares, values, names, totals, first_new)
    grouping = group_by_scope(forward, collapse=True, who="backprop_steps") if by == "layer" else None
    if grouping is not None:
        return _layer_steps(steps, grouping, forward, order, table, values)
    layout = _shared_layout(steps, forward, order, table, values)
    for step in steps:
        step.diagram = _step_diagram(step, forward, order, table, values, layout)
        step.bare_diagram = _step_diagram(step, forward, order, table, values, layout, titled=False)
    return steps


def _node_steps(order: Sequence[Node], table: GradientTable, shares: dict, values: dict, names: dict, totals: set,
                first_new: int) -> BackpropSteps:
    """The steps without their diagrams: the loss's (∂J/∂J = 1), one per node in ``order``, and the last."""
    steps = BackpropSteps()
    for position, node in enumerate(order):
        gradient = table.get(node)
        contributions = shares[id(node)]
        for c in contributions:
            if c.share is not None:
                c.formula = _expanded(c.share, c.share is table.get(c.consumer), names, totals, first_new)
            else:
                c.formula = "0"
            c.value = values.get(c.share)
        if position == 0:
            formula = "∂J/∂J = 1"
        else:
            parts = [c.formula for c in contributions if c.share is not None] or ["0"]
            formula = f"∂J/∂{style.name(node.name)} = " + " + ".join(parts)
        consumers = list(dict.fromkeys(c.consumer for c in contributions))
        steps.append(BackpropStep(position + 1, "start" if position == 0 else "node", node, consumers, contributions,
                                  gradient, formula, values.get(gradient), order[:position], order[position + 1:],
                                  None))
    steps.append(BackpropStep(len(order) + 1, "end", None, [], [], None, "", None, list(order), [], None))
    return steps


def _shares(node: Node, table: GradientTable, order: Sequence[Node]) -> list[Contribution]:
    """What each consumer of ``node`` passed back to it, as backpropagation recorded it (``table.shares``)."""
    order_ids = {id(n) for n in order}
    pairs = [(c, i) for c in order for i, x in enumerate(c.input_nodes) if x is node and id(c) in order_ids]
    if node not in table:
        return [Contribution(c, i, None, "0") for c, i in pairs]
    return [Contribution(c, i, table.shares.get((id(c), i)), "") for c, i in pairs]


def _expanded(share: Node, passed_on: bool, names: Mapping[sympy.Symbol, str], totals: set, first_new: int) -> str:
    """The share's formula, intermediate gradient nodes replaced by theirs, down to ∂J/∂… and forward nodes.

    ``passed_on``: the share is the consumer's own gradient, passed back unchanged; it reads ∂J/∂consumer.
    """
    cache: dict[int, sympy.Expr] = {}

    def expand(node: Node, top: bool) -> sympy.Expr:
        if node.id < first_new or (id(node) in totals and not top) or not isinstance(node, Operation):
            return node.symbol
        if id(node) not in cache:
            cache[id(node)] = node.expr.xreplace({i.symbol: expand(i, False) for i in node.input_nodes})
        return cache[id(node)]

    return style.formula_html(expand(share, not passed_on), names)


def _states(state_of, forward: Sequence[Node], order: Sequence[Node], table: Mapping[Node, Node],
            values: Mapping) -> tuple[dict, dict]:
    """Rows and attributes of every node on the way to the loss, each in the state ``state_of(node)`` says."""
    position = {id(n): k for k, n in enumerate(order)}
    rows: dict[Node, list[str]] = {}
    attrs: dict[Node, dict] = {}
    for node in forward:
        if id(node) in position:
            rows[node], attrs[node] = _node_state(node, state_of(node), position[id(node)] + 1, table, values)
    return rows, attrs


def _caption(step: BackpropStep, count: int) -> str:
    # three lines at every step, so that the caption pushes the graph down by the same height in every picture
    if step.kind == "end":
        lines = [f"Step {step.number} of {count}: all gradients are known", "backpropagation is done"]
    else:
        lines = [f"Step {step.number} of {count}: {step.title}", step.formula]
    lines.append(style.coloured(f"still to do: {step.still_to_do}", style.PENDING))
    return "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines)


def _step_diagram(step: BackpropStep, forward: Sequence[Node], order: Sequence[Node], table: Mapping[Node, Node],
                  values: Mapping, layout: Layout | None, titled: bool = True) -> graphviz.Digraph:
    done = {id(n) for n in step.done}
    rows, attrs = _states(lambda n: "done" if id(n) in done else "now" if n is step.node else "future",
                          forward, order, table, values)
    edge_labels = {(c.consumer, c.index): _contribution_label(c) for c in step.contributions}
    return diagram(forward, values={}, kinds={order[0]: "loss"}, rows=rows, attrs=attrs, edge_labels=edge_labels,
                   title=_caption(step, len(order) + 1) if titled else None, legend_extra=_LEGEND, layout=layout)


def _shared_layout(steps: Sequence[BackpropStep], forward: Sequence[Node], order: Sequence[Node],
                   table: Mapping[Node, Node], values: Mapping) -> Layout | None:
    """One layout for all the steps (``None`` without Graphviz, whose ``dot`` lays it out).

    Each node is made as large as its largest label in any step (measured by laying out the graph with every node
    in each state), and every edge has the label it has at its step, so that each step fits where the layout put it.
    """
    kinds = {order[0]: "loss"}
    try:
        measured = [layout_of(diagram(forward, values={}, kinds=kinds, rows=rows, attrs=attrs, legend_extra=_LEGEND))
                    for rows, attrs in (_states(lambda n, s=state: s, forward, order, table, values)
                                        for state in ("future", "now", "done"))]
    except GraphvizNotFoundError:
        return None
    rows, attrs = _states(lambda n: "now", forward, order, table, values)
    for node in rows:
        sizes = [m.size(style.node_id(node)) for m in measured]
        attrs[node].update(width=f"{max(w for w, _ in sizes):.4f}", height=f"{max(h for _, h in sizes):.4f}",
                           fixedsize="true")
    labels = {(c.consumer, c.index): _contribution_label(c) for step in steps for c in step.contributions}
    return layout_of(diagram(forward, values={}, kinds=kinds, rows=rows, attrs=attrs, edge_labels=labels,
                             legend_extra=_LEGEND))

