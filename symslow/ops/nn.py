"""Neural-network ops: softmax, log-softmax and the cross-entropy built on them.

Both are ops of their own rather than compositions because of numerical stability: they subtract the maximum
before exponentiating, and ``log(softmax(z))`` is built as ``log_softmax(z)``, finite for logits of any size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from sympy.codegen.cfunctions import log1p

from ..errors import InvalidArgumentError, ShapeError, describe
from ..graph import Node, format_shape
from ..leaves import as_node
from ..printing import ArrayMax, ArraySum, Step
from .base import Operation, operand, result_dtype
from .elementwise import add, divide, log, negative, square
from .elementwise_op import ElementwiseOp, elementwise_expr, rewrite_rule
from .movement import reshape
from .reduce import reduce_sum
from .registered import registered_gradient


def _written_out(op: Operation, shape: tuple) -> tuple:
    """Softmax in primitives for a known shape: ``(e, s, t)`` with t = x - max x, e = exp t, s = Σ e along the axis,
    each step as :mod:`symslow.runtime` computes it (the reductions then print as slices on short axes, and the
    compiler computes t and e once). ``(None, None, None)`` when the input is not a plain array (a number, or a
    rank-0 value).
    """
    x = operand(op.input_nodes[0])
    if not isinstance(x, sympy.Symbol) or not shape:
        return None, None, None
    axis = sympy.Tuple(op.axis % len(shape))
    shifted = Step(x - ArrayMax(x, axis, sympy.true, sympy.Tuple(*shape)))
    e = sympy.exp(shifted)
    return e, ArraySum(e, axis, sympy.true, sympy.Tuple(*shape), sympy.true), shifted  # (e holds no -0)


class softmax(Operation):
    """exp(x) / Σ exp(x) along ``axis`` (the last by default), computed without overflow.

    Example:
        >>> import symslow as ts
        >>> _ = ts.Graph().as_default()
        >>> ts.Session().run(ts.softmax(ts.constant([[0.0, 1000.0]])))
        array([[0., 1.]], dtype=float32)
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
        return printer.kernel("softmax", [x, repr(axis)])

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\operatorname{{softmax}}\left({x}\right)"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"softmax({args[0]})"

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
        array([-1000.,     0.], dtype=float32)
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
        return printer.kernel("log_softmax", [x, repr(axis)])

    @staticmethod
    def print_latex(printer, x, axis):
        return rf"\log \operatorname{{softmax}}\left({x}\right)"

    @staticmethod
    def diagram_text(printer, args, **attrs):
        return f"log softmax({args[0]})"

    def formula_for_shapes(self, shape):
        _, total, shifted = _written_out(self, shape)
        return self.expr if total is None else shifted - sympy.log(total)

    def gradient(self, grad, index):
        # g - softmax(x) Σ_axis g: the softmax of the same logits, rather than exp(log_softmax(x)), so that a training
        # step that does not fetch the loss takes no logarithm
        total = reduce_sum(grad, axis=self.axis, keepdims=True)
        p = softmax(self.input_nodes[0], axis=self.axis)
        return elementwise_expr(operand(grad) - p.symbol * total.symbol, [grad, p, total], "log_softmax_grad")

    def compute(self, x):
        import numpy as np

        from .. import runtime

        return runtime.log_softmax(np, np.asarray(x, dtype=float), self.axis)


@rewrite_rule(log)
def log_of_softmax(x: Any, name: str | None = None) -> Node | None:
    """``log(softmax(z))`` underflows to -inf for large logits: build the same value, computed stably, as
    ``log_softmax(z)`` (not when a gradient is registered for log or softmax: the registered functions are the
    gradient then)."""
    if isinstance(x, softmax) and not (registered_gradient("log") or registered_gradient("softmax")):
        return log_softmax(x.input_nodes[0], axis=x.axis, name=name or "log")
    return None


