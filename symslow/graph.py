"""Graphs and their nodes: the default graph and session of a thread, name scopes, the topological order.

A graph is a list of nodes (the nodes that start it, placeholders, Variables and constants, are in
:mod:`symslow.leaves`; the ops in :mod:`symslow.ops`). Each node knows its ``input_nodes`` and its ``consumers`` (the tutorial's names), its
static ``shape`` (``None`` for an unknown size, or ``None`` for an unknown rank), its ``dtype``, and its SymPy
``symbol`` and ``expr``: the formula of the node in its inputs' symbols. Nodes hold no values; a ``Session`` does.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import sympy

from .errors import GraphMismatchError, InvalidArgumentError

from .default_session import default_session_for
from .names import MAX_NAME_LENGTH, _short, check_name  # noqa: F401 (ts.graph.MAX_NAME_LENGTH)
from .shapes import TensorShape, as_shape, format_shape  # noqa: F401 (imported from here by the ops)


class _ThreadState(threading.local):
    """The default graph of the current thread (each thread has its own, as the issue of threads demands)."""

    graph: "Graph | None" = None


_thread = _ThreadState()


class _DefaultGraphContext:
    """Returned by ``Graph.as_default()``: the graph is default at once; leaving a ``with`` restores the previous."""

    def __init__(self, graph: "Graph"):
        self.graph = graph
        self.previous = _thread.graph
        _thread.graph = graph

    def __enter__(self) -> "Graph":
        return self.graph

    def __exit__(self, *exc) -> None:
        _thread.graph = self.previous


class Graph:
    """A computational graph: the nodes in the order they were made.

    ``Graph().as_default()`` makes it the default graph of the current thread, either as a plain call (the tutorial's
    style) or as a context manager that restores the previous default on exit (TensorFlow 1's style).

    Example:
        >>> import symslow as ts
        >>> g = ts.Graph()
        >>> with g.as_default():
        ...     x = ts.placeholder(name="x")
        ...     y = ts.sigmoid(x)
        >>> [node.name for node in g.nodes]
        ['x', 'sigmoid']
        >>> y.graph is g
        True
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.operations: list[Node] = []
        self.placeholders: list[Node] = []
        self.variables: list[Node] = []
        self.constants: list[Node] = []
        self._by_name: dict[str, Node] = {}
        self._suffixes: dict[str, int] = {}  # per name, the suffix to try first: the ones below it are taken
        self._scopes = threading.local()  # name-scope stack, per thread
        self._lock = threading.RLock()  # node creation and the compile cache
        self.compile_cache: dict = {}

    def as_default(self) -> _DefaultGraphContext:
        """Make this the default graph of the current thread (now, and for the ``with`` block if used as one)."""
        return _DefaultGraphContext(self)

    # names -------------------------------------------------------------------------------------------------------
    def _scope_stack(self) -> list[str]:
        if not hasattr(self._scopes, "stack"):
            self._scopes.stack = []
        return self._scopes.stack

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[str]:
        """Prefix the names of the nodes made inside with ``name/`` (scopes nest)."""
        check_name(name, "A name scope")
        stack = self._scope_stack()
        stack.append(name.rstrip("/"))
        try:
            yield "/".join(stack) + "/"
        finally:
            stack.pop()

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: Mapping[str, str]) -> Iterator[None]:
        """Ops made inside take their gradient from the function registered under another name, as in TensorFlow 1.

        The keys are op types, in symslow's spelling (``"square"``) or TensorFlow's (``"Square"``, ``"MatMul"``);
        the values are names given to :class:`~symslow.RegisterGradient`.

        Example:
            >>> import symslow as tf
            >>> @tf.RegisterGradient("ClippedSquare")
            ... def _clipped(op, grad):
            ...     return [tf.clip_by_value(2.0 * op.inputs[0] * grad, -1.0, 1.0)]
            >>> g = tf.Graph()
            >>> with g.as_default():
            ...     x = tf.placeholder(tf.float64, name="x")
            ...     with g.gradient_override_map({"Square": "ClippedSquare"}):
            ...         y = tf.square(x)
            ...     (dx,) = tf.gradients(y, [x])
            >>> tf.Session(graph=g).run(dx, {x: [0.25, 3.0]})
            array([0.5, 1. ])
            >>> tf.unregister_gradient("ClippedSquare")
        """
        for key, value in dict(op_type_map).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"gradient_override_map() maps op type names to registered names, not {key!r}: "
                                f"{value!r}.")
        stack = self._override_stack()
        stack.append({_op_type_key(k): v for k, v in op_type_map.items()})
        try:
            yield
        finally:
            stack.pop()

    def _override_stack(self) -> list[dict[str, str]]:
        if not hasattr(self._scopes, "overrides"):
            self._scopes.overrides = []
        return self._scopes.overrides

    def _unique_name(self, base: str) -> str:
        prefix = "/".join(self._scope_stack())
        name = f"{prefix}/{base}" if prefix else base
        if name not in self._by_name:
            return name
        i = self._suffixes.get(name, 1)
        while f"{name}_{i}" in self._by_name:
            i += 1
        self._suffixes[name] = i  # names are never taken back: building a graph of n nodes stays linear in n
        return f"{name}_{i}"

    def get_node(self, name: str) -> "Node":
        """The node called ``name`` (raises ``KeyError`` naming it when there is none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The graph has no node named {name!r}.") from None

    def _add(self, node: "Node", name: str | None) -> None:
        with self._lock:
            node.name = check_name(self._unique_name(name or node.default_name))  # scopes can make it too long
            node.id = len(self.nodes)
            self.nodes.append(node)
            self._by_name[node.name] = node
            getattr(self, node.collection).append(node)  # placeholders, variables, constants or operations
            for input_node in node.input_nodes:
                input_node.consumers.append(node)
            for overrides in reversed(self._override_stack()):  # the innermost map that names the op type
                if _op_type_key(node.op_type) in overrides:
                    node.gradient_override = overrides[_op_type_key(node.op_type)]
                    break

    def _discard_since(self, count: int) -> None:
        """Take back the nodes made after the first ``count`` (an attempt that failed half-way built them)."""
        with self._lock:
            dropped = self.nodes[count:]
            gone = set(map(id, dropped))
            del self.nodes[count:]
            for nodes in (self.operations, self.placeholders, self.variables, self.constants):
                nodes[:] = [n for n in nodes if id(n) not in gone]
            for node in dropped:
                self._by_name.pop(node.name, None)
                for input_node in node.input_nodes:
                    input_node.consumers[:] = [c for c in input_node.consumers if id(c) not in gone]

    def _rename(self, node: "Node", name: str) -> None:
        """Give a node no one consumes yet a better name (and the symbol that goes with it)."""
        with self._lock:
            if node.consumers:
                raise ValueError(f"Node {node.name!r} has consumers: their formulas name it {node.name!r}.")
            new = check_name(self._unique_name(name))
            del self._by_name[node.name]
            node.name = new
            node.symbol = sympy.Symbol(new, real=True)
            self._by_name[new] = node

    def __repr__(self) -> str:
        return f"<symslow.Graph with {len(self.nodes)} nodes>"


def _op_type_key(op_type: str) -> str:
    """An op type as gradient_override_map compares it: TensorFlow's ``MatMul`` is symslow's ``matmul``."""
    return op_type.replace("_", "").lower()


def get_default_graph() -> Graph:
    """The current thread's default graph (made on first use)."""
    if _thread.graph is None:
        _thread.graph = Graph()
    return _thread.graph


