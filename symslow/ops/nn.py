"""Neural-network ops: softmax, log-softmax and the cross-entropy built on them.

Both are ops of their own rather than compositions because of numerical stability: they subtract the maximum
before exponentiating, and ``log(softmax(z))`` is built as ``log_softmax(z)``, finite for logits of any size.
"""

from __future__ import annotations

from typing import Any

import sympy

from ..graph import Node, as_node
from ..printing import ArrayMax, ArraySum
from .base import Operation, elementwise_expr, module, operand, result_dtype
from .reduce import reduce_sum


def _written_out(op: Operation, shape: tuple) -> tuple:
    """Softmax in primitives for a known shape: ``(e, s, t)`` with t = x - max x, e = exp t, s = Σ e along the axis.

    Written out, SymPy sees ``exp(log_softmax(x)) = e / s`` in the gradients, and the exponentials are computed
    once. ``(None, None, None)`` when the input is not a plain array (a number, or a rank-0 value).
    """
    x = operand(op.input_nodes[0])
    if not isinstance(x, sympy.Symbol) or not shape:
        return None, None, None
    axis = sympy.Tuple(op.axis % len(shape))
    shifted = x - ArrayMax(x, axis, sympy.true, sympy.Tuple(*shape))
    return sympy.exp(shifted), ArraySum(sympy.exp(shifted), axis, sympy.true, sympy.Tuple(*shape)), shifted


class softmax(Operation):
    """exp(x) / Σ exp(x) along ``axis`` (the last by default), computed without overflow.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> ts.Session().run(ts.softmax(ts.constant([[0.0, 1000.0]])))
        array([[0., 1.]])
    """

    def __init__(self, x: Any, axis: int = -1, name: str | None = None):
        self.axis = int(axis)
        super().__init__([x], name)

    def infer_shape(self, shape):
        if shape is not None and not -len(shape) <= self.axis < max(len(shape), 1):
            raise self.shape_error(f"axis {self.axis} is out of range for shape {shape}.")
        return shape

    def infer_dtype(self, dtype):
        return result_dtype(dtype, floating=True)

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return f"runtime.softmax({module(printer)}, {x}, {axis})"

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\operatorname{{softmax}}\left({x}\right)"

    def formula_for_shapes(self, shape):
        e, total, _ = _written_out(self, shape)
        return self.expr if e is None else e / total

    def gradient(self, grad, index):
        # y ⊙ (g - Σ_axis g ⊙ y): the Jacobian of softmax applied to g
        y = self
        weighted = reduce_sum(grad * y, axis=self.axis, keepdims=True)
        return elementwise_expr(y.symbol * (operand(grad) - weighted.symbol), [y, grad, weighted], "softmax_grad")

    def compute(self, x):
        import numpy as np

        from .. import runtime

        return runtime.softmax(np, np.asarray(x, dtype=float), self.axis)


class log_softmax(Operation):
    """log softmax(x) along ``axis``, as x - max - log Σ exp(x - max): finite for logits of any size.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> ts.Session().run(ts.log(ts.softmax(ts.constant([0.0, 1000.0]))))
        array([-1000.,     0.])
    """

    def __init__(self, x: Any, axis: int = -1, name: str | None = None):
        self.axis = int(axis)
        super().__init__([x], name)

    infer_shape = softmax.infer_shape
    infer_dtype = softmax.infer_dtype

    def formula(self, x):
        return self.function_for(axis=self.axis)(x)

    @staticmethod
    def print_code(printer, x, axis):
        return f"runtime.log_softmax({module(printer)}, {x}, {axis})"

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\log \operatorname{{softmax}}\left({x}\right)"

    def formula_for_shapes(self, shape):
        _, total, shifted = _written_out(self, shape)
        return self.expr if total is None else shifted - sympy.log(total)

    def gradient(self, grad, index):
        # g - softmax(x) Σ_axis g, with softmax(x) = exp(log_softmax(x))
        total = reduce_sum(grad, axis=self.axis, keepdims=True)
        return elementwise_expr(
            operand(grad) - sympy.exp(self.symbol) * total.symbol, [grad, self, total], "log_softmax_grad"
        )

    def compute(self, x):
        import numpy as np

        from .. import runtime

        return runtime.log_softmax(np, np.asarray(x, dtype=float), self.axis)


def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, axis: int = -1, name: str | None = None) -> Node:
    """Cross-entropy between ``labels`` (probabilities) and softmax(``logits``), one value per row.

    ``-Σ labels ⊙ log softmax(logits)`` along ``axis``, computed through the stable ``log_softmax``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> loss = tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
        >>> tf.Session().run(loss).round(4)
        array([0.6931])
    """
    if labels is None or logits is None:
        raise TypeError("softmax_cross_entropy_with_logits takes labels= and logits= (both by name).")
    logits = as_node(logits)
    labels = as_node(labels, logits.graph)
    from .elementwise import negative

    return negative(reduce_sum(labels * log_softmax(logits, axis=axis), axis=axis), name=name or "cross_entropy")
