"""Comparisons, logical ops, ``where``, ``cast`` and ``argmax``: the ops of an accuracy, none of them smooth.

``tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))`` is built from them. Each is one
NumPy function, so each is a structural op printed as that call for every backend (``numpy.equal``, ``cupy.equal``,
``jax.numpy.equal``) rather than a SymPy relational, which SymPy would evaluate where it can prove a result. They
have no gradient (``None``, as in TensorFlow), except ``where`` (to its two branches) and ``cast`` between floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Node, format_shape, get_default_graph
from ..leaves import as_node
from .base import Operation, broadcast_shapes, result_dtype
from .reduce import Reduction, sum_to

_TF_NAMES = {"float": np.float32, "double": np.float64, "half": np.float16, "int": np.int32, "long": np.int64,
             "bool": np.bool_}


def as_numpy_dtype(dtype: Any, op: str) -> np.dtype:
    """The NumPy dtype of ``tf.float32``, ``numpy.float32``, ``"float"`` (float32, as TensorFlow reads it) and the like.

    Only numeric and boolean dtypes: anything else is an error naming ``op``.
    """
    value = getattr(dtype, "as_numpy_dtype", dtype)
    value = _TF_NAMES.get(value, value) if isinstance(value, str) else value
    value = {float: np.float32, int: np.int32, bool: np.bool_}.get(value, value)
    try:
        result = np.dtype(value)
    except TypeError:
        result = None
    if result is None or result.kind not in "biuf":
        raise InvalidArgumentError(
            f"{op}: {dtype!r} is not a numeric or boolean dtype (use tf.float32, tf.int32, ...)."
        )
    return result


class _Elementwise(Operation):
    """An elementwise op that is one NumPy function of its inputs (``numpy_function``), broadcasting as NumPy does."""

    numpy_function = ""
    latex_form = ""  # how its arguments typeset: "{0} = {1}"
    arity = 2
    same_dtype_inputs = True  # as TensorFlow: tf.equal(int64, float32) is an error

    def __init__(self, *inputs: Any, name: str | None = None):
        if len(inputs) != self.arity:
            raise TypeError(f"{self.op_type} takes {self.arity} input(s), got {len(inputs)}.")
        super().__init__(inputs, name)

    def infer_shape(self, *shapes):
        return broadcast_shapes(self.op_type, self.display_name, *shapes)

    def infer_dtype(self, *dtypes):
        return np.bool_

    def formula(self, *args):
        return self.function_for()(*args)

    @classmethod
    def print_code(cls, printer, *args):
        return printer.call(cls.numpy_function, *args)

    @classmethod
    def print_latex(cls, printer, *args):
        return cls.latex_form.format(*args)

    def gradient(self, grad, index):
        return None  # a step function: no gradient, as in TensorFlow

    def compute(self, *values):
        return np.asarray(getattr(np, self.numpy_function)(*values))


def _comparison(name: str, numpy_function: str, latex: str, meaning: str, example: str) -> type:
    doc = f"""``x {meaning} y``, element-wise, as booleans (inputs broadcast as in NumPy; no gradient).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.{name}(tf.constant([1, 2, 3]), 2))
        {example}
    """
    return type(name, (_Elementwise,), {"numpy_function": numpy_function, "latex_form": latex, "__doc__": doc,
                                        "__module__": __name__})


equal = _comparison("equal", "equal", "{0} = {1}", "==", "array([False,  True, False])")
not_equal = _comparison("not_equal", "not_equal", r"{0} \neq {1}", "!=", "array([ True, False,  True])")
less = _comparison("less", "less", "{0} < {1}", "<", "array([ True, False, False])")
less_equal = _comparison("less_equal", "less_equal", r"{0} \leq {1}", "<=", "array([ True,  True, False])")
greater = _comparison("greater", "greater", "{0} > {1}", ">", "array([False, False,  True])")
greater_equal = _comparison("greater_equal", "greater_equal", r"{0} \geq {1}", ">=", "array([False,  True,  True])")


class logical_and(_Elementwise):
    """``x and y``, element-wise (nonzero numbers count as true).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> a, b = tf.constant([True, True, False]), tf.constant([True, False, False])
        >>> tf.Session().run([tf.logical_and(a, b), tf.logical_or(a, b), tf.logical_not(a)])
        [array([ True, False, False]), array([ True,  True, False]), array([False, False,  True])]
    """

    numpy_function = "logical_and"
    latex_form = r"{0} \land {1}"


class logical_or(_Elementwise):
    """``x or y``, element-wise (see :class:`logical_and`)."""

    numpy_function = "logical_or"
    latex_form = r"{0} \lor {1}"


class logical_xor(_Elementwise):
    """``x xor y``, element-wise (see :class:`logical_and`)."""

    numpy_function = "logical_xor"
    latex_form = r"{0} \oplus {1}"


class logical_not(_Elementwise):
    """``not x``, element-wise (see :class:`logical_and`)."""

    numpy_function = "logical_not"
    latex_form = r"\lnot {0}"
    arity = 1


class cast(Operation):
    """``x`` converted to ``dtype`` (``tf.float32``, ``numpy.int32``, ``"float"``); floats to integers truncate.

    The gradient passes through a cast from a float to a float (cast back); other casts have none.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.cast(tf.constant([True, False]), tf.float32))
        array([1., 0.], dtype=float32)
        >>> tf.Session().run(tf.cast(tf.constant([1.7, -1.7]), "int32"))
        array([ 1, -1], dtype=int32)
    """

    def __init__(self, x: Any, dtype: Any, name: str | None = None):
        self.target = as_numpy_dtype(dtype, f"cast (node {name or 'cast'!r})")
        super().__init__([x], name)

    def infer_shape(self, shape):
        return shape

    def infer_dtype(self, dtype):
        return self.target.type

    def formula(self, x):
        return self.function_for(dtype=self.target.name)(x)

    @staticmethod
    def print_code(printer, x, dtype):
        return printer.cast(x, dtype)

    @staticmethod
    def print_latex(printer, x, dtype):
        return rf"\operatorname{{{dtype}}}\left({x}\right)"

    def gradient(self, grad, index):
        source = np.dtype(self.input_nodes[0].dtype or np.float64)
        if source.kind != "f" or self.target.kind != "f":
            return None
        return grad if source == self.target else cast(grad, source)

    def compute(self, x):
        return np.asarray(x, dtype=self.target)


def to_float(x: Any, name: str | None = None) -> Node:
    """``cast(x, tf.float32)``, TensorFlow 1's shorthand."""
    return cast(x, np.float32, name=name or "ToFloat")