def reset_default_graph() -> Graph:
    """Give the current thread a new, empty default graph and return it."""
    _thread.graph = Graph()
    return _thread.graph


def name_scope(name: str):
    """``with name_scope("layer1"):`` prefixes the names of nodes made inside with ``layer1/``.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> with ts.name_scope("layer1"):
        ...     W = ts.Variable([[1.0]], name="W")
        >>> W.name
        'layer1/W'
    """
    return get_default_graph().name_scope(name)


class Node:
    """A node of a graph: a symbol with a formula.

    Attributes:
        name: unique in its graph (``add``, ``add_1``, ``layer1/W``).
        input_nodes: the nodes this one is computed from, in argument order.
        consumers: the nodes that take this one as input.
        shape: the static shape, a tuple with ``None`` for unknown sizes, or ``None`` for an unknown rank.
        dtype: a NumPy dtype, or ``None`` when unknown.
        symbol: the SymPy symbol that stands for this node in its consumers' formulas.
        expr: the node's formula in its inputs' symbols (a source node's formula is its own symbol).
    """

    op_type = "Node"
    default_name = "Node"
    collection = "operations"  # the graph's list of nodes of this kind (a leaf's class names its own)
    _shape: TensorShape | None = None
    dtype: Any = None

    @property
    def shape(self) -> TensorShape | None:
        """The static shape: a :class:`TensorShape` (a tuple, ``None`` for unknown sizes), or ``None`` for an unknown
        rank."""
        return self._shape

    @shape.setter
    def shape(self, shape) -> None:
        self._shape = None if shape is None else TensorShape(shape)

    def __init__(self, input_nodes: Sequence["Node"] = (), name: str | None = None, graph: Graph | None = None):
        if name is not None:
            check_name(name)
        self.graph = graph or _graph_of(input_nodes)
        self.input_nodes = list(input_nodes)
        self.consumers: list[Node] = []
        self.graph._add(self, name)
        self.symbol = sympy.Symbol(self.name, real=True)

    @property
    def expr(self) -> sympy.Expr:
        """The node's formula in its inputs' symbols."""
        return self.symbol

    @property
    def output(self) -> "Node":
        """The node's value, as the tutorial spells it in gradient functions (``op.output``, ``op.inputs[0].output``).

        symslow stores no values on nodes: a gradient function builds graph nodes, so the value of a node *is* the
        node, and ``op.output * (1 - op.output)`` builds the formula of a sigmoid's derivative.
        """
        return self

    @property
    def inputs(self) -> list["Node"]:
        """TensorFlow 1's name for ``input_nodes``."""
        return self.input_nodes

    @property
    def op(self) -> "Node":
        """TensorFlow 1 separates a tensor from its op; here they are one node (``y.op is y``)."""
        return self

    def get_shape(self) -> TensorShape | None:
        """The static shape (TensorFlow 1's spelling)."""
        return self.shape

    def eval(self, feed_dict: dict | None = None, session=None) -> Any:
        """The node's value in ``session`` (the default session if None), as ``session.run(node, feed_dict)``.

        Example:
            >>> import symslow as tf
            >>> _ = tf.Graph().as_default()
            >>> x = tf.placeholder(tf.float32, name="x")
            >>> with tf.Session():
            ...     print((2 * x).eval(feed_dict={x: 1.5}))
            3.0
        """
        return default_session_for(self, "eval", session).run(self, feed_dict)

    def run(self, feed_dict: dict | None = None, session=None) -> None:
        """Run the node for its effects (a training op, an initializer) in ``session`` or the default session."""
        default_session_for(self, "run", session).run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<symslow.{type(self).__name__} {self.name!r} shape={format_shape(self.shape)} dtype={_dtype_name(self.dtype)}>"

    # In a notebook a node shows as its formula and its diagram: symslow.symbolic and symslow.viz install
    # _repr_latex_ and _repr_mimebundle_, since this module knows neither

    # Python's operators (``x + y``, ``x[:, 0]``, ``x < 0``) and NumPy's spellings (``x.T``, ``np.exp(x)``) build
    # ops: symslow.ops.operators installs them on Node, since this module knows no op

    # nodes are keys of feed dicts and gradient tables: identity, not value, decides equality
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            f"The truth value of node {self.name!r} is unknown until a session runs it; "
            "use `is None` or compare values after Session.run."
        )