def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, axis: int = -1, name: str | None = None,
                                      dim: int | None = None) -> Node:
    """Cross-entropy between ``labels`` (probabilities) and softmax(``logits``), one value per row.

    ``-Σ labels ⊙ log softmax(logits)`` along ``axis`` (TensorFlow 1's old name: ``dim``), computed through the
    stable ``log_softmax``.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> loss = tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
        >>> tf.Session().run(loss).round(4)
        array([0.6931], dtype=float32)
    """
    if labels is None or logits is None:
        raise TypeError("softmax_cross_entropy_with_logits takes labels= and logits= (both by name).")
    if dim is not None:
        axis = dim
    logits = as_node(logits)
    labels = as_node(labels, logits.graph, dtype=logits.dtype)

    return negative(reduce_sum(labels * log_softmax(logits, axis=axis), axis=axis), name=name or "cross_entropy")


def softmax_cross_entropy_with_logits_v2(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                         axis: int | None = None, name: str | None = None,
                                         dim: int | None = None) -> Node:
    """TensorFlow 1's ``_v2`` of :func:`softmax_cross_entropy_with_logits` (the gradient reaches the labels too, as
    it does in both here).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=[[0.5, 0.5]], logits=[[1000.0, -1000.0]])
        >>> tf.Session().run(loss)
        array([1000.], dtype=float32)
    """
    if _sentinel is not None:
        raise ValueError("softmax_cross_entropy_with_logits_v2: pass labels= and logits= by name.")
    axis = -1 if axis is None and dim is None else (dim if axis is None else axis)
    return softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=axis, name=name)


class one_hot_like(Operation):
    """Integer ``labels`` as one-hot rows as long as the last axis of ``logits`` (the labels of a sparse loss).

    Only the length of ``logits``' last axis is read; it becomes a number once the compiler knows the shapes.
    """

    def __init__(self, labels: Node, logits: Node, dtype: Any, name: str | None = None):
        self.target = np.dtype(dtype).name
        super().__init__([labels, logits], name)

    def infer_shape(self, labels, logits):
        if labels is not None and logits is not None and (
            len(labels) + 1 != len(logits) or any(None not in (a, b) and a != b for a, b in zip(labels, logits))
        ):
            raise self.shape_error(
                f"labels of shape {format_shape(labels)} do not fit logits of shape {format_shape(logits)}: the labels "
                "need the logits' shape without its last axis."
            )
        return logits

    def infer_dtype(self, labels, logits):
        return np.dtype(self.target).type

    def formula(self, labels, logits):
        return self.function_for(depth=None, dtype=self.target)(labels, logits)

    def formula_for_shapes(self, labels_shape, logits_shape):
        return self.function_for(depth=int(logits_shape[-1]), dtype=self.target)(operand(self.input_nodes[0]))

    @staticmethod
    def print_code(printer, labels, logits=None, depth=None, dtype="float64"):
        length = str(depth) if depth is not None else printer.shape(logits) + "[-1]"
        hot = printer.call("equal", printer.expand_dims(labels, -1), printer.call("arange", length))
        return printer.cast(hot, dtype)

    @staticmethod
    def print_latex(printer, labels, logits=None, depth=None, dtype=None):
        return rf"\operatorname{{onehot}}\left({labels}\right)"

    def gradient(self, grad, index):
        return None  # labels are indices

    def compute(self, labels, logits):
        labels, depth = np.asarray(labels), np.shape(logits)[-1]
        bad = labels[(labels < 0) | (labels >= depth)]
        if bad.size:
            raise InvalidArgumentError(
                f"Op {describe(self)}: received a label value of {bad.flat[0]} which is outside the valid range of "
                f"[0, {depth})."
            )
        return np.asarray(labels[..., None] == np.arange(depth), dtype=self.target)


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> Node:
    """Cross-entropy of softmax(``logits``) against integer class ``labels`` (one index per row), one value per row.

    ``-log softmax(logits)[label]``, through the stable ``log_softmax``: finite for logits of any size. A label out
    of range is an error in the interpreter; compiled code gives that row a loss of 0.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 1], logits=[[0.0, 0.0], [1000.0, 998.0]])
        >>> tf.Session().run(loss).round(4)
        array([0.6931, 2.1269], dtype=float32)
    """
    if _sentinel is not None or labels is None or logits is None:
        raise TypeError("sparse_softmax_cross_entropy_with_logits takes labels= and logits= (both by name).")
    logits = as_node(logits)
    labels = as_node(labels, logits.graph)
    if labels.dtype is not None and np.dtype(labels.dtype).kind not in "iu":
        raise InvalidArgumentError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be integer class indices (int32 or int64), "
            f"not {np.dtype(labels.dtype).name} ({labels.name!r}); use softmax_cross_entropy_with_logits for "
            "probabilities."
        )

    log_p = log_softmax(logits)
    hot = one_hot_like(labels, logits, log_p.dtype, name="one_hot")
    return negative(reduce_sum(hot * log_p, axis=-1), name=name or "sparse_cross_entropy")


