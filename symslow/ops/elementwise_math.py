"""TensorFlow 1's other everyday elementwise functions (``tf.abs``, ``tf.sign``, ``tf.floor``, ``tf.sin``,
``tf.clip_by_value``, ``tf.nn.elu``, ...), each its scalar formula as in :mod:`~symslow.ops.elementwise`, with the
derivative TensorFlow gives at a kink (:func:`~symslow.ops.elementwise.step`) or, where there is none to give, zero.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1 as _expm1, log1p as _log1p

from ..errors import InvalidArgumentError
from ..leaves import Constant
from .elementwise import step
from .elementwise_op import ElementwiseOp
from .reduce import fill_like


def zero_gradient(op: ElementwiseOp, grad, index: int):
    """The gradient of a function that is flat wherever it has a derivative (``sign``, ``floor``, ``ceil``): zeros
    of the input's shape, where ``sympy.diff`` would give Dirac deltas at the jumps.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.constant([-1.5, 0.5, 2.0])
        >>> tf.Session().run(tf.gradients(tf.reduce_sum(tf.floor(x)), [x])[0])
        array([0., 0., 0.], dtype=float32)
    """
    return fill_like(op.input_nodes[0], 0.0, name="zeros_like")


class absolute(ElementwiseOp):
    """|x|, element-wise (``tf.abs``; named ``absolute`` here so as not to hide Python's ``abs``).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.abs(tf.constant([-1.5, 2.0])))
        array([1.5, 2. ], dtype=float32)
    """

    op_type = "abs"

    def formula(x):
        return sympy.Abs(x)


class sign(ElementwiseOp):
    """-1, 0 or 1 by the sign of x, element-wise; its gradient is zero, as in TensorFlow.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.sign(tf.constant([-3.0, 0.0, 2.0])))
        array([-1.,  0.,  1.], dtype=float32)
    """

    def formula(x):
        return sympy.sign(x)

    @classmethod
    def derivatives(cls):
        return [sympy.S.Zero]  # SymPy's 2 δ(x) is zero wherever an array can hold a value

    gradient = zero_gradient


class floor(ElementwiseOp):
    """The largest integer not above x, element-wise; its gradient is zero (TensorFlow gives none).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run([tf.floor(tf.constant([-1.5, 0.5, 2.0])), tf.ceil(tf.constant([-1.5, 0.5, 2.0]))])
        [array([-2.,  0.,  2.], dtype=float32), array([-1.,  1.,  2.], dtype=float32)]
    """

    floating = True

    def formula(x):
        return sympy.floor(x)

    @classmethod
    def derivatives(cls):
        return [sympy.S.Zero]  # a step function: zero wherever it has a derivative

    gradient = zero_gradient


class ceil(ElementwiseOp):
    """The smallest integer not below x, element-wise; its gradient is zero, as :class:`floor`'s."""

    floating = True

    def formula(x):
        return sympy.ceiling(x)

    @classmethod
    def derivatives(cls):
        return [sympy.S.Zero]

    gradient = zero_gradient


class sin(ElementwiseOp):
    """sin x, element-wise.

    Example:
        >>> import numpy as np, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, name="x")
        >>> np.round(tf.Session().run([tf.sin(x), tf.cos(x)], {x: [0.0, np.pi / 2]}), 12)
        array([[0., 1.],
               [1., 0.]])
    """

    floating = True

    def formula(x):
        return sympy.sin(x)


class cos(ElementwiseOp):
    """cos x, element-wise."""

    floating = True

    def formula(x):
        return sympy.cos(x)


class log1p(ElementwiseOp):
    """log(1 + x), element-wise, accurate for small x.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> x = tf.placeholder(tf.float64, name="x")
        >>> float(tf.Session().run(tf.log1p(x), {x: 1e-10}))
        9.999999999500001e-11
    """

    floating = True

    def formula(x):
        return _log1p(x)