def cycle_error(path: Sequence[Node], again: Node) -> InvalidArgumentError:
    """The error for a graph with a cycle: ``path`` runs from an output down its inputs to ``again``, met twice.

    Ops only take nodes that exist, so only changing a node's ``input_nodes`` by hand can make a cycle.
    """
    loop = list(path[[id(n) for n in path].index(id(again)):]) + [again]
    shown = " -> ".join(_short(n.name) for n in loop[:12]) + (" -> ..." if len(loop) > 12 else "")
    return InvalidArgumentError(
        f"The graph has a cycle: {shown} (each node is an input of the one before). A node's input_nodes must "
        "only name nodes made before it; was input_nodes changed by hand?"
    )


def topological_order(outputs: Iterable[Node]) -> list[Node]:
    """Every node the outputs depend on, each after its inputs (depth-first post-order, deterministic)."""
    order: list[Node] = []
    visited: set[int] = set()
    open_: set[int] = set()  # the nodes on the stack: meeting one again is a cycle (input_nodes changed by hand)
    for output in outputs:
        if id(output) in visited:
            continue
        stack = [(output, iter(output.input_nodes))]
        visited.add(id(output))
        open_.add(id(output))
        while stack:
            node, inputs = stack[-1]
            for child in inputs:
                if id(child) not in visited:
                    visited.add(id(child))
                    open_.add(id(child))
                    stack.append((child, iter(child.input_nodes)))
                    break
                if id(child) in open_:
                    raise cycle_error([n for n, _ in stack], child)
            else:
                stack.pop()
                open_.discard(id(node))
                order.append(node)
    return order


def _dtype_name(dtype) -> str:
    return "?" if dtype is None else np.dtype(dtype).name


def _graph_of(nodes: Sequence[Node]) -> Graph:
    graphs = {id(n.graph): n.graph for n in nodes}
    if len(graphs) > 1:
        names = ", ".join(repr(n.name) for n in nodes)
        raise GraphMismatchError(f"Nodes {names} belong to different graphs; an op takes inputs of one graph only.")
    return next(iter(graphs.values())) if graphs else get_default_graph()


def needs_feed_error(placeholder: Node, fetches: Sequence[Node]) -> InvalidArgumentError:
    """The error of a run that needs ``placeholder`` but was not fed it, naming a fetch that needs it."""
    needing = [f.name for f in fetches if any(n is placeholder for n in topological_order([f]))]
    return InvalidArgumentError(
        f"You must feed a value for placeholder {placeholder.name!r} (shape {format_shape(placeholder.shape)}): "
        f"fetch {needing[0]!r} needs it. Pass it in feed_dict={{{placeholder.name}: ...}}."
    )
