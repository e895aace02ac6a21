"""Graphs and the nodes that start them: placeholders, Variables and constants.

A graph is a list of nodes. Each node knows its ``input_nodes`` and its ``consumers`` (the tutorial's names), its
static ``shape`` (``None`` for an unknown size, or ``None`` for an unknown rank), its ``dtype``, and its SymPy
``symbol`` and ``expr``: the formula of the node in its inputs' symbols. Nodes hold no values; a ``Session`` does.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Sequence

import numpy as np
import sympy

from .errors import GraphMismatchError, InvalidArgumentError

# TensorFlow 1 spells dtypes as module attributes: ``placeholder(tf.float64, shape=(None, 2))``.
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64

def as_shape(shape: Any) -> tuple | None:
    """Normalise a user's shape (``None``, an int, a list with ``None`` / -1 for unknown sizes) to a tuple."""
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    dims = []
    for size in shape:
        if size is None or size == -1:
            dims.append(None)
        elif isinstance(size, (int, np.integer)) and size >= 0:
            dims.append(int(size))
        else:
            raise InvalidArgumentError(f"A shape holds sizes (int >= 0) or None, not {size!r} in {shape!r}.")
    return tuple(dims)


def format_shape(shape: tuple | None) -> str:
    """``(None, 2)`` as ``(?, 2)``; an unknown rank as ``<unknown>``."""
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


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
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"A name scope is a non-empty string, not {name!r}.")
        stack = self._scope_stack()
        stack.append(name.rstrip("/"))
        try:
            yield "/".join(stack) + "/"
        finally:
            stack.pop()

    def _unique_name(self, base: str) -> str:
        prefix = "/".join(self._scope_stack())
        name = f"{prefix}/{base}" if prefix else base
        if name not in self._by_name:
            return name
        i = 1
        while f"{name}_{i}" in self._by_name:
            i += 1
        return f"{name}_{i}"

    def get_node(self, name: str) -> "Node":
        """The node called ``name`` (raises ``KeyError`` naming it when there is none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The graph has no node named {name!r}.") from None

    def _add(self, node: "Node", name: str | None) -> None:
        with self._lock:
            node.name = self._unique_name(name or node.default_name)
            node.id = len(self.nodes)
            self.nodes.append(node)
            self._by_name[node.name] = node
            for kind, nodes in (
                (Placeholder, self.placeholders),
                (Variable, self.variables),
                (Constant, self.constants),
            ):
                if isinstance(node, kind):
                    nodes.append(node)
                    break
            else:
                self.operations.append(node)
            for input_node in node.input_nodes:
                input_node.consumers.append(node)

    def __repr__(self) -> str:
        return f"<symslow.Graph with {len(self.nodes)} nodes>"


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
    shape: tuple | None = None
    dtype: Any = None

    def __init__(self, input_nodes: Sequence["Node"] = (), name: str | None = None, graph: Graph | None = None):
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidArgumentError(f"A node name is a non-empty string, not {name!r}.")
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

    def get_shape(self) -> tuple | None:
        """The static shape (TensorFlow 1's spelling)."""
        return self.shape

    def __repr__(self) -> str:
        return f"<symslow.{type(self).__name__} {self.name!r} shape={format_shape(self.shape)} dtype={_dtype_name(self.dtype)}>"

    def _repr_latex_(self) -> str:
        from .symbolic import formula

        return "$" + sympy.latex(formula(self)) + "$"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict | None:
        from .viz import node_mimebundle  # notebooks show the node's diagram (None without Graphviz)

        return node_mimebundle(self)

    # the tutorial's gradient functions use NumPy on values; on nodes the same spelling builds nodes -------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .ops.base import ufunc_to_op

        op = ufunc_to_op(ufunc) if method == "__call__" and not kwargs else None
        return NotImplemented if op is None else op(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        from .ops.base import array_function_to_op

        op = array_function_to_op(func)
        return NotImplemented if op is None else op(*args, **kwargs)

    @property
    def T(self) -> "Node":
        """The transpose, as NumPy spells it."""
        from .ops.linalg import transpose

        return transpose(self)

    def dot(self, other) -> "Node":
        """Matrix product, as NumPy spells it (``a.dot(b)``)."""
        from .ops.linalg import matmul

        return matmul(self, other)

    def sum(self, axis=None, keepdims: bool = False) -> "Node":
        """Sum over axes, as NumPy spells it."""
        from .ops.reduce import reduce_sum

        return reduce_sum(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape) -> "Node":
        """Reshape, as NumPy spells it."""
        from .ops.linalg import reshape

        return reshape(self, shape[0] if len(shape) == 1 else shape)

    # operators -------------------------------------------------------------------------------------------------
    def __add__(self, other):
        from .ops.elementwise import add

        return add(self, other)

    def __radd__(self, other):
        from .ops.elementwise import add

        return add(other, self)

    def __sub__(self, other):
        from .ops.elementwise import subtract

        return subtract(self, other)

    def __rsub__(self, other):
        from .ops.elementwise import subtract

        return subtract(other, self)

    def __mul__(self, other):
        from .ops.elementwise import multiply

        return multiply(self, other)

    def __rmul__(self, other):
        from .ops.elementwise import multiply

        return multiply(other, self)

    def __truediv__(self, other):
        from .ops.elementwise import divide

        return divide(self, other)

    def __rtruediv__(self, other):
        from .ops.elementwise import divide

        return divide(other, self)

    def __pow__(self, other):
        from .ops.elementwise import pow

        return pow(self, other)

    def __rpow__(self, other):
        from .ops.elementwise import pow

        return pow(other, self)

    def __matmul__(self, other):
        from .ops.linalg import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from .ops.linalg import matmul

        return matmul(other, self)

    def __neg__(self):
        from .ops.elementwise import negative

        return negative(self)

    # nodes are keys of feed dicts and gradient tables: identity, not value, decides equality
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            f"The truth value of node {self.name!r} is unknown until a session runs it; "
            "use `is None` or compare values after Session.run."
        )


def _dtype_name(dtype) -> str:
    return "?" if dtype is None else np.dtype(dtype).name


def _graph_of(nodes: Sequence[Node]) -> Graph:
    graphs = {id(n.graph): n.graph for n in nodes}
    if len(graphs) > 1:
        names = ", ".join(repr(n.name) for n in nodes)
        raise GraphMismatchError(f"Nodes {names} belong to different graphs; an op takes inputs of one graph only.")
    return next(iter(graphs.values())) if graphs else get_default_graph()


def _check_dtype(dtype, what: str):
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise InvalidArgumentError(f"{what}: {dtype!r} is not a dtype (use symslow.float32, float64, int32 or int64).")
    if dtype.kind not in "fiub":
        raise InvalidArgumentError(f"{what}: dtype {dtype.name} is not numeric.")
    return dtype.type


def to_array(value: Any, dtype=None, what: str = "value") -> np.ndarray:
    """Convert a user's number, list or array to a NumPy array, with a clear error for anything else."""
    if isinstance(value, Node):
        raise InvalidArgumentError(f"{what} must be a number or an array, not the node {value.name!r}.")
    try:
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"{what} is not a numeric array ({error}): {_short(value)}") from None
    if array.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"{what} is not numeric (dtype {array.dtype}): {_short(value)}")
    if array.dtype.kind == "b":
        array = array.astype(np.float64 if dtype is None else dtype)
    return array


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