class minimum(ElementwiseOp):
    """min(x, y), element-wise.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.minimum(tf.constant([1.0, 5.0]), 3.0))
        array([1., 3.], dtype=float32)
    """

    def formula(x, y):
        return sympy.Min(x, y)

    @classmethod
    def derivatives(cls):
        x, y = cls.arg_symbols()  # where x == y the gradient goes to x, as TensorFlow's (see step)
        return [step(y - x, 1), step(x - y, 0)]


class reciprocal(ElementwiseOp):
    """1 / x, element-wise.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.reciprocal(tf.constant([2.0, 4.0])))
        array([0.5 , 0.25], dtype=float32)
    """

    floating = True

    def formula(x):
        return 1 / x


class rsqrt(ElementwiseOp):
    """1 / √x, element-wise.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.rsqrt(tf.constant([4.0, 16.0])))
        array([0.5 , 0.25], dtype=float32)
    """

    floating = True
    derivative_through_output = True

    def formula(x):
        return 1 / sympy.sqrt(x)


class clip_by_value(ElementwiseOp):
    """``t`` clipped to ``[clip_value_min, clip_value_max]``, element-wise; the gradient flows where ``t`` is inside.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.clip_by_value(tf.constant([-2.0, 0.5, 3.0]), -1.0, 1.0))
        array([-1. ,  0.5,  1. ], dtype=float32)
    """

    def __init__(self, t, clip_value_min, clip_value_max, name=None):
        low, high = (v.value if isinstance(v, Constant) else v for v in (clip_value_min, clip_value_max))
        try:
            bad = bool(np.any(np.asarray(low) > np.asarray(high)))
        except (TypeError, ValueError):  # nodes computed at run time: not checked here
            bad = False
        if bad:
            raise InvalidArgumentError(
                f"clip_by_value (node {name or 'clip_by_value'!r}): clip_value_min {low} is greater than "
                f"clip_value_max {high}."
            )
        super().__init__(t, clip_value_min, clip_value_max, name=name)

    def formula(t, clip_value_min, clip_value_max):
        return sympy.Min(sympy.Max(t, clip_value_min), clip_value_max)

    @classmethod
    def derivatives(cls):
        # TensorFlow 1's maximum(minimum(t, high), low): t keeps the gradient at both ends (see step)
        t, low, high = cls.arg_symbols()
        return [step(t - low, 1) * step(high - t, 1), step(low - t, 0), step(t - high, 0)]


class elu(ElementwiseOp):
    """Exponential linear unit, element-wise: x for x > 0, eˣ - 1 otherwise (``tf.nn.elu``).

    Written as ``max(x, 0) + exp(min(x, 0)) - 1``, so that no branch overflows for large x.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.nn.elu(tf.constant([-1000.0, 0.0, 2.0])))
        array([-1.,  0.,  2.], dtype=float32)
    """

    floating = True

    def formula(x):
        return sympy.Max(x, 0) + sympy.exp(sympy.Min(x, 0)) - 1

    @classmethod
    def derivatives(cls):
        (x,) = cls.arg_symbols()
        return [sympy.exp(sympy.Min(x, 0))]  # 1 for x >= 0, e^x below: TensorFlow's EluGrad (see step)


class softplus(ElementwiseOp):
    """log(1 + eˣ), element-wise (``tf.nn.softplus``), as ``max(x, 0) + log1p(exp(-|x|))``: finite for any x.

    Its derivative is σ(x), written through the output y as ``-expm1(-y)`` (no overflow at either end).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.nn.softplus(tf.constant([-1000.0, 0.0, 1000.0], dtype=tf.float64)))
        array([0.00000000e+00, 6.93147181e-01, 1.00000000e+03])
    """

    floating = True
    derivative_through_output = True

    def formula(x):
        return sympy.Max(x, 0) + _log1p(sympy.exp(-sympy.Abs(x)))

    @classmethod
    def derivatives(cls):
        return [-_expm1(-cls.output_symbol())]  # σ(x) = 1 - e^(-softplus(x))
