"""Elementwise ops: each is its scalar formula, nothing else.

Shapes broadcast as in NumPy, derivatives come from ``sympy.diff`` (see :class:`~symslow.ops.base.ElementwiseOp`).
Subtraction and division are formulas too: SymPy writes ``x - y`` as ``x + (-1) y``, so they cost no extra rule.
"""

from __future__ import annotations

import sympy

from .base import ElementwiseOp


class add(ElementwiseOp):
    """x + y, element-wise."""

    def formula(x, y):
        return x + y


class subtract(ElementwiseOp):
    """x - y, element-wise."""

    def formula(x, y):
        return x - y


class multiply(ElementwiseOp):
    """x · y, element-wise (the Hadamard product)."""

    def formula(x, y):
        return x * y


class divide(ElementwiseOp):
    """x / y, element-wise."""

    floating = True

    def formula(x, y):
        return x / y


class negative(ElementwiseOp):
    """-x, element-wise."""

    def formula(x):
        return -x


class identity(ElementwiseOp):
    """x itself (a named copy of a node)."""

    def formula(x):
        return x


class log(ElementwiseOp):
    """Natural logarithm, element-wise. ``log(softmax(z))`` builds the stable ``log_softmax(z)``."""

    floating = True

    def __new__(cls, x, name=None):
        from .nn import log_softmax, softmax

        if cls is log and isinstance(x, softmax):
            # log of a softmax underflows to -inf for large logits; the same value, computed stably
            return log_softmax(x.input_nodes[0], axis=x.axis, name=name or "log")
        return super().__new__(cls)

    def formula(x):
        return sympy.log(x)


class exp(ElementwiseOp):
    """e^x, element-wise."""

    floating = True
    derivative_through_output = True

    def formula(x):
        return sympy.exp(x)


class sigmoid(ElementwiseOp):
    """Logistic function, element-wise: σ(x) = 1 / (1 + e^(-x)). Its derivative is written as σ(x)(1 - σ(x))."""

    floating = True
    derivative_through_output = True

    def formula(x):
        return 1 / (1 + sympy.exp(-x))


class tanh(ElementwiseOp):
    """Hyperbolic tangent, element-wise; its derivative is written as 1 - tanh(x)²."""

    floating = True
    derivative_through_output = True

    def formula(x):
        return sympy.tanh(x)


class relu(ElementwiseOp):
    """Rectified linear unit, element-wise: max(x, 0)."""

    def formula(x):
        return sympy.Max(x, 0)


class square(ElementwiseOp):
    """x², element-wise."""

    def formula(x):
        return x**2


class sqrt(ElementwiseOp):
    """√x, element-wise; its derivative is written as 1 / (2 √x) through the output."""

    floating = True
    derivative_through_output = True

    def formula(x):
        return sympy.sqrt(x)


class pow(ElementwiseOp):
    """x^y, element-wise."""

    floating = True

    def formula(x, y):
        return x**y


class maximum(ElementwiseOp):
    """max(x, y), element-wise."""

    def formula(x, y):
        return sympy.Max(x, y)