class sigmoid_cross_entropy_with_logits(ElementwiseOp):
    """Cross-entropy of σ(``logits``) against ``labels`` in [0, 1], element-wise (independent binary classes).

    ``max(x, 0) - x z + log(1 + exp(-|x|))`` for logits x and labels z: finite for logits of any size, and so is
    its gradient, σ(x) - z (σ written as ``exp(min(x, 0)) / (1 + exp(-|x|))``, which never overflows).

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[0.0, -1000.0])
        >>> tf.Session().run(loss).round(4)
        array([0.6931, 0.    ], dtype=float32)
    """

    def __init__(self, _sentinel: Any = None, labels: Any = None, logits: Any = None, name: str | None = None):
        if _sentinel is not None or labels is None or logits is None:
            raise TypeError("sigmoid_cross_entropy_with_logits takes labels= and logits= (both by name).")
        super().__init__(logits, labels, name=name)
        x, z = (n.shape for n in self.input_nodes)
        if x is not None and z is not None and (len(x) != len(z) or any(
                None not in (a, b) and a != b for a, b in zip(x, z))):
            raise self.shape_error(f"logits and labels must have the same shape, not {format_shape(x)} and "
                                   f"{format_shape(z)}.")

    def formula(x, z):
        return sympy.Max(x, 0) - x * z + log1p(sympy.exp(-sympy.Abs(x)))

    @classmethod
    def derivatives(cls):
        x, z = cls.arg_symbols()
        return [sympy.exp(sympy.Min(x, 0)) / (1 + sympy.exp(-sympy.Abs(x))) - z, -x]


def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None) -> Node:
    """``value + bias``, the bias a vector along the channels: the last axis (``"NHWC"``, the default) or axis 1
    (``"NCHW"``). Its gradient sums over the other axes.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.nn.bias_add(tf.constant([[1.0, 2.0], [3.0, 4.0]]), [10.0, 20.0]))
        array([[11., 22.],
               [13., 24.]], dtype=float32)
    """

    value = as_node(value)
    bias = as_node(bias, value.graph, dtype=value.dtype)
    if data_format not in (None, "NHWC", "NCHW", "N..C", "NC.."):
        raise ValueError(f"bias_add: data_format must be 'NHWC' or 'NCHW', not {data_format!r}.")
    channels_first = data_format in ("NCHW", "NC..")
    shape, bias_shape = value.shape, bias.shape
    if bias_shape is not None and len(bias_shape) != 1:
        raise ShapeError(
            f"bias_add: the bias must be a vector, not of shape {format_shape(bias_shape)} ({bias.name!r})."
        )
    if shape is not None and len(shape) < 2:
        raise ShapeError(
            f"bias_add: the value must have rank 2 or more, not shape {format_shape(shape)} ({value.name!r})."
        )
    if shape is not None and bias_shape is not None:
        channels = shape[1] if channels_first else shape[-1]
        if None not in (channels, bias_shape[0]) and channels != bias_shape[0]:
            raise ShapeError(f"bias_add: a bias of {bias_shape[0]} elements does not fit value of shape "
                             f"{format_shape(shape)} (channels {channels}).")
    if channels_first:
        if shape is None:
            raise ShapeError("bias_add: data_format='NCHW' needs the value's rank.")
        bias = reshape(bias, (-1,) + (1,) * (len(shape) - 2))
    return add(value, bias, name=name or "BiasAdd")


def l2_loss(t: Any, name: str | None = None) -> Node:
    """Half the sum of the squares: ``Σ t² / 2`` (weight decay), a scalar.

    Example:
        >>> import symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> tf.Session().run(tf.nn.l2_loss(tf.constant([1.0, 2.0, 3.0])))
        np.float32(7.0)
    """

    return divide(reduce_sum(square(t)), 2.0, name=name or "L2Loss")
