"""The leaves of a graph, the nodes computed from no other: placeholders (fed), Variables (trained) and constants.

A :class:`Variable` holds no value either: the session keeps it, from the Variable's initial value on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from .dtypes import as_numpy_type, literal_array
from .errors import InvalidArgumentError
from .graph import Graph, Node, get_default_graph
from .names import _short
from .shapes import as_shape, format_shape


def _check_dtype(dtype, what: str, kinds: str = "fiub"):
    """The NumPy type of a dtype given as TensorFlow or NumPy spell it (``tf.float32``, ``"float"``, ``np.int64``)."""
    if dtype is None:
        return None
    try:
        numpy_type = as_numpy_type(dtype)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"{what}: {error}") from None
    if np.dtype(numpy_type).kind not in kinds:
        raise InvalidArgumentError(f"{what}: dtype {np.dtype(numpy_type).name} is not numeric.")
    return numpy_type


def to_array(value: Any, dtype=None, what: str = "value", literal: bool = False, kinds: str = "fiub") -> np.ndarray:
    """Convert a user's number, list or array to a NumPy array, with a clear error for anything else.

    ``literal``: a value written in Python gets TensorFlow 1's dtype (a float float32, an int int32; see
    :func:`symslow.dtypes.literal_array`); otherwise NumPy's (float64, int64), and booleans become float64.
    """
    if isinstance(value, Node):
        raise InvalidArgumentError(f"{what} must be a number or an array, not the node {value.name!r}.")
    try:
        array = np.asarray(literal_array(value) if literal and dtype is None else value, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"{what} is not a numeric array ({error}): {_short(value)}") from None
    if array.dtype.kind not in kinds:
        raise InvalidArgumentError(f"{what} is not numeric (dtype {array.dtype}): {_short(value)}")
    if array.dtype.kind == "b" and not literal:
        array = array.astype(np.float64 if dtype is None else dtype)
    return array


class Placeholder(Node):
    """A value fed to ``Session.run``; see :func:`placeholder`."""

    op_type = "Placeholder"
    collection = "placeholders"
    default_name = "Placeholder"

    def __init__(self, dtype=None, shape=None, name: str | None = None):
        self.dtype = _check_dtype(dtype, "placeholder")
        self.shape = as_shape(shape)
        super().__init__((), name, graph=get_default_graph())


def placeholder(dtype=None, shape=None, name: str | None = None) -> Placeholder:
    """A node whose value is fed to ``Session.run`` through ``feed_dict``.

    Args:
        dtype: ``tf.float32``, ``"float"`` (float32, as in TensorFlow), ``tf.int32`` and the like; ``None`` (the
            tutorial's bare ``placeholder()``) takes the feed as floats: a floating array keeps its dtype, anything
            else becomes float64.
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

    The initial value is a number or an array (with TensorFlow 1's dtypes for Python literals: ``Variable(0.5)`` is
    float32, a NumPy array keeps its dtype), or any node of the graph, such as ``tf.random_normal([784, 256])``,
    which the session runs to initialise the Variable. A session initialises a Variable on its first use (the
    tutorial never calls an initialiser); ``global_variables_initializer()`` and :attr:`initializer` (re)initialise.

    Example:
        >>> import numpy as np, symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> W = ts.Variable(np.array([[1.0, 2.0]]), name="W")
        >>> W.shape, W.dtype.__name__
        ((1, 2), 'float64')
        >>> ts.Session().run(W)
        array([[1., 2.]])
        >>> ts.Variable(0.5).dtype == ts.float32, ts.Variable(ts.zeros([2, 3])).shape
        (True, (2, 3))
    """

    op_type = "Variable"
    collection = "variables"
    default_name = "Variable"

    def __init__(self, initial_value: Any, name: str | None = None, trainable: bool = True, dtype=None,
                 validate_shape: bool = True, **unused: Any):
        dtype = _check_dtype(dtype, "Variable")
        if isinstance(initial_value, Node):  # an op run by the session to initialise the Variable
            if initial_value.shape is None or None in initial_value.shape:
                raise InvalidArgumentError(
                    f"The initial value of a Variable must have a fully known shape; node {initial_value.name!r} "
                    f"has shape {format_shape(initial_value.shape)}."
                )
            self.initial_node = initial_value
            self.initial_value = initial_value
            self.dtype = dtype or initial_value.dtype
            self.shape = initial_value.shape
        else:
            self.initial_node = None
            self.initial_value = to_array(initial_value, dtype, what="The initial value of a Variable",
                                          literal=True, kinds="fiu").copy()
            self.initial_value.setflags(write=False)
            self.dtype = self.initial_value.dtype.type
            self.shape = self.initial_value.shape
        self.trainable = bool(trainable)
        self._initializer = None
        super().__init__((), name, graph=get_default_graph())

    def initialized_value(self) -> "Node":
        """The Variable's initial value as a node, for initialising another Variable from this one."""
        return self.initializer

    def value(self) -> "Node":
        """The Variable itself, read in a run (TensorFlow 1's ``Variable.value()``)."""
        return self

    # initializer, assign, assign_add and assign_sub are state ops: symslow.ops.operators installs them


class Constant(Node):
    """A value fixed when the graph is built; see :func:`constant`."""

    op_type = "Const"
    collection = "constants"
    default_name = "Const"

    def __init__(self, value: Any, dtype=None, name: str | None = None, graph: Graph | None = None,
                 literal: bool = False):
        dtype = _check_dtype(dtype, "constant", kinds="fiubS")
        self.value = to_array(value, dtype, what="The value of a constant", literal=literal, kinds="fiubS").copy()
        self.value.setflags(write=False)
        self.dtype = self.value.dtype.type
        self.shape = self.value.shape
        super().__init__((), name, graph=graph or get_default_graph())

    def scalar(self) -> sympy.Expr | None:
        """The value as a SymPy number when the constant is a scalar (formulas then show ``1 - y``, not ``Const - y``)."""
        if self.value.shape != () or self.value.dtype.kind == "S":
            return None
        item = self.value.item()
        if isinstance(item, bool):
            item = int(item)
        elif self.value.dtype.itemsize < 8 and isinstance(item, float):
            item = float(str(self.value))  # the shortest decimal of a float32 (0.1, not 0.100000001490116)
        return sympy.Integer(item) if isinstance(item, int) else sympy.Float(item)


def constant(value: Any, dtype=None, shape=None, name: str | None = None, verify_shape: bool = False) -> Constant:
    """A node with a fixed value: a number, a list, a NumPy array or a string.

    Python literals get TensorFlow 1's dtypes (a float float32, an int int32, a string bytes); ``shape`` fills a
    shape with a scalar, or reshapes a value of as many elements.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> c = tf.constant([1.0, 2.0], name="c")
        >>> tf.Session().run(c + 1)
        array([2., 3.], dtype=float32)
        >>> tf.Session().run(tf.constant("Hello"))
        b'Hello'
        >>> tf.Session().run(tf.constant(7, shape=[2, 2]))
        array([[7, 7],
               [7, 7]], dtype=int32)
    """
    if shape is not None:
        array = to_array(value, _check_dtype(dtype, "constant", kinds="fiubS"), what="The value of a constant",
                         literal=True, kinds="fiubS")
        shape = as_shape(shape)
        if array.size == 1:
            value = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == int(np.prod(shape)) and not verify_shape:
            value = array.reshape(shape)
        else:
            raise InvalidArgumentError(
                f"constant: a value of shape {format_shape(array.shape)} cannot fill shape {format_shape(shape)}."
            )
    return Constant(value, dtype, name, literal=True)


def as_node(value: Any, graph: Graph | None = None, dtype=None, literal: bool = True) -> Node:
    """A node as it is; a number or array as a new constant of ``graph`` (the default graph if none).

    A value written in Python takes ``dtype`` where given (the dtype of the node it meets in an op: ``2 * x``),
    else TensorFlow 1's dtype for literals if ``literal``, else NumPy's; a NumPy array keeps its own.
    """
    if isinstance(value, Node):
        return value
    if dtype is not None and not isinstance(value, (np.ndarray, np.generic)):
        if literal_array(value).dtype.kind in "iub" or np.dtype(dtype).kind == "f":
            return Constant(np.asarray(value), dtype=dtype, graph=graph)
    return Constant(value, graph=graph, literal=literal)
