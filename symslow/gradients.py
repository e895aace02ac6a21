"""Gradients as graph nodes: backpropagation builds a second graph that runs the other way.

A node's gradient is the sum, over its consumers, of what each consumer's gradient rule passes back (the total
derivative over every path). So a node may be processed only after *all* of its consumers. The tutorial's
breadth-first search breaks that when a node feeds consumers at different depths (``J = sum(x - sigmoid(x))``
reaches ``x`` through ``subtract`` before it has processed ``sigmoid``); the reverse of a topological order never
does. That is the whole algorithm:

1. order the nodes the outputs depend on so that every node comes after its inputs (a depth-first post-order);
2. walk that order backwards, summing each node's incoming gradients and asking its op for its inputs' shares.
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

import numpy as np

from .errors import InvalidArgumentError
from .graph import Node, topological_order
from .leaves import as_node
from .ops.base import Operation, operand
from .ops.constant import ones_like, zeros_like
from .ops.elementwise_op import elementwise_expr
from .ops.movement import reshape
from .ops.registered import input_gradients


def backprop_order(outputs: Sequence[Node], sources: Sequence[Node] | None = None) -> list[Node]:
    """The nodes backpropagation visits, in the order it visits them: every consumer before the node it consumes.

    With ``sources``, only the nodes on a path from a source to an output.
    """
    order = topological_order(outputs)
    if sources is not None:
        reaches = {id(s) for s in sources}
        for node in order:  # inputs come first, so one pass finds every node a source reaches
            if any(id(i) in reaches for i in node.input_nodes):
                reaches.add(id(node))
        order = [n for n in order if id(n) in reaches]
    return [n for n in reversed(order) if _differentiable(n)]


def _differentiable(node: Node) -> bool:
    return node.dtype is None or np.dtype(node.dtype).kind in "fc" or isinstance(node, Operation)


class GradientTable(dict):
    """``{node: ∂J/∂node}``, as backpropagation built it, and what each consumer passed back to each of its inputs:
    ``shares[(id(consumer), index)]`` (a node, or ``None`` for no contribution)."""

    def __init__(self) -> None:
        super().__init__()
        self.shares: dict[tuple[int, int], Node | None] = {}


def _backprop(ys: Sequence[Node], grad_ys: Sequence[Node], sources: Sequence[Node] | None) -> GradientTable:
    order = backprop_order(ys, sources)
    wanted = {id(n) for n in order}
    incoming: dict[int, list[Node]] = {id(y): [g] for y, g in zip(ys, grad_ys)}
    table = GradientTable()
    graph = ys[0].graph
    first_new = len(graph.nodes)
    of = ys[0].name.rsplit("/", 1)[-1] if len(ys) == 1 else "y"
    totals: set[int] = set()
    for node in order:
        parts = incoming.pop(id(node), [])
        if not parts:
            continue
        if len(parts) == 1:
            total = parts[0]
        else:
            with graph.name_scope(f"{node.name}_grad"):
                total = _add_n(parts)
        if total.id >= first_new and id(total) not in totals and not total.consumers:
            with contextlib.suppress(InvalidArgumentError):  # (a name too long for two: it keeps its own)
                graph._rename(total, gradient_name(of, node.name))  # named for what it is: ∂J/∂node
        totals.add(id(total))
        table[node] = total
        if not isinstance(node, Operation):
            continue
        indices = [i for i, x in enumerate(node.input_nodes) if id(x) in wanted]
        with graph.name_scope(f"{node.name}_grad"):
            shares = input_gradients(node, total, indices)
        for index in indices:
            share = shares.get(index)
            table.shares[(id(node), index)] = share
            if share is not None:
                incoming.setdefault(id(node.input_nodes[index]), []).append(share)
    return table


def gradient_name(of: str, wrt: str) -> str:
    """The name of ∂of/∂wrt: ``dJ_dsigmoid``, in the name scope of ``wrt`` (``dense/dJ_dkernel``).

    Example:
        >>> gradient_name("J", "W_hidden"), gradient_name("loss", "dense/kernel")
        ('dJ_dW_hidden', 'dense/dloss_dkernel')
    """
    scope, _, base = wrt.rpartition("/")
    return f"{scope}/d{of}_d{base}" if scope else f"d{of}_d{base}"


def _add_n(parts: Sequence[Node]) -> Node:
    """One node summing the gradients that reach a node from its consumers."""
    expr = sum((operand(p) for p in parts), start=0)
    return elementwise_expr(expr, parts, "add_n")


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients") -> list[Node | None]:
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``, as new nodes of the same graph.

    Args:
        ys: a node or a list of nodes.
        xs: a node or a list of nodes.
        grad_ys: gradients flowing into ``ys`` (default: ones, so a non-scalar ``y`` is summed).
        name: the name scope of the gradient nodes.

    Returns:
        One node per ``x``, or ``None`` for an ``x`` that no ``y`` depends on (as TensorFlow 1 does).

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> y = ts.sigmoid(x)
        >>> (dy_dx,) = ts.gradients(y, [x])
        >>> dy_dx.expr
        gradients/sigmoid_grad*sigmoid*(1 - sigmoid)
        >>> float(ts.Session().run(dy_dx, {x: 0.0}))
        0.25
    """
    ys = _as_list(ys)
    xs = _as_list(xs)
    graph = ys[0].graph
    for node in [*ys, *xs]:
        if not isinstance(node, Node):
            raise TypeError(f"gradients() takes nodes, not {node!r}.")
        if node.graph is not graph:
            raise InvalidArgumentError(f"gradients(): node {node.name!r} belongs to another graph than {ys[0].name!r}.")
    with graph.name_scope(name):
        grad_ys = _initial_gradients(ys, grad_ys)
        table = _backprop(ys, grad_ys, xs)
        connected = set(map(id, topological_order(ys)))
        result = []
        for x in xs:
            if x in table:
                result.append(table[x])
            elif id(x) in connected and _differentiable(x):
                result.append(zeros_like(x, name=f"{x.name}_grad"))  # depends on x, but with zero derivative
            else:
                result.append(None)
    return result


