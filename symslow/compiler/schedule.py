"""The schedule of a program: the shape of every node that the fed shapes decide, the formula printed for each node
once they are known, the inputs each node's code reads, and which nodes the results need and how often each is read.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sympy

from ..graph import Node
from ..leaves import Placeholder
from ..ops.base import Operation, constants_as_symbols, operand
from ..ops.elementwise_op import ElementwiseExpr, ElementwiseOp
from ..ops.linalg import matmul
from ..ops.reduce import broadcast_like, fill_like
from ..ops.state import group
from ..printing import ArrayTranspose, MatmulT

# A placeholder fed more than this many shapes (in runs of one combination of fetches) gets programs specialised to
# the first ones only; any other shape runs the program compiled for its static shape, which takes every size.
MAX_SPECIALIZED_SHAPES = 8


def specialized_shapes(graph: Any, fetches: Sequence[Node],
                       fed: Mapping[Placeholder, tuple]) -> dict[Placeholder, tuple]:
    """The fed shapes to specialise the program for these fetches to (see :data:`MAX_SPECIALIZED_SHAPES`).

    A workload cycling through many batch sizes compiles a few programs and then none: the shapes seen first keep
    their programs, every later one shares the program of unknown size.

    Example:
        >>> import numpy as np, symslow as ts
        >>> graph = ts.Graph()
        >>> with graph.as_default():
        ...     x = ts.placeholder(ts.float64, shape=(None,))
        ...     y = 2 * x
        ...     session = ts.Session()
        ...     for n in range(1, 21):
        ...         _ = session.run(y, {x: np.ones(n)})
        >>> len(graph.compile_cache)  # one program per size up to 8, then one for every size
        9
    """
    with _history_lock:
        history = _histories.setdefault(graph, {})
        if len(history) > 1024:  # many combinations of fetches: start counting again
            history.clear()
        # by the nodes' ids, which hold no reference to the graph (the graph's nodes keep them while it lives)
        seen = history.setdefault(tuple(id(n) for n in fetches), {})
        shapes = {}
        for placeholder, shape in fed.items():
            known = seen.setdefault(id(placeholder), set())
            if shape not in known and len(known) < MAX_SPECIALIZED_SHAPES:
                known.add(shape)
            if shape in known:
                shapes[placeholder] = shape
    return shapes


_histories: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # graph -> fetches -> placeholder -> shapes
_history_lock = threading.Lock()


@dataclass
class Schedule:
    """What the results need: the formula of each node printed, the inputs it reads, the nodes computed and the
    number of their readers."""

    formulas: dict  # node id -> (the formula printed for it, its inputs' symbols)
    reads: dict  # node id -> the inputs whose values its code reads
    live: set  # ids of the nodes the results need
    uses: Counter  # node id -> how many live nodes read it
    opaque_consumer: set  # ids of the nodes read by an op the compiler calls back (compute() only)
    draws: set  # ids of the random ops drawn before the step (see Backend.hoists_draws): they read no value


def schedule(order: Sequence[Node], results: Sequence[Node], known: dict, hoists_draws: bool = False) -> Schedule:
    """The schedule of the nodes ``order`` (each after its inputs) for ``results``: an input that only lends its
    shape, once shapes are known, is not computed for its reader. With ``hoists_draws``, a random op that reads only
    its inputs' shapes, all known, is drawn before the step and reads nothing in it.

    Example:
        >>> import symslow as ts
        >>> from symslow.graph import topological_order
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(ts.float64, shape=(2,))
        >>> y = ts.zeros_like(ts.exp(x))  # only the shape of exp(x) is read
        >>> plan = schedule(topological_order([y]), [y], known_shapes(topological_order([y]), {}))
        >>> [n.op_type for n in topological_order([y]) if id(n) in plan.live]
        ['fill_like']
    """
    formulas: dict[int, tuple] = {}
    draws = {id(n) for n in order if hoists_draws and _drawn_before(n, known)}
    reads = {id(node): [] if id(node) in draws else _reads(node, known, formulas) for node in order}
    live = {id(n) for n in results}
    for node in reversed(order):
        if id(node) in live:
            live.update(id(i) for i in reads[id(node)])
    uses: Counter = Counter()
    opaque_consumer: set[int] = set()
    for node in order:
        if id(node) in live:
            for input_node in reads[id(node)]:
                uses[id(input_node)] += 1
                if not _printable(node):
                    opaque_consumer.add(id(input_node))
    return Schedule(formulas, reads, live, uses, opaque_consumer, draws)


def _drawn_before(node: Node, known: dict) -> bool:
    """A random op that reads only its inputs' shapes (``shape_only``), of known shape, from inputs of known shapes."""
    return (getattr(node, "shape_only", False) and id(node) in known
            and all(id(i) in known for i in node.input_nodes))


