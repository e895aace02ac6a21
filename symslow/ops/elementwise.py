"""Elementwise ops: each is its scalar formula, nothing else.

Shapes broadcast as in NumPy, derivatives come from ``sympy.diff`` (see :class:`~symslow.ops.elementwise_op.ElementwiseOp`).
Subtraction and division are formulas too: SymPy writes ``x - y`` as ``x + (-1) y``, so they cost no extra rule.

Where ``max`` and ``min`` have a kink (``relu`` at 0, ``maximum`` and ``minimum`` where x == y, the ends of
``clip_by_value``), the derivative is TensorFlow's: see :func:`step`, the one place that states it. These are the
tutorial's ops and the arithmetic of Python's operators; TensorFlow 1's other elementwise functions are in
:mod:`~symslow.ops.elementwise_math`.
"""

from __future__ import annotations

import sympy

from .elementwise_op import ElementwiseOp


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
    """Natural logarithm, element-wise. ``log(softmax(z))`` builds the stable ``log_softmax(z)`` (a rewrite rule of
    :mod:`symslow.ops.nn`)."""

    floating = True

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


def step(x: sympy.Expr, at_zero: int) -> sympy.Expr:
    """The derivative of a kink: 1 where ``x > 0``, 0 where ``x < 0``, and ``at_zero`` where x is 0 (a tie).

    It is ``Heaviside(x, at_zero)``: SymPy's own derivative of ``Max`` is ``Heaviside(x)``, which is 1/2 at a tie,
    where TensorFlow's gradients take a side. symslow takes TensorFlow's, by these rules:

    * ``relu(x)``: ``[x > 0]``, 0 at x = 0 (TensorFlow's ``ReluGrad`` multiplies by ``x > 0``);
    * ``maximum(x, y)``: ``[x >= y]`` to x and ``[x < y]`` to y, a tie goes to x (``_MaximumGrad``'s mask is
      ``x >= y``); ``minimum(x, y)``: ``[x <= y]`` to x and ``[x > y]`` to y (``_MinimumGrad``: ``x <= y``);
    * ``clip_by_value(t, lo, hi)``: 1 to t on ``[lo, hi]``, both ends included, as TensorFlow 1's
      ``maximum(minimum(t, hi), lo)`` gives; ``[t < lo]`` to lo and ``[t > hi]`` to hi;
    * ``elu(x)``: ``exp(min(x, 0))``, 1 at x = 0 (TensorFlow's ``EluGrad``).

    Every backend prints it with the values of ``heaviside(x, at_zero)`` (the interpreter as NumPy does), so they
    agree at ties; at a NaN it is NaN.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, name="x")
        >>> tf.Session().run(tf.gradients(tf.reduce_sum(tf.nn.relu(x)), [x])[0], {x: [-1.0, 0.0, 2.0]})
        array([0., 0., 1.])
        >>> y = tf.placeholder(tf.float64, name="y")
        >>> tf.Session().run(tf.gradients(tf.reduce_sum(tf.maximum(x, y)), [x, y]), {x: [0.0, 1.0], y: [0.0, 2.0]})
        [array([1., 0.]), array([0., 1.])]
    """
    return sympy.Heaviside(x, at_zero)


class relu(ElementwiseOp):
    """Rectified linear unit, element-wise: max(x, 0); its derivative is 0 at x = 0, as TensorFlow's."""

    def formula(x):
        return sympy.Max(x, 0)

    @classmethod
    def derivatives(cls):
        (x,) = cls.arg_symbols()
        return [step(x, 0)]


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
    """max(x, y), element-wise; where x == y the gradient goes to x, as TensorFlow's (see :func:`step`)."""

    def formula(x, y):
        return sympy.Max(x, y)

    @classmethod
    def derivatives(cls):
        x, y = cls.arg_symbols()
        return [step(x - y, 1), step(y - x, 0)]