class argmax(Operation):
    """The index of the largest element along ``axis`` (0 if not given; the first index among ties).

    ``dimension`` is TensorFlow 1's old name of ``axis``; ``output_type`` is ``tf.int64`` (the default) or
    ``tf.int32``. No gradient.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> y = tf.constant([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
        >>> tf.Session().run([tf.argmax(y, 1), tf.argmin(y, axis=1), tf.argmax(y, dimension=0)])
        [array([1, 0]), array([0, 1]), array([1, 0, 1])]
    """

    numpy_function = "argmax"

    def __init__(self, input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,
                 output_type: Any = np.int64):
        if axis is not None and dimension is not None:
            raise ValueError(f"{self.op_type}: cannot specify both 'axis' and 'dimension' (its old name).")
        axis = dimension if axis is None else axis
        axis = 0 if axis is None else axis
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{self.op_type}: axis must be an int, not {axis!r}.")
        self.axis = int(axis)
        self.output_type = as_numpy_dtype(output_type, self.op_type)
        if self.output_type not in (np.dtype(np.int32), np.dtype(np.int64)):
            raise InvalidArgumentError(
                f"{self.op_type}: output_type must be int32 or int64, not {self.output_type.name}."
            )
        super().__init__([input], name)

    def infer_shape(self, shape):
        if shape is None:
            return None
        if not -len(shape) <= self.axis < len(shape):
            raise self.shape_error(f"axis {self.axis} is out of range for an input of shape {format_shape(shape)}.")
        return tuple(d for i, d in enumerate(shape) if i != self.axis % len(shape))

    def infer_dtype(self, dtype):
        return self.output_type.type

    def formula(self, x):
        return self.function_for(axis=self.axis, dtype=self.output_type.name)(x)

    @classmethod
    def print_code(cls, printer, x, axis, dtype):
        return printer.cast(printer.reduce(cls.numpy_function, x, axis), dtype)

    @classmethod
    def print_latex(cls, printer, x, axis, dtype):
        return rf"\operatorname{{{cls.numpy_function}}}_{{{axis}}} {x}"

    def gradient(self, grad, index):
        return None

    def compute(self, x):
        return np.asarray(getattr(np, self.numpy_function)(x, axis=self.axis), dtype=self.output_type)


class argmin(argmax):
    """The index of the smallest element along ``axis`` (see :class:`argmax`).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> int(tf.Session().run(tf.argmin(tf.constant([3.0, 1.0, 2.0]))))
        1
    """

    numpy_function = "argmin"


def arg_max(input: Any, dimension: Any, name: str | None = None, output_type: Any = np.int64) -> Node:
    """TensorFlow 1's older ``tf.arg_max(input, dimension)``: :class:`argmax`."""
    return argmax(input, dimension, name=name, output_type=output_type)


def arg_min(input: Any, dimension: Any, name: str | None = None, output_type: Any = np.int64) -> Node:
    """TensorFlow 1's older ``tf.arg_min(input, dimension)``: :class:`argmin`."""
    return argmin(input, dimension, name=name, output_type=output_type)