def compute_gradients(loss: Node, name: str = "gradients") -> GradientTable:
    """The tutorial's backpropagation: ``{node: ∂loss/∂node}`` for every node on a path to ``loss``.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> J = ts.reduce_sum(x - ts.sigmoid(x))
        >>> table = ts.compute_gradients(J)
        >>> sorted(node.name for node in table)
        ['reduce_sum', 'sigmoid', 'subtract', 'x']
    """
    if not isinstance(loss, Node):
        raise TypeError(f"compute_gradients() takes the loss node, not {loss!r}.")
    with loss.graph.name_scope(name):
        return _backprop([loss], _initial_gradients([loss], None), None)


def hessians(ys: Any, xs: Any, name: str = "hessians") -> list[Node]:
    """Second derivatives of ``sum(ys)``: for each ``x`` of static shape ``s``, a node of shape ``s + s``.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.Variable([1.0, 2.0], name="x")
        >>> y = ts.reduce_sum(x ** 3)
        >>> (H,) = ts.hessians(y, [x])
        >>> ts.Session().run(H)
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    from .leaves import Constant

    ys = _as_list(ys)
    result = []
    for x in _as_list(xs):
        if x.shape is None or None in x.shape:
            raise InvalidArgumentError(f"hessians(): {x.name!r} needs a fully known static shape, not {x.shape}.")
        (g,) = gradients(ys, [x], name=name)
        if g is None:
            result.append(None)
            continue
        size = int(np.prod(x.shape))
        with x.graph.name_scope(name):
            # row j of the Hessian is the gradient of g_j, i.e. of g weighted by the unit vector e_j;
            # H = sum_j e_j (row j) as an outer product keeps every piece an ordinary, differentiable node
            terms = []
            for j in range(size):
                unit = np.zeros(size)
                unit[j] = 1.0
                (row,) = gradients([g], [x], grad_ys=[Constant(unit.reshape(x.shape), graph=x.graph, name="unit")])
                if row is not None:
                    terms.append(Constant(unit.reshape(size, 1), graph=x.graph, name="unit") * reshape(row, (1, size)))
            total = _add_n(terms) if len(terms) > 1 else (terms[0] if terms else zeros_like(reshape(x, (size, 1)) * np.zeros((1, size))))
            result.append(reshape(total, x.shape + x.shape))
    return result


def _initial_gradients(ys: Sequence[Node], grad_ys: Any) -> list[Node]:
    if grad_ys is None:
        return [ones_like(y, name=f"{y.name}_grad") if y.shape != () else as_node(1.0, y.graph, dtype=y.dtype, literal=False) for y in ys]
    grad_ys = _as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise InvalidArgumentError(f"gradients(): {len(grad_ys)} grad_ys for {len(ys)} ys.")
    return [ones_like(y) if g is None else as_node(g, y.graph, dtype=y.dtype, literal=False) for y, g in zip(ys, grad_ys)]


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]
