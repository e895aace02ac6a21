"""The tutorial's algorithm kept alive: evaluate a graph node by node.

The interpreter visits the nodes the fetches need in post-order (every node after its inputs) and calls each op's
``compute`` on its inputs' values. Gradient nodes are ordinary nodes, built by :func:`symslow.gradients` in reverse
topological order, so fetching them runs backpropagation node by node in an order that is correct.

It is slow on purpose: it is the oracle the compiled sessions are tested against, and it checks every op's shapes
on the actual values, so it also names the node behind a failure of compiled code.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InvalidArgumentError, SymslowError, describe
from .graph import Node, format_shape, needs_feed_error, topological_order
from .leaves import Constant, Placeholder, Variable
from .ops.base import Operation, call_compute
from .ops.state import assign, check_one_assignment_each


def evaluate(
    fetches: Sequence[Node], feeds: Mapping[Node, Any], variables: Mapping[Node, Any]
) -> tuple[dict[Node, Any], dict[Variable, Any]]:
    """Values of every node the fetches need, and the new values of the Variables assigned on the way.

    Nothing is stored on the nodes: the values live in the returned dictionary.
    """
    values: dict[int, Any] = {}
    updates: dict[Variable, Any] = {}
    order = topological_order(fetches)
    check_one_assignment_each(order)  # as the compiled backends do, before anything runs
    for node in order:
        if isinstance(node, Placeholder):
            if node not in feeds:
                raise needs_feed_error(node, fetches)
            values[id(node)] = feeds[node]
        elif isinstance(node, Variable):
            values[id(node)] = variables[node]
        elif isinstance(node, Constant):
            values[id(node)] = node.value
        else:
            inputs = [values[id(i)] for i in node.input_nodes]
            values[id(node)] = compute(node, inputs)
            if isinstance(node, assign):
                updates[node.ref] = values[id(node)]
    return {n: values[id(n)] for n in fetches}, updates


def compute(node: Operation, inputs: list) -> Any:
    """One step of the interpreter: check the op's shapes on the actual values, then compute."""
    shapes = [np.shape(v) if v is not None else None for v in inputs]
    node.infer_shape(*shapes)  # raises ShapeError naming the op, the node and the shapes
    try:
        return call_compute(node, inputs)
    except SymslowError:
        raise
    except Exception as error:
        listed = ", ".join(format_shape(s) for s in shapes)
        raise InvalidArgumentError(f"Op {describe(node)} failed on inputs of shapes {listed}: {error}") from error