class where(Operation):
    """TensorFlow 1's ``tf.where(condition, x, y)``: ``x`` where ``condition`` holds, else ``y``, element-wise.

    ``x`` and ``y`` broadcast as in NumPy. As in TensorFlow 1, a ``condition`` of rank 1 next to ``x`` of higher
    rank picks whole rows (its length is the number of rows). The gradient goes to ``x`` where the condition holds
    and to ``y`` elsewhere; the condition has none. ``where(condition)`` alone (the coordinates of the true
    elements, a shape that depends on the values) is not supported.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> tf.Session().run([tf.where(tf.greater(x, 2.0), x, -x), tf.where([True, False], x, -x)])
        [array([[-1., -2.],
               [ 3.,  4.]], dtype=float32), array([[ 1.,  2.],
               [-3., -4.]], dtype=float32)]
    """

    def __init__(self, condition: Any, x: Any = None, y: Any = None, name: str | None = None,
                 _expand: int | None = None):
        if x is None and y is None:
            raise NotImplementedError(
                "where(condition) alone (the coordinates of the true elements) is not supported: its shape depends on "
                "the values. Give both x and y: where(condition, x, y)."
            )
        if x is None or y is None:
            raise ValueError("where: x and y must both be given, or neither.")
        graph = next((n.graph for n in (condition, x, y) if isinstance(n, Node)), None) or get_default_graph()
        x = as_node(x, graph, dtype=y.dtype if isinstance(y, Node) else None)  # a literal takes the other's dtype
        y = as_node(y, graph, dtype=x.dtype)
        condition = as_node(condition, graph)
        if _expand is None:
            _expand = _row_axes(condition.shape, x.shape, y.shape)
        self.expand = -1 if _expand is None else _expand  # the axes a rank-1 condition gets; -1: decided at run time
        super().__init__([condition, x, y], name)

    def infer_shape(self, condition, x, y):
        expand = _row_axes(condition, x, y) if self.expand == -1 else self.expand
        if not expand:
            return broadcast_shapes(self.op_type, self.display_name, condition, x, y)
        shape = broadcast_shapes(self.op_type, self.display_name, x, y)
        rows = None if condition is None or len(condition) != 1 else condition[0]
        if condition is not None and len(condition) != 1 or shape and None not in (rows, shape[0]) and rows != shape[0]:
            raise self.shape_error(
                f"a condition of shape {format_shape(condition)} picks rows, but x and y have shape "
                f"{format_shape(shape)}."
            )
        return shape

    def infer_dtype(self, condition, x, y):
        if x is not None and y is not None and np.dtype(x) != np.dtype(y):
            raise InvalidArgumentError(
                f"Op where (node {self.display_name!r}): x is {np.dtype(x).name} but y is {np.dtype(y).name}; "
                "convert one with tf.cast."
            )
        return result_dtype(x, y)

    def formula(self, condition, x, y):
        return self.function_for(expand=self.expand)(condition, x, y)

    @staticmethod
    def print_code(printer, condition, x, y, expand):
        if expand == -1:  # the ranks were unknown when the graph was built: TensorFlow 1's rule, at run time
            ndim = lambda a: printer.call("ndim", a)  # noqa: E731
            rank = f"max({ndim(x)}, {ndim(y)})"
            rows = printer.call("reshape", condition, f"(-1,) + (1,) * ({rank} - 1)")
            condition = f"({rows} if {ndim(condition)} == 1 and {rank} > 1 else {condition})"
        elif expand:
            condition = printer.call("reshape", condition, repr((-1,) + (1,) * expand))
        return printer.call("where", condition, x, y)

    def gradient(self, grad, index):
        if index == 0:
            return None
        condition, branch = self.input_nodes[0], self.input_nodes[index]
        picked = (grad, 0.0) if index == 1 else (0.0, grad)
        return sum_to(where(condition, *picked, name="where_grad", _expand=self.expand), branch)

    def compute(self, condition, x, y):
        condition = np.asarray(condition)
        expand = _row_axes(np.shape(condition), np.shape(x), np.shape(y)) if self.expand == -1 else self.expand
        if expand:
            condition = condition.reshape((-1,) + (1,) * expand)
        return np.where(condition, x, y)


def _row_axes(condition: tuple | None, x: tuple | None, y: tuple | None) -> int | None:
    """How many axes a condition of rank 1 gets to pick rows of x and y of higher rank (TensorFlow 1's rule): 0 when
    it is not such a condition, None when unknown ranks cannot tell."""
    if condition is None or x is None or y is None:
        return 0 if condition is not None and len(condition) != 1 else None
    rank = max(len(x), len(y))
    return rank - 1 if len(condition) == 1 and rank > 1 else 0


class reduce_any(Reduction):
    """Whether any element along ``axis`` is true (``reduction_indices``, ``keep_dims`` as in :class:`reduce_sum`).

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> b = tf.constant([[True, False], [False, False]])
        >>> tf.Session().run([tf.reduce_any(b), tf.reduce_any(b, axis=1), tf.reduce_all(b, reduction_indices=0)])
        [np.True_, array([ True, False]), array([False, False])]
    """

    numpy_function = "any"

    def infer_dtype(self, dtype):
        return np.bool_

    def gradient(self, grad, index):
        return None


class reduce_all(reduce_any):
    """Whether every element along ``axis`` is true (see :class:`reduce_any`)."""

    numpy_function = "all"