class Placeholder(Node):
    """A value fed to ``Session.run``; see :func:`placeholder`."""

    op_type = "Placeholder"
    default_name = "Placeholder"

    def __init__(self, dtype=None, shape=None, name: str | None = None):
        self.dtype = _check_dtype(dtype, "placeholder")
        self.shape = as_shape(shape)
        super().__init__((), name, graph=get_default_graph())


def placeholder(dtype=None, shape=None, name: str | None = None) -> Placeholder:
    """A node whose value is fed to ``Session.run`` through ``feed_dict``.

    Args:
        dtype: ``symslow.float64`` and the like; ``None`` (the tutorial's bare ``placeholder()``) takes the feed as
            floats.
        shape: the static shape, ``None`` for an unknown size (``(None, 2)``: any number of rows of 2).
        name: the node's name.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, shape=(None, 2), name="x")
        >>> x.shape
        (None, 2)
        >>> tf.Session().run(2 * x, {x: [[1, 2]]})
        array([[2., 4.]])
    """
    return Placeholder(dtype, shape, name)


class Variable(Node):
    """A value the session keeps between runs and training changes.

    A session initialises a Variable from ``initial_value`` on its first use (the tutorial never calls an
    initialiser); ``global_variables_initializer()`` resets every Variable to its initial value.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> W = ts.Variable([[1.0, 2.0]], name="W")
        >>> W.shape, W.dtype.__name__
        ((1, 2), 'float64')
        >>> ts.Session().run(W)
        array([[1., 2.]])
    """

    op_type = "Variable"
    default_name = "Variable"

    def __init__(self, initial_value: Any, name: str | None = None, trainable: bool = True, dtype=None):
        dtype = _check_dtype(dtype, "Variable")
        self.initial_value = to_array(initial_value, dtype, what="The initial value of a Variable").copy()
        self.initial_value.setflags(write=False)
        self.dtype = self.initial_value.dtype.type
        self.shape = self.initial_value.shape
        self.trainable = bool(trainable)
        super().__init__((), name, graph=get_default_graph())


class Constant(Node):
    """A value fixed when the graph is built; see :func:`constant`."""

    op_type = "Const"
    default_name = "Const"

    def __init__(self, value: Any, dtype=None, name: str | None = None, graph: Graph | None = None):
        dtype = _check_dtype(dtype, "constant")
        self.value = to_array(value, dtype, what="The value of a constant").copy()
        self.value.setflags(write=False)
        self.dtype = self.value.dtype.type
        self.shape = self.value.shape
        super().__init__((), name, graph=graph or get_default_graph())

    def scalar(self) -> sympy.Expr | None:
        """The value as a SymPy number when the constant is a scalar (formulas then show ``1 - y``, not ``Const - y``)."""
        if self.value.shape != ():
            return None
        item = self.value.item()
        if isinstance(item, bool):
            item = int(item)
        return sympy.Integer(item) if isinstance(item, int) else sympy.Float(item)


def constant(value: Any, dtype=None, name: str | None = None) -> Constant:
    """A node with a fixed value.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> c = ts.constant([1.0, 2.0], name="c")
        >>> ts.Session().run(c + 1)
        array([2., 3.])
    """
    return Constant(value, dtype, name)


def as_node(value: Any, graph: Graph | None = None) -> Node:
    """A node as it is; a number or array as a new constant of ``graph`` (the default graph if none)."""
    if isinstance(value, Node):
        return value
    return Constant(value, graph=graph)
