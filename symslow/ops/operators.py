"""Python's operators and NumPy's spellings on nodes: ``a + b``, ``x[:, 0]``, ``x.T``, ``np.exp(x)`` build ops.

``graph.py`` defines nodes without knowing any op; the ops package installs these tables on ``Node`` (and
``Variable``) when it is imported, as TensorFlow 1 overrides its ``Tensor``'s operators from its op modules. So the
graph module stays below every op, and each spelling is written once, here.

Example:
    >>> import numpy as np, symslow as ts
    >>> _ = ts.Graph().as_default()
    >>> x = ts.placeholder(name="x")
    >>> type(2 * x - 1).__name__, type(x.T).__name__, type(np.exp(x)).__name__, type(x > 0).__name__
    ('subtract', 'transpose', 'exp', 'greater')
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..graph import Node
from ..leaves import Constant, Variable
from .compare import greater, greater_equal, less, less_equal, logical_and, logical_not, logical_or
from .elementwise import add, divide, exp, log, maximum, multiply, negative, pow, sqrt, square, subtract, tanh
from .elementwise_math import absolute
from .indexing import getitem
from .linalg import matmul
from .movement import reshape, transpose
from .reduce import reduce_sum
from .reductions import reduce_mean
from .state import assign, assign_add, assign_sub

# Python's operators: ``x + y`` is ``add(x, y)``; the reflected forms (``2 * x`` calls ``x.__rmul__(2)``) swap
# the operands. Comparisons build bool nodes, as in TensorFlow 1; == and != keep meaning identity (nodes are dict keys).
OPERATORS = {
    "__add__": add, "__sub__": subtract, "__mul__": multiply,
    "__truediv__": divide, "__pow__": pow, "__matmul__": matmul,
    "__neg__": negative, "__abs__": absolute,
    "__lt__": less, "__le__": less_equal, "__gt__": greater, "__ge__": greater_equal,
    "__and__": logical_and, "__or__": logical_or, "__invert__": logical_not,
}
REFLECTED = {
    "__radd__": add, "__rsub__": subtract, "__rmul__": multiply,
    "__rtruediv__": divide, "__rpow__": pow, "__rmatmul__": matmul,
}

# NumPy functions applied to nodes build nodes: the tutorial's gradient functions are NumPy code
UFUNCS = {
    np.add: add, np.subtract: subtract, np.multiply: multiply,
    np.true_divide: divide, np.negative: negative, np.log: log,
    np.exp: exp, np.tanh: tanh, np.sqrt: sqrt, np.square: square,
    np.power: pow, np.maximum: maximum, np.matmul: matmul,
}
ARRAY_FUNCTIONS: dict[Callable, Callable] = {
    np.sum: lambda x, axis=None, keepdims=False, **_: reduce_sum(x, axis=axis, keepdims=keepdims),
    np.mean: lambda x, axis=None, keepdims=False, **_: reduce_mean(x, axis=axis, keepdims=keepdims),
    np.dot: matmul, np.matmul: matmul,
    np.reshape: lambda x, shape, **_: reshape(x, shape),
    np.transpose: lambda x, axes=None: transpose(x, axes),
}


def node_array_ufunc(self: Node, ufunc, method, *inputs, **kwargs):
    op = UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
    return NotImplemented if op is None else op(*inputs)


def node_array_function(self: Node, func, types, args, kwargs):
    op = ARRAY_FUNCTIONS.get(func)
    return NotImplemented if op is None else op(*args, **kwargs)


def node_transpose(self: Node) -> Node:
    """The transpose, as NumPy spells it."""
    return transpose(self)


def node_dot(self: Node, other: Any) -> Node:
    """Matrix product, as NumPy spells it (``a.dot(b)``)."""
    return matmul(self, other)


def node_sum(self: Node, axis=None, keepdims: bool = False) -> Node:
    """Sum over axes, as NumPy spells it."""
    return reduce_sum(self, axis=axis, keepdims=keepdims)


def node_reshape(self: Node, *shape) -> Node:
    """Reshape, as NumPy spells it."""
    return reshape(self, shape[0] if len(shape) == 1 else shape)


def node_getitem(self: Node, key) -> Node:
    """``x[:, 0]``, ``x[1:3]``, ``x[..., None]``: slicing as NumPy and TensorFlow spell it."""
    return getitem(self, key)


NODE_METHODS = {
    "__array_ufunc__": node_array_ufunc, "__array_function__": node_array_function, "T": property(node_transpose),
    "dot": node_dot, "sum": node_sum, "reshape": node_reshape, "__getitem__": node_getitem,
}


# A Variable's own spellings of the state ops ------------------------------------------------------------------------
def variable_initializer(self: Variable) -> Node:
    """The op that sets the Variable to its initial value (running it again draws a random initial value anew)."""
    if self._initializer is None:
        value = self.initial_node
        if value is None:
            value = Constant(self.initial_value, graph=self.graph, name=f"{self.name}/initial_value")
        self._initializer = assign(self, value, name=f"{self.name}/Assign")
    return self._initializer


def variable_assign(self: Variable, value: Any, use_locking: bool = False, name: str | None = None,
                    read_value: bool = True) -> Node:
    """``tf.assign(self, value)``: an op setting the Variable to ``value``; running it gives the new value.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> v = tf.Variable(1.0, name="v")
        >>> sess = tf.Session()
        >>> sess.run(v.assign(4.0)), sess.run(v.assign_add(2.0)), sess.run(v.assign_sub(0.5))
        (np.float32(4.0), np.float32(6.0), np.float32(5.5))
    """
    return assign(self, value, name=name)


def variable_assign_add(self: Variable, delta: Any, use_locking: bool = False, name: str | None = None,
                        read_value: bool = True) -> Node:
    """``tf.assign_add(self, delta)``."""
    return assign_add(self, delta, name=name)


def variable_assign_sub(self: Variable, delta: Any, use_locking: bool = False, name: str | None = None,
                        read_value: bool = True) -> Node:
    """``tf.assign_sub(self, delta)``."""
    return assign_sub(self, delta, name=name)


VARIABLE_METHODS = {"initializer": property(variable_initializer), "assign": variable_assign,
                    "assign_add": variable_assign_add, "assign_sub": variable_assign_sub}


def install() -> None:
    """Put the tables on ``Node`` and ``Variable`` (the ops package does, once, when it is imported)."""
    for name, op in OPERATORS.items():
        setattr(Node, name, _operator(op))
    for name, op in REFLECTED.items():
        setattr(Node, name, _reflected(op))
    for name, method in NODE_METHODS.items():
        setattr(Node, name, method)
    for name, method in VARIABLE_METHODS.items():
        setattr(Variable, name, method)


def _operator(op: Callable) -> Callable:
    return lambda self, *other: op(self, *other)  # -x is negative(x), x < y is less(x, y)


def _reflected(op: Callable) -> Callable:
    return lambda self, other: op(other, self)
