"""TensorFlow 1's reductions besides the sum: reduce_mean, reduce_max, reduce_min, reduce_prod (the sum is in
reduce.py).

The mean is a sum divided by the number of elements summed.

Their gradients are made of ordinary nodes: the maximum's goes to the elements equal to it (split evenly between
ties, as TensorFlow does), the product's is the product of the other elements, written so that zeros do no harm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Node
from ..leaves import as_node
from .compare import cast, equal, where
from .elementwise import divide
from .elementwise_op import elementwise_expr
from .reduce import Reduction, _latex_reduction, broadcast_like, count, reduce_sum


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
                reduction_indices: Any = None, keep_dims: Any = None) -> Node:
    """Mean over ``axis``: a sum divided by the number of elements summed (made of primitives).

    Takes TensorFlow 1's old names ``reduction_indices`` and ``keep_dims`` too. A floating input keeps its dtype
    (the mean of float32 values is float32); integers give a float64 mean.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> x = ts.placeholder(name="x")
        >>> ts.Session().run(ts.reduce_mean(x, axis=0), {x: [[1, 2], [3, 6]]})
        array([2., 4.])
        >>> ts.Session().run(ts.reduce_mean(x, reduction_indices=1, keep_dims=True), {x: [[1, 2], [3, 6]]})
        array([[1.5],
               [4.5]])
    """
    x = as_node(input_tensor)
    total = reduce_sum(x, axis=axis, keepdims=keepdims, reduction_indices=reduction_indices, keep_dims=keep_dims)
    axes = total.axis
    sizes = x.shape if axes is None or x.shape is None else [x.shape[a] for a in axes]
    if sizes is not None and None not in sizes and all(a >= 0 for a in axes or ()):
        n = 1
        for size in sizes:
            n *= size
        floating = x.dtype is not None and np.dtype(x.dtype).kind == "f"
        divisor = as_node(np.asarray(n, dtype=x.dtype if floating else np.float64), x.graph)
        return divide(total, divisor, name=name or "reduce_mean")
    return divide(total, count(x, axes), name=name or "reduce_mean")


class reduce_max(Reduction):
    """Maximum over ``axis``; the gradient goes to the elements equal to the maximum, split evenly between ties.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, name="x")
        >>> (dx,) = tf.gradients(tf.reduce_max(x, axis=1), [x])
        >>> tf.Session().run([tf.reduce_max(x, axis=1), dx], {x: [[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]})
        [array([3., 2.]), array([[0. , 0.5, 0.5],
               [1. , 0. , 0. ]])]
    """

    numpy_function = "max"
    latex_symbol = r"\max"

    @classmethod
    def print_latex(cls, printer, x, axis, keepdims):
        return _latex_reduction(cls.latex_symbol, x, axis)

    def gradient(self, grad, index):
        x = self.input_nodes[0]
        expand = None if self.keepdims else self.axis
        hits = cast(equal(x, broadcast_like(self, x, axis=expand)), _float_dtype(x))
        ties = reduce_sum(hits, axis=self.axis, keepdims=True)
        g = broadcast_like(grad, x, axis=expand)
        return elementwise_expr(hits.symbol * g.symbol / ties.symbol, [hits, g, ties], f"{self.op_type}_grad")


class reduce_min(reduce_max):
    """Minimum over ``axis``; the gradient goes to the elements equal to the minimum, split evenly between ties.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.reduce_min(tf.constant([[1.0, 3.0], [2.0, 0.0]]), reduction_indices=0))
        array([1., 0.], dtype=float32)
    """

    numpy_function = "min"
    latex_symbol = r"\min"


class reduce_prod(Reduction):
    """Product over ``axis``; its gradient is the product of the other elements, also where some are zero.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, name="x")
        >>> (dx,) = tf.gradients(tf.reduce_prod(x), [x])
        >>> tf.Session().run([tf.reduce_prod(x), dx], {x: [2.0, 3.0, 0.0]})
        [np.float64(0.0), array([0., 0., 6.])]
    """

    numpy_function = "prod"

    @staticmethod
    def print_latex(printer, x, axis, keepdims):
        return _latex_reduction(r"\prod", x, axis)

    def gradient(self, grad, index):
        # Π of the others, written so that its own derivatives are right too (hessians), where elements are zero:
        # with p the product of the nonzero elements, no zero gives p / x_i; one zero, at z, gives p at z and
        # x_z p / x_i elsewhere (x_z is 0, its derivative is not); two zeros give each of them the other's x times
        # p; more give none.
        x = self.input_nodes[0]
        dtype = _float_dtype(x)
        is_zero = equal(x, 0.0)
        zero = cast(is_zero, dtype)
        nonzero = where(is_zero, 1.0, x)
        product = reduce_prod(nonzero, axis=self.axis, keepdims=True)
        zeros = reduce_sum(zero, axis=self.axis, keepdims=True)
        zero_values = reduce_sum(where(is_zero, x, 0.0), axis=self.axis, keepdims=True)  # 0, of derivative 1 at a zero
        one_zero = where(is_zero, product, zero_values * product / nonzero)
        two_zeros = where(is_zero, (zero_values - x) * product, 0.0)
        others = where(equal(zeros, 0.0), product / nonzero,
                       where(equal(zeros, 1.0), one_zero, where(equal(zeros, 2.0), two_zeros, 0.0)))
        return broadcast_like(grad, x, axis=None if self.keepdims else self.axis) * others


def _float_dtype(x: Node):
    """The floating dtype a gradient through ``x`` computes in: ``x``'s own when it is floating, else float64."""
    return x.dtype if x.dtype is not None and np.dtype(x.dtype).kind == "f" else np.float64