def known_shapes(order: Sequence[Node], fed_shapes: Mapping[Placeholder, tuple]) -> dict[int, tuple]:
    """The full shape of every node whose shape the static shapes and the fed shapes decide.

    Example:
        >>> import symslow as ts
        >>> from symslow.graph import topological_order
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(ts.float64, shape=(None, 3))
        >>> y = ts.reduce_sum(x, axis=1)
        >>> known = known_shapes(topological_order([y]), {x: (5, 3)})
        >>> known[id(y)]
        (5,)
    """
    known: dict[int, tuple] = {}
    for node in order:
        shape = node.shape
        if shape is None or None in shape:
            shape = None
            if isinstance(node, Placeholder):
                shape = fed_shapes.get(node)
            elif isinstance(node, Operation) and not isinstance(node, group) and all(
                id(i) in known for i in node.input_nodes
            ):
                try:  # the op's own shape rule (a pure function of the shapes) on the fed shapes
                    shape = node.infer_shape(*[known[id(i)] for i in node.input_nodes])
                except Exception:  # the run itself will report the mismatch, naming the node
                    shape = None
        if shape is not None and None not in shape:
            known[id(node)] = tuple(int(d) for d in shape)
    return known


def _broadcast(shapes: list) -> tuple | None:
    """NumPy's broadcast of known shapes; None when one is unknown."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    return tuple(max((p[k] for p in padded), default=1) for k in range(rank))


def _specialized(node: Operation, known: dict) -> sympy.Expr:
    """The node's formula, with what the known shapes of its inputs decide decided (see
    :meth:`~symslow.ops.base.Operation.formula_for_shapes`)."""
    shapes = [known.get(id(i)) for i in node.input_nodes]
    if None in shapes or id(node) not in known:
        return node.formula(*[operand(i) for i in node.input_nodes])
    return node.formula_for_shapes(*shapes)


def _fold_transposes(expr: sympy.Basic) -> sympy.Basic:
    """``a @ b.T`` and ``a.T @ b`` in a structural formula as :class:`MatmulT`."""
    if expr.is_Atom or not expr.args:
        return expr
    args = [_fold_transposes(a) for a in expr.args]
    if getattr(expr, "op", None) is matmul and len(args) == 2:
        ta, tb = (isinstance(a, ArrayTranspose) for a in args)
        if ta != tb:  # one transposed operand (both: leave it as it is)
            a, b = (x.args[0] if isinstance(x, ArrayTranspose) else x for x in args)
            return MatmulT(a, b, sympy.Integer(ta), sympy.Integer(tb))
    return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


def _reads(node: Node, known: dict, formulas: dict) -> list[Node]:
    """The inputs whose values ``node``'s code reads; records the formula the compiler prints for it."""
    inputs = node.input_nodes
    if not isinstance(node, Operation) or not _printable(node):
        return list(inputs)
    if id(node) in known and isinstance(node, fill_like):
        return []
    if id(node) in known and isinstance(node, broadcast_like) and id(inputs[0]) in known:
        return [inputs[0]]
    if isinstance(node, (ElementwiseOp, ElementwiseExpr)):
        expr, symbols = formulas[id(node)] = node.exact_formula()
        if id(node) not in known:
            return list(inputs)  # the shape may come from any input at run time
    else:
        with constants_as_symbols():  # scalar constants are printed by the compiler, in their dtypes
            expr = _fold_transposes(_specialized(node, known))
            symbols = [operand(i) for i in inputs]
        formulas[id(node)] = (expr, symbols)
    free = expr.free_symbols
    return [i for i, s in zip(inputs, symbols) if s in free]


def _printable(node: Node) -> bool:
    return isinstance(node, Operation) and node.has_formula and not isinstance(node, group)
